"""The WSGI entry for a production server, on the store in ``KNELPUNT_STORE``, always
in auth mode (every visitor logs in)::

    KNELPUNT_STORE=postgresql://user@host/knelpunt \\
    KNELPUNT_SECRET_KEY=$(cat /etc/knelpunt/secret) \\
        gunicorn --workers 4 --bind 0.0.0.0:8050 dashboards.wsgi:server

``KNELPUNT_SECRET_KEY`` (required) signs the session cookies: every worker needs the
same one, or a visitor's session would work on one worker only. Make one with
``python -c "import secrets; print(secrets.token_hex(32))"``. Behind a TLS proxy
(the way to serve it), ``KNELPUNT_PROXIES=1`` believes the proxy's X-Forwarded-*
headers (the client's address in the audit log, HTTPS for HSTS); cookies carry
Secure unless ``KNELPUNT_COOKIE_SECURE=0`` (a trusted network without TLS only).

The pages' results are computed in the background at start and whenever the store
moves on (see ``Workspace.watch``), by one worker at a time, and kept on the disk the
workers share (``KNELPUNT_CACHE``, else the user's cache folder).
"""

from __future__ import annotations

import os

from dashboards.app import create_app
from knelpunt.errors import AccessError
from knelpunt.events.store import DEFAULT_STORE

_KEY = os.environ.get("KNELPUNT_SECRET_KEY", "")
if len(_KEY) < 32:
    raise AccessError(
        "Set KNELPUNT_SECRET_KEY to a secret of at least 32 characters, the same for every "
        'worker (python -c "import secrets; print(secrets.token_hex(32))"); it signs the '
        "dashboard's session cookies."
    )

app = create_app(
    os.environ.get("KNELPUNT_STORE", DEFAULT_STORE),
    profile=os.environ.get("KNELPUNT_PROFILE", "sociaal-domein"),
    auth=True,
    secret_key=_KEY,
    secure_cookies=os.environ.get("KNELPUNT_COOKIE_SECURE", "1") != "0",
    proxies=int(os.environ.get("KNELPUNT_PROXIES", "0")),
)
server = app.server
# Each worker process looks at the store and warms up when it moves on; the results
# are kept on the disk the workers share, and one worker warms at a time.
_workspace = server.config["KNELPUNT_WORKSPACE"]
_workspace.prime()
_workspace.warm()
_workspace.watch()
