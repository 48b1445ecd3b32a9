"""knelpunt's dashboard for policy advisors and consultants (Dash).

``create_app(store=...)`` builds the app; ``knelpunt dashboard`` serves it, and
``dashboards.wsgi:server`` is the WSGI entry for production servers.
"""

from dashboards.app import create_app

__all__ = ["create_app"]
