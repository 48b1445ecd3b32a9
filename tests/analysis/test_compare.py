"""Comparing two sets of cases: hand-checked pieces, then the simulator's truth.

The simulator tests are the issue's correctness bar: switching a planted
blocker on lowers the compliance of the criterion it hurts and the comparison
calls that significant; runs of one scenario on other seeds are not called
different more often than the error rate allows.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.analysis.compare import _adjust, _draw_weights, _statistic
from knelpunt.errors import AnalysisError

ZONE = ZoneInfo("Europe/Amsterdam")


def _frame(rows: list[tuple[str, str, str]], source: str = "s") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "time:timestamp": [pd.Timestamp(r[2], tz=ZONE) for r in rows],
        }
    )


def _log(store: kp.EventStore, name: str, rows: list[tuple[str, str, str]]) -> kp.EventTable:
    found = kp.ingest_log(store, _frame(rows), name=name)
    return kp.load_events(store, sources=[found.source.source_id])


def _weekly(cases: int, weeks: int, *, slow: bool) -> list[tuple[str, str, str]]:
    """``cases`` cases a week: A, then B after one day (three when slow), then C."""
    rows = []
    for week in range(weeks):
        for n in range(cases):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=week, hours=n)
            gap = pd.Timedelta(days=3 if slow and n % 2 == 0 else 1)
            case = f"{week}-{n}"
            rows += [
                (case, "A", str(day)),
                (case, "B", str(day + gap)),
                (case, "C", str(day + gap + pd.Timedelta(hours=2))),
            ]
    return rows


# -- the pieces -----------------------------------------------------------------------


def test_benjamini_hochberg_by_hand() -> None:
    """p = .01 .02 .03 .5 and a missing one: adjusted .04 .04 .04 .5, missing stays."""
    adjusted = _adjust(np.array([0.03, 0.5, np.nan, 0.01, 0.02]))
    assert adjusted[:2] == pytest.approx([0.04, 0.5])
    assert np.isnan(adjusted[2])
    assert adjusted[3:] == pytest.approx([0.04, 0.04])


@settings(max_examples=60, deadline=None)
@given(
    weeks=st.integers(1, 40),
    length=st.integers(1, 10),
    count=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_block_draws_keep_the_number_of_weeks(
    weeks: int, length: int, count: int, seed: int
) -> None:
    """Every resample draws exactly as many weeks as there are, none unknown."""
    clusters = np.arange(weeks)
    weights = _draw_weights(clusters, length, np.random.default_rng(seed), count)
    assert weights.shape == (count, weeks)
    assert (weights.sum(axis=1) == weeks).all()
    assert (weights >= 0).all()


def test_weighted_statistics_by_hand() -> None:
    values = np.array([1.0, 2.0, 3.0, 10.0])
    weights = np.array([[1, 1, 1, 1], [0, 2, 2, 0], [4, 0, 0, 0]], dtype=float)
    assert _statistic(values, weights, "mean") == pytest.approx([4.0, 2.5, 1.0])
    assert _statistic(values, weights, "median") == pytest.approx([2.0, 2.0, 1.0])
    assert _statistic(values, weights, "q0.9") == pytest.approx([10.0, 3.0, 1.0])


def test_a_clear_difference_with_its_map_difference(tmp_path: object) -> None:
    """Set B takes longer from A to B and has a path A -> C that A never has."""
    with kp.open_store(":memory:") as store:
        a = _log(store, "before", _weekly(10, 12, slow=False))
        rows = _weekly(10, 12, slow=True)
        rows += [("x-1", "A", "2024-02-01 09:00"), ("x-1", "C", "2024-02-01 10:00")]
        b = _log(store, "after", rows)
        found = kp.compare(a, b, labels=("voor", "na"), resamples=300, blockers=False)
    kpis = found.kpis.set_index("kpi")
    assert kpis.loc["cases", "a"] == 120
    assert kpis.loc["cases", "b"] == 121
    mean = kpis.loc["throughput_mean_d"]
    # A: 1 day + 2 h in every case; B: half the cases 3 days + 2 h.
    assert mean["a"] == pytest.approx(1 + 2 / 24)
    assert mean["delta"] > 0.9
    assert mean["low"] <= mean["delta"] <= mean["high"]
    assert bool(mean["significant"])
    edges = found.edges.set_index(["source", "target"])
    assert edges.loc[("A", "C"), "status"] == "appeared"
    assert edges.loc[("A", "B"), "status"] == "changed"  # the median moved by a day
    assert edges.loc[("B", "C"), "status"] == "same"
    lines = found.summary("nl")
    assert any(line.startswith("doorlooptijd, gemiddeld (dagen): voor 1,1, na") for line in lines)
    assert "significant" in found.to_frame().columns


def test_the_same_cases_twice_differ_in_nothing() -> None:
    with kp.open_store(":memory:") as store:
        a = _log(store, "een", _weekly(8, 10, slow=True))
        b = _log(store, "twee", _weekly(8, 10, slow=True))
        found = kp.compare(a, b, resamples=200, blockers=False)
    assert not found.kpis["significant"].dropna().any()
    assert (found.kpis["delta"] == 0).all()
    assert set(found.edges["status"]) == {"same"}


def test_a_set_ending_with_the_log_is_flagged_as_possibly_too_compliant() -> None:
    """Set B's last cases started days before its log ends: ten have closed quickly,
    ten have not closed and their two-week term still runs. They are not measured,
    and the summary says the compliance may be too high for that reason."""
    profile = kp.Profile.from_mapping(
        {
            "name": "t",
            "criteria": [
                {
                    "id": "c",
                    "name": "Within two weeks",
                    "type": "deadline",
                    "from": "A",
                    "to": "C",
                    "within": "2 weeks",
                }
            ],
        }
    )
    with kp.open_store(":memory:") as store:
        a = _log(store, "voor", _weekly(10, 6, slow=False))
        rows = _weekly(10, 6, slow=False)
        rows += [(f"open-{n}", "A", f"2024-02-12 1{n}:00") for n in range(10)]
        b = _log(store, "na", rows)
        found = kp.compare(a, b, labels=("voor", "na"), profile=profile, resamples=200)
    row = found.criteria.set_index("criterion").loc["c"]
    assert (row["open_a"], row["open_b"]) == (0, 10)
    assert (row["measured_a"], row["measured_b"]) == (60, 60)
    line = next(text for text in found.summary("en") if text.startswith("Within"))
    assert "Caution" in line
    assert "(na: 10)" in line
    assert "Let op" in next(text for text in found.summary("nl") if text.startswith("Within"))


def test_bad_requests_say_what_to_do() -> None:
    with kp.open_store(":memory:") as store:
        a = _log(store, "een", _weekly(2, 2, slow=False))
        empty = kp.filter_events(a, start=datetime(2030, 1, 1, tzinfo=ZONE))
        with pytest.raises(AnalysisError, match="Set B holds no cases"):
            kp.compare(a, empty, resamples=100)
        with pytest.raises(AnalysisError, match="at least 100 resamples"):
            kp.compare(a, a, resamples=10)
        with pytest.raises(AnalysisError, match="share between 0 and 1"):
            kp.compare(a, a, confidence=95)
        with pytest.raises(AnalysisError, match="No case is held by a team 'Noord'"):
            kp.select_cases(a, team="Noord")


def test_select_cases_by_source_and_period() -> None:
    with kp.open_store(":memory:") as store:
        one = kp.ingest_log(store, _frame(_weekly(2, 4, slow=False)), name="een")
        two = kp.ingest_log(store, _frame(_weekly(3, 4, slow=False)), name="twee")
        both = kp.load_events(store)
        assert both.n_cases == 20
        only = kp.select_cases(both, sources=[two.source.source_id])
        assert only.n_cases == 12
        assert set(only.case_sources.tolist()) == {two.source.source_id}
        early = kp.select_cases(
            both, sources=[one.source.source_id], until=datetime(2024, 1, 14, tzinfo=ZONE)
        )
        assert early.n_cases == 4  # weeks 1 and 2 of the first source


# -- the simulator's truth ------------------------------------------------------------


Runs = tuple[dict[str, kp.EventTable], pd.DataFrame]


@pytest.fixture(scope="module")
def runs() -> Runs:
    """A year of the baseline and of two planted blockers on one seed, and the case
    attributes of all three."""
    found = {}
    with kp.open_store(":memory:") as store:
        for scenario in ("baseline", "waiting-list", "caseload-cap"):
            run = kp.simulate_scenario(store, scenario, seed=1)
            found[scenario] = kp.load_events(store, sources=[run.source.source_id])
        attributes = kp.read_case_attributes(store)
    return found, attributes


@pytest.mark.parametrize("planted", ["waiting-list", "caseload-cap"])
def test_switching_off_a_planted_blocker_raises_first_contact_significantly(
    runs: Runs, planted: str
) -> None:
    """A waiting list and a caseload cap both delay the first contact (vroegsignalering):
    without them, compliance with eerste-contact rises, and significantly so."""
    events, attributes = runs
    found = kp.compare(
        events[planted],
        events["baseline"],
        labels=(planted, "baseline"),
        profile="sociaal-domein",
        attributes=attributes,
        criteria=["eerste-contact", "wmo-onderzoek", "medische-verwijzers"],
        blockers=False,
        resamples=500,
    )
    rows = found.criteria.set_index("criterion")
    first = rows.loc["eerste-contact"]
    assert first["compliance_b"] > first["compliance_a"] + 0.1
    assert first["low"] > 0
    assert bool(first["significant"])
    # The referrer mix is drawn per case, the same on one seed: no difference.
    assert rows.loc["medische-verwijzers", "delta"] == 0
    assert not bool(rows.loc["medische-verwijzers", "significant"])


def test_breaches_under_a_waiting_list_are_traced_to_it(runs: Runs) -> None:
    """The breaches of eerste-contact in the waiting-list run are traced to the wait after
    'Wachtlijst' (steering): of the waits that would resolve a tenth of the breaches or
    more, it is the one most typical of breaches (lift), and without it compliance
    rises by more than ten points. The wait after the melding (client) resolves about as
    many, but is as common in cases that pass."""
    result = kp.evaluate_criteria(
        runs[0]["waiting-list"], profile="sociaal-domein", criteria=["eerste-contact"]
    )
    breaches = int(result.scorecard()["breached"].iloc[0])
    large = result.links[result.links["resolved"] >= breaches / 10]
    typical = large.sort_values("lift", ascending=False).iloc[0]
    assert typical["category"] == "steering"
    assert typical["lift"] > 2
    assert typical["compliance_without"] > typical["compliance"] + 0.1
    client = large[large["category"] == "client"]
    assert (client["lift"] < 1).all()


def test_other_seeds_of_one_scenario_are_rarely_called_different() -> None:
    """Fifteen pairs of half-year baseline runs on other seeds: no true difference.

    Measured when written: 2% of the raw p-values of all measures and criteria
    below 0.05 (nominal 5%), and 2 of the 15 pairs with some difference called
    significant: seeds 1 and 2 (the Jeugdwet referrer mix, 65% vs 56%, a
    3-sigma draw of the case stream) and seeds 5 and 6 (mean throughput time
    90 vs 79 days, the two extremes of twenty seeds). Without the correction for
    the number of measures compared, 4 of the 15 pairs would be called different,
    above the bound; with it, about one pair in twenty is expected.
    """
    pairs, flagged, raw = 15, 0, []
    with kp.open_store(":memory:") as store:
        for pair in range(pairs):
            sets = []
            for seed in (2 * pair + 1, 2 * pair + 2):
                run = kp.simulate_scenario(store, "baseline", seed=seed, overrides=["days=180"])
                sets.append(kp.load_events(store, sources=[run.source.source_id]))
            found = kp.compare(
                *sets, profile="sociaal-domein", store=store, blockers=False, resamples=400
            )
            both = pd.concat([found.kpis, found.criteria])
            flagged += bool(both["significant"].dropna().any())
            raw += both["p"].dropna().tolist()
    assert np.mean(np.array(raw) < 0.05) <= 0.10
    assert flagged <= 3
