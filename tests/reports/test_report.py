"""The HTML report: every section, both languages, self-contained, and the map drawn."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.errors import AnalysisError
from knelpunt.reports import figures
from knelpunt.reports.figures import map_svg
from knelpunt.reports.texts import t
from tests.conftest import shared_log

runner = CliRunner()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two simulated quarters of a social team (the second with a waiting list)."""
    path = str(tmp_path_factory.mktemp("report") / "knelpunt.db")
    with kp.open_store(path) as store:
        kp.simulate_scenario(store, "baseline", seed=3, overrides=["days=90"])
        kp.simulate_scenario(store, "waiting-list", seed=3, overrides=["days=90"])
    return path


def _self_contained(html: str) -> None:
    """Nothing is loaded from elsewhere: no linked script, style or image."""
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert not re.search(r"url\(\s*['\"]?https?:", html)


def test_the_report_has_every_section_in_dutch_and_in_english(simulated: str) -> None:
    with kp.open_store(simulated) as store:
        events = kp.load_events(store, sources=[1])
        found = kp.find_blockers(events, profile="sociaal-domein")
        goals = kp.evaluate_criteria(events, profile="sociaal-domein", store=store, blockers=found)
        nl = kp.report(
            events, profile="sociaal-domein", store=store, blockers=found, criteria=goals
        )
        en = kp.report(
            events, profile="sociaal-domein", store=store, lang="en", blockers=found, criteria=goals
        )
    assert nl.lang == "nl"
    assert '<html lang="nl">' in nl.html
    for section in ("summary", "blockers", "goals", "map", "throughput", "notes"):
        assert f'<section id="{section}">' in nl.html
        assert f'<section id="{section}">' in en.html
    assert "<h2>Knelpunten</h2>" in nl.html
    assert "<h2>Blockers</h2>" in en.html
    # Each blocker's rule in the reader's language (a Dutch report says "overdracht").
    for blocker in found.blockers[:15]:
        assert f"<td>{escape(t('nl', f'reason.{blocker.reason}'))}</td>" in nl.html
    top = found.blockers[0]
    assert escape(top.evidence["nl"]) in nl.html
    assert escape(top.evidence["en"]) in en.html
    # Every policy goal's name is in the scorecard, and the director's summary says
    # what the criteria say.
    for criterion in goals.criteria:
        assert escape(criterion.name) in nl.html
    assert escape(goals.summary("en")[0]) in en.html
    # One Plotly script, inline; every figure is a Plotly call on its own div.
    assert nl.html.count("<script>") >= 1
    assert "Plotly.newPlot" in nl.html
    figures = set(re.findall(r'id="(figure-\d+)"', nl.html))
    assert len(figures) == 6  # causes, blocker trend, compliance, criteria trend, 2 of time
    _self_contained(nl.html)


def test_two_sets_are_compared_with_their_intervals(simulated: str) -> None:
    with kp.open_store(simulated) as store:
        events = kp.load_events(store)
        a = kp.select_cases(events, sources=[1])
        b = kp.select_cases(events, sources=[2])
        comparison = kp.compare(
            a, b, labels=("basis", "wachtlijst"), profile="sociaal-domein", store=store,
            resamples=200,
        )  # fmt: skip
        written = kp.report(
            events, profile="sociaal-domein", store=store, comparison=comparison, lang="en"
        )
    section = written.html.split('<section id="compare">')[1].split("</section>")[0]
    assert "basis" in section
    assert "wachtlijst" in section
    # One row per measure and criterion, each with its interval.
    first_table = section.split("</table>")[0]
    assert first_table.count("<tr>") == len(comparison.to_frame()) + 1
    assert first_table.count(" … ") == len(comparison.to_frame())
    assert escape(comparison.summary("en")[0]) in written.html


def test_an_empty_selection_gives_a_report_that_says_so(simulated: str) -> None:
    with kp.open_store(simulated) as store:
        events = kp.load_events(store)
    nothing = kp.filter_events(events, cases=[(1, "no such case")])
    written = kp.report(nothing, profile="sociaal-domein", lang="en")
    assert "This selection holds no cases." in written.html
    assert 'id="blockers"' not in written.html


def test_a_wrong_language_or_an_unwritable_path_is_explained(
    simulated: str, tmp_path: Path
) -> None:
    with kp.open_store(simulated) as store:
        events = kp.load_events(store, sources=[1])
    with pytest.raises(AnalysisError, match="nl or en"):
        kp.report(events, lang="de")
    written = kp.report(events, profile="sociaal-domein", out=tmp_path / "r.html")
    assert written.path == tmp_path / "r.html"
    assert written.path.read_text(encoding="utf-8") == written.html
    with pytest.raises(AnalysisError, match="could not be written"):
        written.write(tmp_path / "missing" / "r.html")


def test_the_map_draws_each_shown_activity_once_and_every_path(simulated: str) -> None:
    with kp.open_store(simulated) as store:
        events = kp.load_events(store, sources=[1])
    whole = kp.discover_map(kp.pair_instances(events))
    shown = kp.simplify_map(whole, paths=0.3)
    found = kp.find_blockers(events, profile="sociaal-domein")
    drawn = map_svg(shown, blockers=found)
    boxes = re.findall(r'<g class="activity"><title>([^<]*)</title>', drawn)
    activities = set(shown.edges["source"]) | set(shown.edges["target"])
    activities |= set(shown.start_activities) | set(shown.end_activities)
    assert sorted(boxes) == sorted(escape(a) for a in activities)
    arrows = drawn.count("marker-end=")
    assert arrows == len(shown.edges) + len(shown.start_activities) + len(shown.end_activities)
    # The costliest place of each classified blocker is outlined in its category's colour.
    costliest = next(b for b in found.blockers if b.category != "unclassified")
    box = drawn.split(f"<title>{escape(costliest.activity)}</title>", 1)[1].split("</g>")[0]
    assert 'stroke-width="4"' in box


@pytest.mark.real_logs
def test_the_command_writes_the_report_of_a_real_log(tmp_path: Path) -> None:
    store = str(tmp_path / "k.db")
    receipt = shared_log("receipt.csv")
    assert runner.invoke(app, ["ingest", str(receipt), "--store", store]).exit_code == 0
    out = tmp_path / "rapport.html"
    result = runner.invoke(app, ["report", "--store", store, "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "receipt" in html  # the source's name
    assert '<section id="blockers">' in html
    assert '<section id="map">' in html
    assert "T02 Check confirmation of receipt" in html
    _self_contained(html)
    wrong = runner.invoke(app, ["report", "--store", store, "--lang", "de"])
    assert wrong.exit_code == 2
    assert "nl or en" in wrong.output


def test_the_shipped_plotly_is_the_version_plotly_py_draws_for() -> None:
    """The cartesian bundle (report and dashboard) matches plotly.py's own plotly.js,
    and the dashboard serves it under that version's name."""
    from plotly.offline import get_plotlyjs_version

    from dashboards.report import PLOTLY_ROUTE
    from knelpunt.reports.html import PLOTLY_JS

    banner = PLOTLY_JS.read_text(encoding="utf-8")[:200]
    version = get_plotlyjs_version()
    assert f"plotly.js (cartesian - minified) v{version}" in banner
    assert PLOTLY_ROUTE.endswith(f"-{version}.min.js")


def test_names_from_a_log_are_shown_not_obeyed_by_plotly() -> None:
    """plotly.js reads pseudo-HTML in names (<a href>, <b>); a name from a log is shown
    as written."""
    import pandas as pd

    card = pd.DataFrame(
        {"name": ['<a href="https://x">klik</a>'], "measured": [3], "met": [True],
         "compliance": [1.0], "target": [0.9]}
    )  # fmt: skip
    fig = figures.compliance(card, shown=str, compliance_name="c", target_name="t")
    assert list(fig.data[0].y) == ['&lt;a href="https://x"&gt;klik&lt;/a&gt;']
