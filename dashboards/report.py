"""The HTML report of the current choice, served as a download (``/rapport.html``),
and the plotly.js the pages draw with.

The shell's report link carries the language, sources and profile the visitor
chose; the report itself is :func:`knelpunt.report` on the workspace's results
(found once per store state, as the pages find them), so it shows what the pages
show. A failure answers with a readable page and a reference, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import uuid
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request, send_file

from dashboards.components import log
from dashboards.i18n import language, t
from knelpunt.errors import KnelpuntError
from knelpunt.profile import SHIPPED_PROFILES
from knelpunt.reports.html import PLOTLY_JS

PATH = "/rapport.html"
# plotly.js for the pages' figures (see dashboards.app), named by its version so that
# browsers may keep it.
PLOTLY_ROUTE = "/_knelpunt/plotly-cartesian-4.1.1.min.js"


def report_href(lang: str, sources: list[int] | None, profile: str) -> str:
    """The link to the report of this choice."""
    query = {"lang": lang, "profile": profile}
    if sources:
        query["sources"] = ",".join(str(s) for s in sources)
    return f"{PATH}?{urlencode(query)}"


def report_blueprint() -> Blueprint:
    """The route that writes the report (the workspace is the app's)."""
    routes = Blueprint("knelpunt_report", __name__)

    @routes.get(PATH)
    def _report() -> Response:
        lang = language(request.args.get("lang"))
        try:
            workspace = current_app.config["KNELPUNT_WORKSPACE"]
            sources = _sources(request.args.get("sources", ""))
            known = {s.source_id for s in workspace.sources()}
            if sources is not None and not set(sources) <= known:
                raise KnelpuntError(
                    t(lang, "report.unknown_sources", sources=", ".join(map(str, sources)))
                )
            profile = request.args.get("profile") or None
            if profile is not None and profile not in {*SHIPPED_PROFILES, workspace.profile}:
                raise KnelpuntError(f"No profile {profile!r}; choose one in the page.")
            written = workspace.result("report", sources, profile, lang=lang)
        except Exception as error:  # any failure: a readable page, the details logged
            return _failure(lang, error)
        day = dt.datetime.now(dt.UTC).date().isoformat()
        return Response(
            written,
            mimetype="text/html",
            headers={"Content-Disposition": f'attachment; filename="knelpunt-{day}.html"'},
        )

    @routes.get(PLOTLY_ROUTE)
    def _plotly() -> Response:
        return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=365 * 86_400)

    return routes


def _sources(text: str) -> list[int] | None:
    try:
        return sorted({int(s) for s in text.split(",") if s.strip()}) or None
    except ValueError:
        raise KnelpuntError(
            f"{text!r} are not source numbers; choose sources in the page."
        ) from None


def _failure(lang: str, error: Exception) -> Response:
    ref = uuid.uuid4().hex[:8]
    if isinstance(error, KnelpuntError):
        log.warning("report %s: %s", ref, error)
        message, status = str(error), 400
    else:
        log.exception("report %s: unexpected failure", ref, exc_info=error)
        message, status = t(lang, "error.unexpected"), 500
    page: Any = (
        f'<!DOCTYPE html><html lang="{lang}"><meta charset="utf-8">'
        f"<title>{escape(t(lang, 'error.title'))}</title>"
        f"<h1>{escape(t(lang, 'error.title'))}</h1><p>{escape(message)}</p>"
        f"<p>{escape(t(lang, 'error.reference', ref=ref))}</p></html>"
    )
    return Response(page, status=status, mimetype="text/html")
