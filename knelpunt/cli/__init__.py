"""The ``knelpunt`` command: ingest, sources, rejects, export, purge, mapping
(:mod:`.record`); map, variants, activities, discover, conformance, handovers
(:mod:`.analyse`); blockers (:mod:`.blockers`); criteria, compare
(:mod:`.criteria`); profile check
(:mod:`.profiles`); simulate, scenarios, demo
(:mod:`.simulation`); capture serve, open, close (:mod:`.capture`); report
(:mod:`.report`); users add, list, set-role, passwd, remove, audit (:mod:`.users`).

Exit codes: 0 success; 2 wrong usage; 3 the input cannot be recorded or used
(bad file, bad rows, unknown format, a profile or model that cannot be read);
4 the store refused or failed; 1 anything else.
"""

from __future__ import annotations

import sys

from knelpunt.cli._app import app, err

# Importing the command modules registers their commands, in the order of 'knelpunt --help'.
# isort: off
from knelpunt.cli import record
from knelpunt.cli import analyse
from knelpunt.cli import blockers
from knelpunt.cli import criteria
from knelpunt.cli import profiles
from knelpunt.cli import simulation
from knelpunt.cli import capture
from knelpunt.cli import report
from knelpunt.cli import users
# isort: on

__all__ = ["app", "main"]

_COMMANDS = (record, analyse, blockers, criteria, profiles, simulation, capture, report, users)


def main() -> None:
    """Entry point of the ``knelpunt`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; nothing was half-written (each recording is one transaction)")
        sys.exit(130)
