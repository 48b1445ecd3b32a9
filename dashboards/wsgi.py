"""The WSGI entry for a production server, on the store in ``KNELPUNT_STORE``::

    KNELPUNT_STORE=postgresql://user@host/knelpunt \\
        gunicorn --workers 4 --bind 0.0.0.0:8050 dashboards.wsgi:server
"""

from __future__ import annotations

import os

from dashboards.app import create_app
from knelpunt.events.store import DEFAULT_STORE

app = create_app(
    os.environ.get("KNELPUNT_STORE", DEFAULT_STORE),
    profile=os.environ.get("KNELPUNT_PROFILE", "sociaal-domein"),
)
server = app.server
