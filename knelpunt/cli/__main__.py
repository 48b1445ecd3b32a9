"""``python -m knelpunt.cli``: the same as the ``knelpunt`` command."""

from knelpunt.cli import main

main()
