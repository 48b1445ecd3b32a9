"""End to end in headless Chromium: every page draws from the store, in Dutch and in
English, its controls work, and a failure shows a message, never a traceback. Each
test ends with no console errors (the ``page`` fixture checks)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import knelpunt as kp
from dashboards import workspace as ws_module
from dashboards.rows import BLOCK
from tests.conftest import shared_log
from tests.dashboards.conftest import SCREENSHOTS, Page, Served

pytestmark = pytest.mark.slow


def test_overview_shows_the_log_at_a_glance(page: Page, demo_store: str) -> None:
    with kp.open_store(demo_store) as store:
        cases = kp.load_events(store).n_cases
    shown = page.open("/", "#kpi-cases")
    value = shown.inner_text("#kpi-cases .card-value")
    assert int(value.replace(".", "")) == cases  # Dutch thousands separator
    assert shown.inner_text("#kpi-cases .card-label") == "Zaken"
    for graph in ("#overview-histogram", "#overview-terms", "#overview-trend", "#overview-dotted"):
        shown.wait_for_selector(f"{graph} .main-svg", timeout=30_000)
    page.shoot("overzicht")


def test_blockers_are_grouped_by_category_with_their_evidence(page: Page) -> None:
    shown = page.open("/knelpunten", ".blocker")
    assert shown.inner_text("h1") == "Knelpunten op systeemniveau"
    # The waiting list of the second source is a steering blocker.
    steering = shown.inner_text("#category-steering")
    assert "Sturing" in steering
    assert "werkuren wachten" in steering
    assert re.search(r"daalt de gemiddelde doorlooptijd van [\d,.]+ naar [\d,.]+ dagen", steering)
    shown.wait_for_selector("#blockers-causes .main-svg", timeout=30_000)
    page.shoot("knelpunten")


def test_criteria_scorecard_and_findings(page: Page) -> None:
    shown = page.open("/beleidsdoelen", ".scorecard")
    rows = shown.locator(".scorecard tbody tr")
    assert rows.count() == len(kp.read_profile("sociaal-domein").criteria)
    first_contact = shown.inner_text("#criterion-eerste-contact")
    assert "Eerste contact" in first_contact
    assert "%" in first_contact
    assert shown.locator(".findings li").count() == rows.count()
    page.shoot("beleidsdoelen")


def test_the_map_switches_overlay_and_shows_what_was_clicked(page: Page) -> None:
    shown = page.open("/proceskaart", "#map-graph canvas")
    shown.wait_for_function(
        "() => { const el = document.querySelector('#map-graph');"
        " const cy = el && (el._cyreg || el.firstChild && el.firstChild._cyreg);"
        " return cy && cy.cy && cy.cy.nodes().length > 2; }",
        timeout=30_000,
    )
    count = "() => { const el = document.querySelector('#map-graph');"
    cy = "(el._cyreg || el.firstChild._cyreg).cy"
    edges_before = shown.evaluate(f"{count} return {cy}.edges().length; }}")
    shown.get_by_label("Doorlooptijd").check()
    shown.wait_for_function(
        f"{count} return {cy}.edges().some(e => /( d| u| min)$/.test(e.data('label'))); }}",
        timeout=30_000,
    )
    # Every path: the slider moved to 100% with the keyboard.
    shown.locator("#map-paths [role=slider]").focus()
    shown.keyboard.press("End")
    shown.wait_for_function(
        f"{count} return {cy}.edges().length > {edges_before}; }}", timeout=30_000
    )
    shown.evaluate(f"{count} {cy}.nodes().filter(n => n.data('name') === 'Intake').emit('tap'); }}")
    shown.wait_for_selector("#map-details :text('Intake:')", timeout=30_000)
    assert "zaken" in shown.inner_text("#map-details")
    page.shoot("proceskaart")


# The cases grid's rows (loaded: a loading row has no id yet), its first row, the count.
CASE_ROWS = "#cases-grid .ag-center-cols-container .ag-row[row-id]"
FIRST_CASE = "#cases-grid .ag-center-cols-container .ag-row[row-index='0'][row-id]"
CASES_COUNT = "#cases-grid-count"


def all_cases(store_path: str) -> pd.DataFrame:
    """The cases as the cases grid has them, in the order the server keeps them."""
    with kp.open_store(store_path) as store:
        return kp.summarise_cases(kp.load_events(store))


def dutch(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def sort_by_days_descending(shown: Any) -> None:
    """Two clicks on the header of the throughput time (days): ascending, descending."""
    header = shown.locator('#cases-grid .ag-header-cell[col-id="days"] .ag-header-cell-label')
    header.click()
    shown.wait_for_selector('#cases-grid .ag-header-cell[col-id="days"][aria-sort="ascending"]')
    header.click()
    shown.wait_for_selector('#cases-grid .ag-header-cell[col-id="days"][aria-sort="descending"]')


def test_cases_grid_counts_searches_and_opens_a_timeline(page: Page, demo_store: str) -> None:
    """The browser holds one block of cases, not all; the count says how many match;
    a search narrows them on the server; a chosen case opens its timeline."""
    cases = all_cases(demo_store)
    assert len(cases) > BLOCK
    shown = page.open("/zaken", CASE_ROWS)
    total = dutch(len(cases))
    shown.wait_for_selector(f"{CASES_COUNT}:has-text('{total} van {total} zaken')")
    held = shown.evaluate(
        "() => { let n = 0; dash_ag_grid.getApi('cases-grid')"
        ".forEachNode((row) => { if (row.data) n += 1; }); return n; }"
    )
    assert held == BLOCK
    # A case id occurs in both sources (the simulated ones number their cases alike).
    wanted = cases["case_id"].iloc[0]
    found = cases[cases["case_id"].str.contains(wanted, case=False, regex=False)]
    shown.fill("#cases-search", wanted.lower())
    shown.press("#cases-search", "Enter")
    shown.wait_for_selector(f"{CASES_COUNT}:has-text('{dutch(len(found))} van {total} zaken')")
    assert 1 < len(found) < 20
    shown.wait_for_function(
        f"n => document.querySelectorAll({CASE_ROWS!r}).length === n", arg=len(found)
    )
    rows = shown.locator(CASE_ROWS)
    assert {rows.nth(i).get_attribute("row-id") for i in range(len(found))} == {
        f"{source}/{case}"
        for source, case in zip(found["source_id"], found["case_id"], strict=True)
    }
    rows.last.click()
    shown.wait_for_selector("#case-timeline-graph .main-svg", timeout=30_000)
    assert shown.inner_text("#case-timeline h2") == f"Tijdlijn van zaak {wanted}"
    page.shoot("zaken")


def test_cases_grid_sorts_and_filters_every_case_on_the_server(page: Page, demo_store: str) -> None:
    """Sorting a number column puts the longest case of all first (not of the block
    loaded); a column filter narrows the count as the same filter does in pandas."""
    cases = all_cases(demo_store)
    longest = cases.sort_values("duration_s", ascending=False, kind="stable")
    shown = page.open("/zaken", CASE_ROWS)
    sort_by_days_descending(shown)
    first = f"{longest['source_id'].iloc[0]}/{longest['case_id'].iloc[0]}"
    shown.wait_for_selector(f"{FIRST_CASE}[row-id='{first}']")
    # A number filter, as the column menu sets it: more than 20 events.
    shown.evaluate(
        "() => dash_ag_grid.getApi('cases-grid').setFilterModel("
        "{events: {filterType: 'number', type: 'greaterThan', filter: 20}})"
    )
    busy = longest[longest["events"] > 20]
    assert 0 < len(busy) < len(cases)
    shown.wait_for_selector(
        f"{CASES_COUNT}:has-text('{dutch(len(busy))} van {dutch(len(cases))} zaken')"
    )
    first = f"{busy['source_id'].iloc[0]}/{busy['case_id'].iloc[0]}"
    shown.wait_for_selector(f"{FIRST_CASE}[row-id='{first}']")


def test_the_language_switch_turns_every_label_english(page: Page) -> None:
    shown = page.open("/knelpunten", ".blocker")
    shown.get_by_role("radio", name="EN", exact=True).check()
    shown.wait_for_selector("h1:text('Blockers at system level')", timeout=30_000)
    assert shown.inner_text("#nav-map") == "Process map"
    assert "working hours of waiting" in shown.inner_text("#category-steering")
    # The choice holds on the next page.
    shown.click("#nav-criteria")
    shown.wait_for_selector("h1:text('Policy goals')", timeout=30_000)
    shown.get_by_role("radio", name="NL", exact=True).check()
    shown.wait_for_selector("h1:text('Beleidsdoelen')", timeout=30_000)


def test_choosing_a_source_narrows_every_figure(page: Page, demo_store: str) -> None:
    with kp.open_store(demo_store) as store:
        first = kp.list_sources(store)[0]
        cases = kp.load_events(store, sources=[first.source_id]).n_cases
    shown = page.open("/", "#kpi-cases")
    for graph in _OVERVIEW_GRAPHS:
        shown.wait_for_selector(f"#{graph} .main-svg")
    # Each figure's plot, marked: drawn anew for the choice, it must be the same
    # element with other data (updated in place), not a new one.
    before = shown.evaluate(
        "ids => ids.map(id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');"
        " gd.__kept = true; return JSON.stringify(gd.data); })",
        list(_OVERVIEW_GRAPHS),
    )
    shown.click("#sources")
    shown.get_by_role("option", name=re.compile(f"^{first.source_id}: ")).click()
    shown.wait_for_function(
        "n => document.querySelector('#kpi-cases .card-value').innerText.replace('.', '')"
        " === String(n)",
        arg=cases,
        timeout=30_000,
    )
    shown.wait_for_function(
        "([ids, before]) => ids.every((id, i) => {"
        " const gd = document.querySelector('#' + id + ' .js-plotly-plot');"
        " return gd && gd.__kept === true && JSON.stringify(gd.data) !== before[i]; })",
        arg=[list(_OVERVIEW_GRAPHS), before],
        timeout=30_000,
    )


_OVERVIEW_GRAPHS = ("overview-histogram", "overview-terms", "overview-trend", "overview-dotted")


def test_the_warm_up_draws_the_pages_for_the_first_visitor(served: Served) -> None:
    from dashboards.workspace import DRAWINGS

    ws = served.app.server.config["KNELPUNT_WORKSPACE"]
    ws.warm().join(timeout=600)
    assert {"overview-body", "blockers-body", "criteria-body", "team-body"} <= set(DRAWINGS)
    for body in DRAWINGS:
        for sources in (None, [1], [2]):
            ws.drawn(
                body,
                "nl",
                sources,
                ws.profile,
                lambda body=body: pytest.fail(f"{body} was not drawn by the warm-up"),
            )


def test_a_failure_shows_a_message_and_a_reference_not_a_traceback(
    page: Page, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> object:
        raise RuntimeError("internal detail that must not reach the page")

    monkeypatch.setitem(ws_module.RESULTS, "blockers", broken)
    ws_module_cache = served.app.server.config["KNELPUNT_WORKSPACE"]
    ws_module_cache._results.clear()
    shown = page.open("/knelpunten", ".failure")
    text = shown.inner_text(".failure")
    assert "Dit lukte niet" in text
    assert re.search(r"Referentie voor de beheerder: [0-9a-f]{8}", text)
    assert "internal detail" not in text
    assert "Traceback" not in shown.content()


@pytest.mark.real_logs
def test_upload_a_real_log_through_the_wizard_then_see_its_map_and_blockers(
    page: Page, demo_store: str
) -> None:
    """receipt.csv (the CoSeLoG WABO receipt phase): the check before recording, the
    suggested mapping, recording, and the new source everywhere."""
    path = shared_log("receipt.csv")
    shown = page.open("/uploaden", "#upload-file")
    shown.set_input_files("#upload-file input[type=file]", str(path))
    shown.wait_for_selector("#upload-summary", timeout=60_000)
    assert shown.inner_text("#upload-summary").startswith(
        "8.577 rijen gelezen: 8.577 goed, 0 geweigerd; 1.434 zaken"
    )
    assert "case:concept:name" in shown.inner_text(".fields")
    # The privacy step: the case and professional columns are pseudonymised, and so is
    # case:responsible, which names a professional by a code.
    privacy = shown.inner_text("#upload-privacy-table")
    for column in ("case:concept:name", "org:resource", "case:responsible"):
        assert column in privacy
    assert "Zaaknummer" in privacy
    assert privacy.count("Pseudonimiseren") == 3
    assert "Resource21" not in shown.inner_text("#upload-preview")
    page.shoot("uploaden")
    shown.click("#upload-record")
    shown.wait_for_selector("#upload-done", timeout=60_000)
    # Recorded as a background job whose progress bar counted every row.
    assert shown.get_attribute("#upload-progress", "value") == "8577"
    with kp.open_store(demo_store) as store:
        new = kp.list_sources(store)[-1]
    assert new.name == "receipt.csv"
    assert new.event_count == 8577
    assert new.details["privacy"]["pseudonymised"] is True
    with kp.open_store(demo_store) as store:
        stored = store.read_events(sources=[new.source_id])
    assert stored["case_id"].str.fullmatch(r"c-[0-9a-f]{20}").all()
    assert f"bron {new.source_id}" in shown.inner_text("#upload-done")
    # The new source is in the source choice; chosen, the map and blockers are its own.
    shown.click("#sources")
    shown.get_by_role("option", name=re.compile(f"^{new.source_id}: receipt.csv")).click()
    shown.click("#nav-map")
    shown.wait_for_function(
        "() => { const el = document.querySelector('#map-graph');"
        " return el && el._cyreg && el._cyreg.cy.nodes()"
        ".some(n => n.data('name') === 'Confirmation of receipt'); }",
        timeout=60_000,
    )
    shown.click("#nav-blockers")
    shown.wait_for_selector(".blocker", timeout=60_000)
    assert "T02 Check confirmation of receipt" in shown.inner_text(".categories")


def test_upload_with_personal_data_asks_per_column_before_recording(
    page: Page, demo_store: str, tmp_path: Path
) -> None:
    """BSNs, phone numbers and postcodes are found and shown masked; the suggested
    choice is preselected; keeping the postcode is the user's choice, recorded as such."""
    export = tmp_path / "clienten.csv"
    export.write_text(
        "Zaaknummer;Activiteit;Datum;Medewerker;BSN;Telefoon;Postcode\n"
        "Z-1;Melding;03-03-2025 09:00;Anouk Visser;111222333;06-12345678;1234 AB\n"
        "Z-1;Besluit;10-03-2025 11:00;Bram Smit;111222333;06-12345678;1234 AB\n"
        "Z-2;Melding;04-03-2025 10:00;Anouk Visser;123456782;020-7654321;3512 JK\n",
        encoding="utf-8",
    )
    shown = page.open("/uploaden", "#upload-file")
    shown.set_input_files("#upload-file input[type=file]", str(export))
    shown.wait_for_selector("#upload-privacy-table", timeout=60_000)
    table = shown.inner_text("#upload-privacy-table")
    for label in ("Burgerservicenummer (BSN)", "Telefoonnummer", "Postcode of adres", "1••••••••"):
        assert label in table
    for raw in ("111222333", "06-12345678", "1234 AB", "Anouk"):
        assert raw not in table
        assert raw not in shown.inner_text("#upload-preview")  # the preview as stored
    row = shown.locator("#upload-privacy-table tr", has_text="Postcode")
    assert "Weglaten" in row.inner_text()
    row.locator('[id*="upload-privacy"]').first.click()  # the dropdown (its id is a dict)
    shown.get_by_role("option", name="Bewaren zoals het is").click()
    shown.click("#upload-record")
    shown.wait_for_selector("#upload-done", timeout=60_000)
    with kp.open_store(demo_store) as store:
        new = kp.list_sources(store)[-1]
        stored = store.read_events(sources=[new.source_id])
    privacy = new.details["privacy"]
    assert privacy["kept"] == ["Postcode"]
    assert privacy["columns"]["Postcode"]["chosen"] is True
    assert privacy["columns"]["Telefoon"] == {"kind": "phone", "action": "drop", "chosen": False}
    attributes = [json.loads(a) for a in stored["attributes"]]
    assert {a["Postcode"] for a in attributes} == {"1234 AB", "3512 JK"}
    assert all("Telefoon" not in a and a["BSN"].startswith("p-") for a in attributes)
    assert stored["resource"].str.startswith("r-").all()
    assert shown.locator(".failure").count() == 0


def test_a_bad_upload_shows_each_refused_row_before_anything_is_recorded(
    page: Page, demo_store: str, tmp_path: Path
) -> None:
    bad = tmp_path / "export.csv"
    bad.write_bytes(
        "Zaaknummer;Activiteit;Datum\r\nZ1;Melding;31-12-2024 14:05\r\n"
        "Z1;Besluit;32-12-2024 10:00\r\n".encode("cp1252")
    )
    with kp.open_store(demo_store) as store:
        before = len(kp.list_sources(store))
    shown = page.open("/uploaden", "#upload-file")
    shown.set_input_files("#upload-file input[type=file]", str(bad))
    shown.wait_for_selector("#upload-rejects .ag-row", timeout=60_000)
    row = shown.inner_text("#upload-rejects .ag-row")
    assert "3" in row
    assert "Datum" in row
    assert "32-12-2024 10:00" in row
    with kp.open_store(demo_store) as store:
        assert len(kp.list_sources(store)) == before  # nothing recorded yet
    # Strict: nothing is recorded and the page says why.
    shown.get_by_label("Niets opnemen (streng)").check()
    shown.click("#upload-record")
    shown.wait_for_selector(".failure", timeout=60_000)
    assert "32-12-2024 10:00" in shown.inner_text(".failure")
    with kp.open_store(demo_store) as store:
        assert len(kp.list_sources(store)) == before


def test_compare_two_sources_with_intervals(page: Page, demo_store: str) -> None:
    """The baseline quarter against the waiting-list quarter: first contact within
    five working days drops, and the difference is called significant."""
    with kp.open_store(demo_store) as store:
        baseline, waiting = kp.list_sources(store)[:2]
    shown = page.open("/vergelijken", "#compare-a")
    for box, source in (("#compare-a", baseline), ("#compare-b", waiting)):
        shown.click(box)
        shown.get_by_role("option", name=re.compile(f"^{source.source_id}: ")).click()
        shown.keyboard.press("Escape")
    shown.wait_for_selector("#compare-lines li", timeout=120_000)
    lines = shown.locator("#compare-lines li").all_inner_texts()
    contact = next(line for line in lines if line.startswith("Eerste contact"))
    assert contact.endswith("significant).")
    assert "niet significant" not in contact
    # The grid draws its rows after the lines above it appear.
    shown.wait_for_function(
        "() => document.querySelectorAll('#compare-measures .ag-row').length > 5",
        timeout=30_000,
    )
    page.shoot("vergelijken")


def test_the_team_page_shows_networks_workload_and_multidisciplinary_work(
    page: Page, demo_store: str
) -> None:
    with kp.open_store(demo_store) as store:
        work = kp.summarise_teamwork(
            kp.load_events(store), profile="sociaal-domein", groups=kp.read_resource_groups(store)
        )
    shown = page.open("/team", "#team-kpi-multidisciplinary")
    assert shown.inner_text("h1") == "Team en samenwerking"
    share = shown.inner_text("#team-kpi-multidisciplinary .card-value")
    assert share == f"{round(100 * work.multidisciplinary_share)}%"
    teams = int(shown.inner_text("#team-kpi-teams .card-value"))
    assert teams == len(work.teams) - 1  # all but (other)
    shown.wait_for_function(
        "n => { const el = document.querySelector('#team-handovers');"
        " return el && el._cyreg && el._cyreg.cy.nodes().length === n; }",
        arg=len(work.handovers.nodes),
        timeout=30_000,
    )
    shown.wait_for_selector("#team-workload .main-svg", timeout=30_000)
    assert shown.locator("#team-table .ag-row").count() == len(work.teams)
    assert "(overig)" in shown.inner_text("#team-table")
    page.shoot("team")


def test_the_individual_page_shows_pseudonyms_only(page: Page, demo_store: str) -> None:
    with kp.open_store(demo_store) as store:
        names = [str(r) for r in kp.load_events(store).resources]
        groups = kp.read_resource_groups(store)
    shown = page.open("/individueel", "#people-table .ag-row")
    assert "pseudoniem" in shown.inner_text("#people-privacy")
    first = shown.inner_text("#people-table .ag-row")
    assert "medewerker-" in first
    shown.wait_for_selector("#people-months .main-svg", timeout=30_000)
    shown.wait_for_selector("#people-goals .ag-row", timeout=30_000)
    text = shown.inner_text("main")
    assert not [n for n in names if n in text]  # no name of the log on the page
    # Only the professionals in teams are listed, not providers or systems.
    rows = shown.locator("#people-table .ag-paging-row-summary-panel").inner_text()
    assert rows.endswith(f" {len(groups)}")
    page.shoot("individueel")


def test_a_what_if_runs_in_the_background_and_lands_in_the_store(
    page: Page, demo_store: str
) -> None:
    """The weekly approval meeting switched off in its own scenario, three seeds of 30
    days: the progress bar counts the six runs, the decision time is clearly better,
    and the runs are new sources."""
    with kp.open_store(demo_store) as store:
        before = {s.source_id for s in kp.list_sources(store)}
    shown = page.open("/simulatie", "#sim-switches input")
    shown.click("#sim-scenario")
    shown.get_by_role("option", name="team-meeting", exact=True).click()
    shown.wait_for_function(
        "() => document.querySelector('#sim-description').innerText.includes('MDO')",
        timeout=30_000,
    )
    meeting = shown.get_by_label("Protocol: akkoord alleen in het wekelijkse MDO")
    assert meeting.is_checked()
    meeting.uncheck()
    shown.fill("#sim-days", "30")
    shown.fill("#sim-seeds", "3")
    shown.click("#sim-run")
    shown.wait_for_selector("#sim-done", timeout=180_000)
    assert shown.get_attribute("#sim-progress", "value") == "6"
    assert shown.get_attribute("#sim-progress", "max") == "6"
    assert "protocol.team_meeting.enabled=false" in shown.inner_text("#sim-done h2")
    decision = shown.inner_text("#sim-kpi-decision_days_median")
    assert "Duidelijk beter" in decision
    with kp.open_store(demo_store) as store:
        new = [s for s in kp.list_sources(store) if s.source_id not in before]
    assert len(new) == 6, [(s.name, s.details.get("overrides")) for s in new]
    assert {s.kind for s in new} == {"simulation"}
    assert all(str(s.source_id) in shown.inner_text("#sim-done") for s in new)
    page.shoot("simulatie")


def test_a_bad_setting_shows_what_to_fix_and_runs_nothing(page: Page, demo_store: str) -> None:
    with kp.open_store(demo_store) as store:
        before = len(kp.list_sources(store))
    shown = page.open("/simulatie", "#sim-switches input")
    shown.fill("#sim-extra", "team.professionals.generalist=veel")
    shown.fill("#sim-days", "14")
    shown.click("#sim-run")
    shown.wait_for_selector("#sim-result .failure", timeout=60_000)
    message = shown.inner_text("#sim-result .failure")
    assert "the override 'team.professionals.generalist=veel'" in message
    assert "Traceback" not in shown.content()
    with kp.open_store(demo_store) as store:
        assert len(kp.list_sources(store)) == before


def test_capture_two_events_by_tapping_and_see_them_arrive(
    page: Page, served: Served, demo_store: str
) -> None:
    """A session opened on the page, two taps on a tablet-wide page, a third event
    from another device with the token shown once; each stored once."""
    tablet = Page(page.page.context.browser, served.url, width=820)
    try:
        shown = tablet.open("/vastleggen", "#capture-open")
        shown.fill("#capture-name", "Oefening wijkteam")
        shown.click("#capture-open")
        shown.wait_for_selector("#capture-token-value", timeout=30_000)
        token = shown.inner_text("#capture-token-value")
        with kp.open_store(demo_store) as store:
            session = kp.list_sources(store)[-1]
        assert session.kind == "capture"
        assert session.name == "Oefening wijkteam"
        assert token not in str(session.details)  # only its hash is kept
        shown.fill("#capture-case", "Z-17")
        shown.fill("#capture-resource", "Generalist 01")
        shown.get_by_role("button", name="Intake", exact=True).click()
        shown.wait_for_selector("#capture-status:text('Intake')", timeout=30_000)
        shown.get_by_role("button", name="Keukentafelgesprek", exact=True).click()
        shown.wait_for_selector("#capture-status:text('Keukentafelgesprek')", timeout=30_000)
        # Another device posts with the token, through the same API.
        body = {
            "case_id": "Z-17",
            "activity": "Verslag onderzoek",
            "timestamp": "2026-12-05T10:00:00+01:00",
            "idempotency_key": "tablet-2-verslag",
        }
        request = urllib.request.Request(
            f"{served.url}/api/capture/sessions/{session.source_id}/events",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201
        shown.wait_for_selector("#capture-count:text('3 gebeurtenissen')", timeout=30_000)
        arrived = shown.inner_text("#capture-arrived")
        assert arrived.index("Verslag onderzoek") < arrived.index("Keukentafelgesprek")
        assert "nan" not in arrived  # the event without a resource shows an empty cell
        tablet.shoot("vastleggen")
        with kp.open_store(demo_store) as store:
            events = kp.read_events(store, sources=[session.source_id])
        assert events["concept:name"].tolist() == [
            "Intake",
            "Keukentafelgesprek",
            "Verslag onderzoek",
        ]
        assert set(events["org:resource"].dropna()) == {"Generalist 01"}
        shown.click("#capture-close")
        shown.wait_for_selector("#capture-closed", timeout=30_000)
        assert "3 gebeurtenissen" in shown.inner_text("#capture-closed")
    finally:
        errors = list(tablet.errors)
        tablet.close()
    assert errors == []


def test_the_map_narrows_to_frequent_activities_counts_working_time_and_lists_cases(
    page: Page,
) -> None:
    shown = page.open("/proceskaart", "#map-graph canvas")
    graph = "() => { const el = document.querySelector('#map-graph');"
    cy = "(el._cyreg || el.firstChild._cyreg).cy"
    ready = f"{graph} return el && {cy} && {cy}.nodes().length > 2; }}"
    shown.wait_for_function(ready, timeout=30_000)
    nodes_before = shown.evaluate(f"{graph} return {cy}.nodes().length; }}")
    # The activities slider to its lowest mark (10%), by keyboard.
    shown.locator("#map-activities [role=slider]").focus()
    shown.keyboard.press("Home")
    shown.wait_for_function(
        f"{graph} return {cy}.nodes().length < {nodes_before} - 2; }}", timeout=30_000
    )
    shown.locator("#map-activities [role=slider]").focus()
    shown.keyboard.press("End")
    shown.wait_for_function(
        f"{graph} return {cy}.nodes().length === {nodes_before}; }}", timeout=30_000
    )
    # Performance in working time, then a click on the busiest path lists its cases.
    shown.get_by_label("Doorlooptijd").check()
    shown.wait_for_function(
        f"{graph} return {cy}.edges().some(e => /( d| u| min)$/.test(e.data('label'))); }}",
        timeout=30_000,
    )
    labels = f"{graph} return {cy}.edges().map(e => e.data('label')).join('|'); }}"
    in_calendar_time = shown.evaluate(labels)
    shown.get_by_label("Werktijd (profiel)").check()
    # The path is tapped on the map in working time, not on the one being replaced.
    shown.wait_for_function(
        f"{graph} return {cy}.edges().map(e => e.data('label')).join('|') !== "
        f"{json.dumps(in_calendar_time)}; }}",
        timeout=30_000,
    )
    shown.wait_for_load_state("networkidle")
    shown.evaluate(
        f"{graph} const edges = {cy}.edges().filter(e => e.data('source_name'));"
        " edges.max(e => e.data('count')).ele.emit('tap'); }"
    )
    shown.wait_for_load_state("networkidle")
    shown.wait_for_selector("#map-edge-cases li", timeout=30_000)
    assert "traagste doorgangen" in shown.inner_text("#map-details")
    assert shown.locator("#map-edge-cases li").count() == 10
    assert shown.locator("#map-edge-cases li").first.inner_text().startswith("zaak ")


def test_compare_two_periods_and_two_teams(page: Page, demo_store: str) -> None:
    """The baseline source's first month against its second, then the cases held by
    generalists against those held by youth workers."""
    with kp.open_store(demo_store) as store:
        baseline = kp.list_sources(store)[0]
    shown = page.open("/vergelijken", "#compare-a")
    for box, since, until in (("a", "2025-01-06", "2025-02-05"), ("b", "2025-02-06", "2025-03-07")):
        shown.click(f"#compare-{box}")
        shown.get_by_role("option", name=re.compile(f"^{baseline.source_id}: ")).click()
        shown.keyboard.press("Escape")
        for which, day in (("since", since), ("until", until)):
            shown.fill(f"#compare-{box}-{which}", day)
            shown.press(f"#compare-{box}-{which}", "Tab")
    shown.wait_for_selector("#compare-lines li", timeout=120_000)
    shown.wait_for_load_state("networkidle")
    lines = shown.locator("#compare-lines li").all_inner_texts()
    period = f"A (bronnen {baseline.source_id}; 2025-01-06 – 2025-02-05)"
    assert any(period in line for line in lines), lines
    # Teams instead of periods.
    for box, team in (("a", "generalist"), ("b", "jeugd")):
        shown.locator(
            f"#compare-{box}-period-wrapper ~ * .dash-datepicker-clear, "
            f"#compare-{box}-period-wrapper .dash-datepicker-clear"
        ).first.click()
        shown.click(f"#compare-{box}-team")
        shown.get_by_role("option", name=team, exact=True).click()
    shown.wait_for_function(
        "() => [...document.querySelectorAll('#compare-lines li')]"
        ".some(li => li.innerText.includes('team jeugd'))",
        timeout=120_000,
    )
    lines = shown.locator("#compare-lines li").all_inner_texts()
    assert any(f"B (bronnen {baseline.source_id}; team jeugd)" in line for line in lines), lines
    assert shown.locator("#compare-measures .ag-row").count() > 5


def test_tables_download_as_excel_and_csv_and_figures_as_svg(
    page: Page, demo_store: str, tmp_path: Path
) -> None:
    """The cases grid holds one block of cases; its downloads hold every case that
    matches its search and filters, in its order, found on the server."""
    import openpyxl

    cases = all_cases(demo_store)
    assert len(cases) > BLOCK  # more than the browser holds
    shown = page.open("/zaken", CASE_ROWS)
    with shown.expect_download() as caught:
        shown.click('button:has-text("Excel") >> nth=1')  # the second grid: the cases
    download = caught.value
    assert download.suggested_filename == "cases-grid.xlsx"
    saved = tmp_path / "cases.xlsx"
    download.save_as(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Bron", "Zaak", "Gebeurtenissen")  # the headers, as shown
    assert len(rows) - 1 == len(cases)  # every row, not only the block loaded
    # CSV after sorting and filtering: every matching case (more than a block), in order.
    sort_by_days_descending(shown)
    shown.evaluate(
        "() => dash_ag_grid.getApi('cases-grid').setFilterModel("
        "{events: {filterType: 'number', type: 'lessThan', filter: 25}})"
    )
    kept = cases[cases["events"] < 25].sort_values("duration_s", ascending=False, kind="stable")
    assert BLOCK < len(kept) < len(cases)
    shown.wait_for_selector(f"{CASES_COUNT}:has-text('{dutch(len(kept))} van')")
    with shown.expect_download() as caught:
        shown.click('button:has-text("CSV") >> nth=1')
    lines = Path(caught.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) - 1 == len(kept)
    assert [line.split(",")[1] for line in lines[1:]] == kept["case_id"].tolist()
    # ... and after a search as well: only the cases it finds.
    first = str(rows[1][1])
    shown.fill("#cases-search", first)
    shown.press("#cases-search", "Enter")
    found = kept[kept["case_id"].str.contains(first, regex=False)]
    shown.wait_for_selector(f"{CASES_COUNT}:has-text('{dutch(len(found))} van')")
    with shown.expect_download() as caught:
        shown.click('button:has-text("CSV") >> nth=1')
    lines = Path(caught.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert 1 <= len(lines) - 1 == len(found) < len(kept)
    assert all(first in line for line in lines[1:])
    # A figure as SVG.
    overview = page.open("/", "#overview-histogram .main-svg")
    with overview.expect_download() as caught:
        overview.click('button[title="overview-histogram"]')
    assert caught.value.suggested_filename == "overview-histogram.svg"
    assert Path(caught.value.path()).read_text(encoding="utf-8").startswith("<svg")


def test_a_running_simulation_stops_on_request(page: Page, demo_store: str) -> None:
    """Twenty seeds of the caseload cap, stopped after the first runs: the button comes
    back, no result is drawn, and the job records no run after the one in progress."""
    with kp.open_store(demo_store) as store:
        before = len(kp.list_sources(store))
    shown = page.open("/simulatie", "#sim-switches input")
    shown.get_by_label("Sturing: wachtlijst").check()
    shown.fill("#sim-days", "60")
    shown.fill("#sim-seeds", "20")
    shown.click("#sim-run")
    shown.wait_for_function(
        "() => Number(document.querySelector('#sim-progress').getAttribute('value')) >= 2",
        timeout=60_000,
    )
    shown.click("#sim-cancel")
    shown.wait_for_function("() => !document.querySelector('#sim-run').disabled", timeout=60_000)
    shown.wait_for_timeout(3000)  # one run at most was under way
    with kp.open_store(demo_store) as store:
        after_stop = len(kp.list_sources(store)) - before
    shown.wait_for_timeout(3000)
    with kp.open_store(demo_store) as store:
        assert len(kp.list_sources(store)) - before == after_stop  # the job has ended
    assert 2 <= after_stop < 40
    assert shown.locator("#sim-done").count() == 0


PAGES = [
    ("/", "#kpi-cases"),
    ("/proceskaart", "#map-graph canvas"),
    ("/knelpunten", ".blocker"),
    ("/beleidsdoelen", ".scorecard"),
    ("/team", "#team-kpi-teams"),
    ("/individueel", "#people-table .ag-row"),
    ("/zaken", CASE_ROWS),
    ("/vergelijken", "#compare-a"),
    ("/simulatie", "#sim-switches input"),
    ("/vastleggen", "#capture-open"),
    ("/uploaden", "#upload-file"),
    ("/cluster", "#cluster-body .empty"),
]


@pytest.mark.parametrize(("path", "ready"), PAGES)
def test_every_page_fits_a_tablet_and_is_reached_by_keyboard(
    browser: object, served: Served, path: str, ready: str
) -> None:
    """At 768 px wide no page scrolls sideways, and the navigation is reached with Tab."""
    tablet = Page(browser, served.url, width=768)
    try:
        shown = tablet.open(path, ready)
        shown.wait_for_load_state("networkidle")
        overflow = shown.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} is {overflow}px wider than the screen"
        shown.keyboard.press("Tab")
        focused = shown.evaluate("() => document.activeElement.id")
        assert focused.startswith("nav-")
    finally:
        errors = list(tablet.errors)
        tablet.close()
    assert errors == []


# The report link: the report of the visitor's choice, downloaded, opened offline.


def test_the_report_link_downloads_the_report_of_the_choice(
    page: Page, browser: Any, demo_store: str, tmp_path: Path
) -> None:
    with kp.open_store(demo_store) as store:
        second = kp.list_sources(store)[1]
        cases = kp.load_events(store, sources=[second.source_id]).n_cases
    shown = page.open("/", "#kpi-cases")
    shown.click("#sources")
    shown.get_by_role("option", name=re.compile(f"^{second.source_id}: ")).click()
    shown.keyboard.press("Escape")
    shown.get_by_role("radio", name="EN", exact=True).check()
    link = shown.locator("#report-link")
    link.wait_for(state="visible")
    shown.wait_for_function(
        f"() => document.querySelector('#report-link').href.includes('sources={second.source_id}')"
        " && document.querySelector('#report-link').href.includes('lang=en')"
    )
    shown.wait_for_selector("#report-link:text('Report (HTML)')", timeout=30_000)
    with shown.expect_download(timeout=120_000) as caught:
        link.click()
    download = caught.value
    assert re.fullmatch(r"knelpunt-\d{4}-\d{2}-\d{2}\.html", download.suggested_filename)
    saved = tmp_path / "report.html"
    download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    assert second.name in html
    number = f"{cases:,}"
    assert f"{number} cases with" in html  # the chosen source only

    # Opened from disk, offline: every figure draws, the map is there, nothing fails.
    report = browser.new_page()
    errors: list[str] = []
    report.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    report.on("pageerror", lambda e: errors.append(str(e)))
    report.route(re.compile(r"^https?://"), lambda route: route.abort())  # nothing from outside
    report.goto(saved.as_uri())
    figures = len(set(re.findall(r'id="(figure-\d+)"', html)))
    assert figures >= 4
    report.wait_for_function(
        f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}",
        timeout=30_000,
    )
    assert report.locator("svg.process-map g.activity").count() > 5
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report.set_viewport_size({"width": 1200, "height": 1400})
    report.screenshot(path=str(SCREENSHOTS / "rapport.png"))
    report.close()
    assert errors == [], f"report console errors: {errors}"


def test_a_report_that_cannot_be_made_answers_with_a_reference(served: Served) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{served.url}/rapport.html?lang=en&sources=x")
    assert caught.value.code == 400
    body = caught.value.read().decode("utf-8")
    assert "are not source numbers" in body
    assert "Reference for the administrator" in body
    assert "Traceback" not in body
    # A source that is not in the store is refused, not reported empty.
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{served.url}/rapport.html?lang=nl&sources=1,999")
    assert caught.value.code == 400
    assert "niet in de opslag" in caught.value.read().decode("utf-8")


# Security (issue 9): the policy on every page, log-in and roles in auth mode.

# Records every Content-Security-Policy violation the page meets, from its first script.
_CSP_WATCH = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation', "
    "(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def test_every_page_draws_under_the_strict_policy(page: Page) -> None:
    """Each page is served with the Content-Security-Policy (scripts by origin and hash
    only, no framing) and draws without a single violation (the fixture also checks the
    console)."""
    page.page.add_init_script(_CSP_WATCH)
    for path, ready in PAGES:
        answer = page.page.goto(page.base + path)
        assert answer is not None
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        assert answer.headers["x-frame-options"] == "DENY"
        page.page.wait_for_selector(ready, timeout=60_000)
        page.page.wait_for_load_state("networkidle")
        assert page.page.evaluate("() => window.__csp") == [], path
    assert page.page.inner_text("#account-local") == "Lokale modus: zonder inlog"


PASSWORD = "correct horse battery"


@pytest.fixture
def auth_mode(served: Served) -> Iterator[Any]:
    """The served dashboard in auth mode for one test (the mode is read per request),
    with an analyst and a viewer in its store."""
    guard = served.app.server.config["KNELPUNT_SECURITY"]
    for name, role in (("anna", "analyst"), ("bob", "viewer")):
        if guard.store.user(name) is None:
            kp.access.add_user(guard.store, name, PASSWORD, role=role)
    guard.auth = True
    try:
        yield guard
    finally:
        guard.auth = False


def log_in(page: Page, name: str, *, shoot: str | None = None) -> Any:
    """Open the dashboard, land on the log-in page, log in; the overview follows."""
    shown = page.open("/knelpunten", "#login-name")
    assert "/login?next=/knelpunten" in shown.url
    assert shown.inner_text("h1") == "Inloggen"
    shown.fill("#login-name", name)
    shown.fill("#login-password", PASSWORD)
    if shoot:
        page.shoot(shoot)
    shown.click("#login-submit")
    shown.wait_for_selector(".blocker", timeout=60_000)
    return shown


def test_an_analyst_logs_in_works_and_logs_out(page: Page, auth_mode: Any) -> None:
    """An analyst logs in, sees the pages, may upload, simulate and capture, and logs
    out; afterwards the pages ask for a log-in again."""
    shown = log_in(page, "anna", shoot="inloggen")
    assert shown.inner_text("#account-user") == "anna (analist)"
    for nav, ready in (
        ("#nav-overview", "#kpi-cases"),
        ("#nav-upload", "#upload-file"),
        ("#nav-simulation", "#sim-switches input"),
        ("#nav-capture", "#capture-open"),
    ):
        shown.click(nav)
        shown.wait_for_selector(ready, timeout=60_000)
    assert shown.locator("#role-refusal").count() == 0
    shown.click("#logout")
    shown.wait_for_selector("#login-name", timeout=30_000)
    shown.goto(page.base + "/")
    shown.wait_for_selector("#login-name", timeout=30_000)
    actions = [e.action for e in auth_mode.store.audit_log(actor="anna")]
    assert actions[-2:] == ["login", "logout"]


def test_a_viewer_sees_the_pages_but_is_refused_the_upload(page: Page, auth_mode: Any) -> None:
    """A viewer reads the pages; the upload, simulation and capture pages show a
    refusal instead of their controls, and the server refuses the recording itself."""
    shown = log_in(page, "bob")
    assert shown.inner_text("#account-user") == "bob (kijker)"
    # The links to those pages are hidden; the pages themselves refuse.
    for link in ("#nav-upload", "#nav-simulation", "#nav-capture"):
        shown.wait_for_selector(link, state="hidden", timeout=30_000)
    assert shown.is_visible("#nav-blockers")
    shown.goto(page.base + "/uploaden")
    shown.wait_for_selector("#role-refusal p", timeout=30_000)
    assert "Als kijker mag u geen logs uploaden" in shown.inner_text("#role-refusal")
    page.shoot("geweigerd")
    assert shown.locator("#upload-file").count() == 0
    shown.goto(page.base + "/simulatie")
    shown.wait_for_selector("#role-refusal :text('simulaties')", timeout=30_000)
    assert shown.locator("#sim-run").count() == 0
    shown.get_by_role("radio", name="EN", exact=True).check()
    shown.wait_for_selector("#role-refusal :text('As a viewer you may not run simulations')")
    # Asked directly, with bob's session and his CSRF token, the server says no.
    cookies = {c["name"]: c["value"] for c in shown.context.cookies()}
    request = urllib.request.Request(
        f"{page.base}/_dash-update-component",
        data=json.dumps(
            {"output": "upload-result.children",
             "outputs": {"id": "upload-result", "property": "children"},
             "inputs": [], "changedPropIds": ["upload-record.n_clicks"]}
        ).encode(),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": cookies["_csrf_token"],
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 403
    assert "viewer may not do this" in json.loads(refused.value.read())["error"]
    assert auth_mode.store.audit_log(actions=["record"], actor="bob") == []


# Results from a cluster: computed on an engine, written as a result folder, shown.


@pytest.fixture(scope="module")
def results_home(demo_store: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of results, as a cluster would write them: the demo store's two sources
    exported, and everything the engines compute of them (here on DuckDB)."""
    home = tmp_path_factory.mktemp("results")
    with kp.open_store(demo_store) as store:
        events = kp.export_log(store, home / "events", partition_by=("source", "month"))
    kp.export_relational(
        kp.compute_relational(events),
        home / "results" / "twee-bronnen",
        instances=kp.compute_instances(events),
        waiting=kp.compute_waiting(events),
        criteria=kp.compute_criteria(events, profile="sociaal-domein"),
    )
    return home / "results"


def test_results_from_a_cluster(page: Page, served: Served, results_home: Path) -> None:
    """A result folder shows its map, variants, activity times, waiting by cause and
    criteria per source; without a results folder the page says how to set one."""
    config = served.app.server.config
    try:
        config["KNELPUNT_RESULTS"] = str(results_home)
        shown = page.open("/cluster", "#panel-cluster-map img")
        expected = kp.read_relational(results_home / "twee-bronnen")
        cases = shown.inner_text("#c-cases")
        assert f"{expected.process_map.cases:,}".replace(",", ".") in cases
        assert shown.locator("#panel-c-var tbody tr").count() == min(10, len(expected.variants))
        assert expected.activity_times is not None
        assert shown.locator("#panel-cluster-times tbody tr").count() == len(
            expected.activity_times
        )
        assert expected.waiting is not None
        sources = expected.waiting["source_id"].nunique()
        assert shown.locator("#panel-cluster-waiting tbody tr").count() == sources
        assert expected.criteria is not None
        assert shown.locator("#panel-c-criteria tbody tr").count() == len(expected.criteria)
        svg = shown.get_attribute("#panel-cluster-map img", "src") or ""
        assert svg.startswith("data:image/svg+xml;base64,")
        page.shoot("cluster")
        shown.get_by_role("radio", name="EN", exact=True).check()
        shown.wait_for_selector("h1:text('Results from a cluster')", timeout=30_000)
        shown.wait_for_selector(
            "#panel-cluster-waiting h2:text('Waiting by cause, per source')", timeout=30_000
        )
        config["KNELPUNT_RESULTS"] = None
        shown = page.open("/cluster", "#cluster-body .empty")
        assert "--results" in shown.inner_text("#cluster-body")
    finally:
        config["KNELPUNT_RESULTS"] = None
