"""Policy criteria: the parser, the profile's section, and the judgement per case.

Every expectation on a small log is worked out by hand from the calendar: the
organisation's time zone (Europe/Amsterdam), Dutch public holidays and the
rule that a term counts from the day after its start.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.analysis.criteria import STATUSES, CriteriaResult, evaluate_criteria, pseudonym
from knelpunt.errors import AnalysisError, ProfileError
from knelpunt.policy import Condition, Criterion, Scope, SpecError, Term, parse_criteria
from knelpunt.profile import Profile, read_profile
from knelpunt.worktime import WorkCalendar

TZ = "Europe/Amsterdam"
# Short names for the pm4py columns a test event may carry.
_COLUMNS = {
    "resource": "org:resource",
    "lifecycle": "lifecycle:transition",
    "scheme": "case:scheme",
    "household": "case:household",
    "referrer": "case:referrer",
}


def at(text: str) -> pd.Timestamp:
    """A local moment in the organisation's time zone."""
    return pd.Timestamp(text, tz=TZ)


def ev(case: str, activity: str, when: str | pd.Timestamp, **extra: str) -> dict[str, Any]:
    """One event as a row of a pm4py frame (``resource``, ``scheme``, ... as short names)."""
    moment = at(when) if isinstance(when, str) else when
    row: dict[str, Any] = {
        "case:concept:name": case,
        "concept:name": activity,
        "time:timestamp": moment,
    }
    row.update({_COLUMNS.get(key, key): value for key, value in extra.items()})
    return row


def profile_with(*criteria: dict[str, Any], **sections: Any) -> Profile:
    """A profile holding these criteria (every scalar text, as YAML reads it)."""
    return Profile.from_mapping({"name": "t", **sections, "criteria": list(criteria)})


def evaluate(
    rows: list[dict[str, Any]],
    profile: Profile | str,
    *,
    with_store: bool = True,
    **options: Any,
) -> CriteriaResult:
    """Ingest the rows into an in-memory store and evaluate the profile's criteria."""
    frame = pd.DataFrame(rows)
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, frame, name="t", duplicates="keep", privacy="off")
        events = kp.load_events(store)
        options.setdefault("blockers", False)
        return evaluate_criteria(
            events, profile=profile, store=store if with_store else None, **options
        )


def judged(result: CriteriaResult, criterion: str | None = None) -> dict[str, tuple[str, str]]:
    """Per case (of one criterion, or the only one) its (status, reason)."""
    cases = result.cases
    if criterion is not None:
        cases = cases[cases["criterion"] == criterion]
    assert cases["case_id"].is_unique
    return {
        str(case): (str(status), str(reason))
        for case, status, reason in zip(
            cases["case_id"].tolist(),
            cases["status"].tolist(),
            cases["reason"].tolist(),
            strict=True,
        )
    }


def column(result: CriteriaResult, name: str, criterion: str | None = None) -> dict[str, Any]:
    """Per case (of one criterion, or the only one) the value in one column."""
    cases = result.cases
    if criterion is not None:
        cases = cases[cases["criterion"] == criterion]
    return dict(zip(cases["case_id"].astype(str).tolist(), cases[name].tolist(), strict=True))


def values(result: CriteriaResult, criterion: str | None = None) -> dict[str, float]:
    """Per case (of one criterion, or the only one) its value."""
    return {case: float(value) for case, value in column(result, "value", criterion).items()}


def local_date(time_us: int) -> date:
    """The local calendar day of a moment in UTC microseconds."""
    return pd.Timestamp(int(time_us), unit="us", tz="UTC").tz_convert(TZ).date()


def card(result: CriteriaResult, lang: str = "en") -> dict[str, dict[str, Any]]:
    """The scorecard as a mapping per criterion."""
    frame = result.scorecard(lang).set_index("criterion")
    return {str(k): {str(a): b for a, b in v.items()} for k, v in frame.to_dict("index").items()}


DEADLINE = {"id": "c", "type": "deadline", "from": "Melding", "to": "Besluit"}


# -- deadlines in calendar time --------------------------------------------------------


def test_a_deadline_in_weeks_counts_calendar_days_whatever_the_hour() -> None:
    """Six weeks from Monday 6 January 10:00 end with Monday 17 February, all of it
    (local time): 16:00 and 23:30 pass; 00:30 on the 18th and 09:00 breach."""
    rows = [
        ev("on-time", "Melding", "2025-01-06 10:00"),
        ev("on-time", "Besluit", "2025-02-17 16:00"),
        ev("late-evening", "Melding", "2025-01-06 10:00"),
        ev("late-evening", "Besluit", "2025-02-17 23:30"),  # 22:30 UTC, still the 17th here
        ev("after-midnight", "Melding", "2025-01-06 10:00"),
        ev("after-midnight", "Besluit", "2025-02-18 00:30"),  # 23:30 UTC on the 17th
        ev("next-day", "Melding", "2025-01-06 10:00"),
        ev("next-day", "Besluit", "2025-02-18 09:00"),
    ]
    result = evaluate(rows, profile_with({**DEADLINE, "within": "6 weeks"}))
    assert judged(result) == {
        "on-time": ("pass", ""),
        "late-evening": ("pass", ""),
        "after-midnight": ("breach", "late"),
        "next-day": ("breach", "late"),
    }
    assert values(result) == {
        "on-time": 6.0,
        "late-evening": 6.0,
        "after-midnight": pytest.approx(43 / 7),
        "next-day": pytest.approx(43 / 7),
    }
    assert set(result.cases["unit"]) == {"weeks"}
    # The deadline is the last moment of 17 February, local time.
    deadline = pd.Timestamp(int(result.cases["deadline_us"].iloc[0]), unit="us", tz="UTC")
    assert deadline.tz_convert(TZ) == at("2025-02-17 23:59:59.999999")
    row = card(result)["c"]
    assert (row["cases"], row["measured"], row["passed"], row["breached"]) == (4, 4, 2, 2)
    assert row["compliance"] == 0.5
    assert row["met"] is False  # the default target is 100%


def test_a_deadline_in_days_and_in_hours() -> None:
    """Ten days from 6 January end on 16 January; 36 hours run from the hour itself."""
    rows = [
        ev("a", "Melding", "2025-01-06 10:00"),
        ev("a", "Besluit", "2025-01-16 23:00"),
        ev("b", "Melding", "2025-01-06 10:00"),
        ev("b", "Besluit", "2025-01-17 08:00"),
        ev("c", "Melding", "2025-01-06 10:00"),
        ev("c", "Besluit", "2025-01-07 22:00"),  # exactly 36 hours
        ev("d", "Melding", "2025-01-06 10:00"),
        ev("d", "Besluit", "2025-01-07 22:01"),
    ]
    days = evaluate(rows, profile_with({**DEADLINE, "within": "10 dagen"}))
    assert {k: v[0] for k, v in judged(days).items()} == {
        "a": "pass",
        "b": "breach",
        "c": "pass",
        "d": "pass",
    }
    assert values(days) == {"a": 10.0, "b": 11.0, "c": 1.0, "d": 1.0}
    assert set(days.cases["unit"]) == {"days"}
    hours = evaluate(rows, profile_with({**DEADLINE, "within": "36 uur"}))
    assert {k: v[0] for k, v in judged(hours).items()} == {
        "a": "breach",
        "b": "breach",
        "c": "pass",
        "d": "breach",
    }
    assert values(hours)["c"] == 36.0
    assert values(hours)["d"] == pytest.approx(36 + 1 / 60)
    assert set(hours.cases["unit"]) == {"hours"}


def test_a_deadline_closes_at_the_completion_of_the_closing_activity() -> None:
    """With lifecycles, the window closes when the closing activity completes: a
    Besluit started within the term but completed after it is late."""
    rows = [
        ev("a", "Melding", "2025-01-06 10:00", lifecycle="complete"),
        ev("a", "Besluit", "2025-01-16 10:00", lifecycle="start"),
        ev("a", "Besluit", "2025-01-17 10:00", lifecycle="complete"),
        ev("b", "Melding", "2025-01-06 10:00", lifecycle="complete"),
        ev("b", "Besluit", "2025-01-15 10:00", lifecycle="start"),
        ev("b", "Besluit", "2025-01-16 10:00", lifecycle="complete"),
    ]
    result = evaluate(rows, profile_with({**DEADLINE, "within": "10 days"}))
    assert judged(result) == {"a": ("breach", "late"), "b": ("pass", "")}
    assert values(result) == {"a": 11.0, "b": 10.0}


# -- deadlines in working days ---------------------------------------------------------


def test_working_days_skip_weekends_and_christmas() -> None:
    """From Tuesday 23 December 2025, three working days: 24 December is the first,
    25 and 26 December are public holidays, 27-28 a weekend, Monday 29 the second and
    Tuesday 30 the third. From Saturday 27 December they count from Monday 29: 31
    December is the third; 1 January is a holiday, so 2 January is the fourth."""
    rows = [
        ev("tue-30", "Melding", "2025-12-23 10:00"),
        ev("tue-30", "Besluit", "2025-12-30 16:30"),
        ev("tue-31", "Melding", "2025-12-23 10:00"),
        ev("tue-31", "Besluit", "2025-12-31 09:00"),
        ev("sat-31", "Melding", "2025-12-27 10:00"),
        ev("sat-31", "Besluit", "2025-12-31 15:00"),
        ev("sat-jan2", "Melding", "2025-12-27 10:00"),
        ev("sat-jan2", "Besluit", "2026-01-02 09:00"),
    ]
    result = evaluate(rows, profile_with({**DEADLINE, "within": "3 werkdagen"}))
    assert judged(result) == {
        "tue-30": ("pass", ""),
        "tue-31": ("breach", "late"),
        "sat-31": ("pass", ""),
        "sat-jan2": ("breach", "late"),
    }
    # The value is the number of working days from the day after the start to the close.
    assert values(result) == {"tue-30": 3.0, "tue-31": 4.0, "sat-31": 3.0, "sat-jan2": 4.0}
    assert set(result.cases["unit"]) == {"working days"}
    deadlines = {case: local_date(us) for case, us in column(result, "deadline_us").items()}
    assert deadlines == {
        "tue-30": date(2025, 12, 30),
        "tue-31": date(2025, 12, 30),
        "sat-31": date(2025, 12, 31),
        "sat-jan2": date(2025, 12, 31),
    }


def test_a_saturday_start_counts_from_the_next_working_day() -> None:
    """Saturday 11 January 2025 plus three working days: Monday 13 (1), Tuesday 14 (2),
    Wednesday 15 (3); a close on Thursday 16 is the fourth and late."""
    rows = [
        ev("wed", "Melding", "2025-01-11 11:00"),
        ev("wed", "Besluit", "2025-01-15 17:00"),
        ev("thu", "Melding", "2025-01-11 11:00"),
        ev("thu", "Besluit", "2025-01-16 08:00"),
    ]
    result = evaluate(rows, profile_with({**DEADLINE, "within": "3 working days"}))
    assert judged(result) == {"wed": ("pass", ""), "thu": ("breach", "late")}
    assert values(result) == {"wed": 3.0, "thu": 4.0}


def test_kings_day_is_no_working_day() -> None:
    """Friday 24 April 2026 plus two working days: Monday 27 April is King's Day, so
    Tuesday 28 is the first and Wednesday 29 the second."""
    rows = [
        ev("wed", "Melding", "2026-04-24 09:00"),
        ev("wed", "Besluit", "2026-04-29 16:00"),
        ev("thu", "Melding", "2026-04-24 09:00"),
        ev("thu", "Besluit", "2026-04-30 09:00"),
    ]
    result = evaluate(rows, profile_with({**DEADLINE, "within": "2 werkdagen"}))
    assert judged(result) == {"wed": ("pass", ""), "thu": ("breach", "late")}
    assert values(result) == {"wed": 2.0, "thu": 3.0}


def test_working_days_skip_the_profiles_extra_closed_days() -> None:
    """The calendar's ``closed`` days count as holidays: with Tuesday 7 January 2025
    closed, two working days from Monday 6 January end on Thursday 9."""
    rows = [
        ev("a", "Melding", "2025-01-06 09:00"),
        ev("a", "Besluit", "2025-01-09 12:00"),
    ]
    criterion = {**DEADLINE, "within": "2 werkdagen"}
    plain = evaluate(rows, profile_with(criterion))
    assert judged(plain) == {"a": ("breach", "late")}
    assert values(plain) == {"a": 3.0}
    closed = evaluate(rows, profile_with(criterion, calendar={"closed": ["2025-01-07"]}))
    assert judged(closed) == {"a": ("pass", "")}
    assert values(closed) == {"a": 2.0}


def test_a_close_on_the_saturday_after_a_friday_deadline_is_late() -> None:
    """Three working days from Tuesday 7 January 2025 end on Friday 10; a close on
    Saturday 11 is after the deadline, although no working day passed in between. It
    counts as done on Monday 13: four working days, more than the term. A close on the
    Tuesday of the start counts zero."""
    rows = [
        ev("sat", "Melding", "2025-01-07 09:00"),
        ev("sat", "Besluit", "2025-01-11 10:00"),
        ev("same", "Melding", "2025-01-07 09:00"),
        ev("same", "Besluit", "2025-01-07 16:00"),
    ]
    result = evaluate(rows, profile_with({**DEADLINE, "within": "3 werkdagen"}))
    assert judged(result) == {"sat": ("breach", "late"), "same": ("pass", "")}
    values = result.cases.set_index("case_id")["value"]
    assert values["sat"] == 4
    assert values["same"] == 0


# -- a closing activity that never comes -----------------------------------------------


def missing_end_log() -> list[dict[str, Any]]:
    """Six cases against 'six weeks from Melding to Besluit' (deadline of a start on
    6 January: 17 February); the log ends on 1 April."""
    return [
        ev("in-time", "Melding", "2025-01-06 10:00"),
        ev("in-time", "Besluit", "2025-02-10 10:00"),
        ev("late", "Melding", "2025-01-06 10:00"),
        ev("late", "Besluit", "2025-02-20 10:00"),
        ev("ran-on", "Melding", "2025-01-06 10:00"),
        ev("ran-on", "Overig", "2025-03-01 10:00"),
        ev("withdrawn", "Melding", "2025-01-06 10:00"),
        ev("withdrawn", "Overig", "2025-01-20 10:00"),
        ev("open", "Melding", "2025-03-10 10:00"),  # deadline 21 April, after the log
        ev("open", "Overig", "2025-03-20 10:00"),
        ev("no-start", "Besluit", "2025-03-01 10:00"),
        ev("no-start", "Overig", "2025-04-01 10:00"),
    ]


def test_a_missing_closing_activity_is_a_breach_or_not_measurable() -> None:
    """Without a Besluit: running on past the deadline is a breach ('no end'); ending
    within the term while the log goes on is not measurable, and so is a term still
    running when the log ends, and a case without a Melding."""
    result = evaluate(missing_end_log(), profile_with({**DEADLINE, "within": "6 weeks"}))
    assert judged(result) == {
        "in-time": ("pass", ""),
        "late": ("breach", "late"),
        "ran-on": ("breach", "no end"),
        "withdrawn": ("not measurable", "ended within term"),
        "open": ("not measurable", "open at log end"),
        "no-start": ("not measurable", "no start"),
    }
    found = values(result)
    assert found["in-time"] == 5.0
    assert found["late"] == pytest.approx(45 / 7)
    for case in ("ran-on", "withdrawn", "open", "no-start"):
        assert np.isnan(found[case])
    # A window with no start keeps the month of the case's first event, so the trend
    # counts it among the not measurable cases of March.
    months = result.cases.set_index("case_id")["month"]
    assert months["no-start"] == "2025-03"
    assert months["in-time"] == "2025-01"
    march = result.trend().set_index("month").loc["2025-03"]
    assert (march["cases"], march["measured"]) == (2, 0)


def test_not_measurable_cases_are_left_out_of_the_compliance() -> None:
    """Compliance is passed / measured: one pass against two breaches, whatever the
    three cases that could not be measured; their reasons are counted in words."""
    result = evaluate(missing_end_log(), profile_with({**DEADLINE, "within": "6 weeks"}))
    row = card(result)["c"]
    assert (row["cases"], row["measured"], row["passed"], row["breached"]) == (6, 3, 1, 2)
    assert row["not_measurable"] == 3
    assert row["compliance"] == pytest.approx(1 / 3)
    assert row["median_value"] == pytest.approx((5 + 45 / 7) / 2)  # of the values known
    assert row["not_measurable_reasons"] == {
        "the case ended within the term without 'Besluit'": 1,
        "the term was still running when the log ends": 1,
        "no 'Melding' in the case": 1,
    }
    dutch = card(result, "nl")["c"]["not_measurable_reasons"]
    assert dutch == {
        "de zaak eindigde binnen de termijn zonder 'Besluit'": 1,
        "de termijn liep nog toen de log eindigt": 1,
        "geen 'Melding' in de zaak": 1,
    }
    criterion = result.criteria[0]
    assert result.explain(criterion, "no end") == "no 'Besluit' within the term; the case ran on"
    assert result.explain(criterion, "something else") == "something else"


def test_each_source_is_judged_against_its_own_log_end() -> None:
    """Two sources with a case 'a' each: the cases and their attributes stay apart, and a
    term is judged against the end of the case's own log, not the other's."""
    one = [
        ev("a", "Melding", "2025-01-06 09:00", scheme="Wmo"),
        ev("a", "Overig", "2025-01-10 09:00", scheme="Wmo"),
    ]
    two = [
        ev("a", "Melding", "2025-01-06 09:00", scheme="Jeugdwet"),
        ev("a", "Overig", "2025-01-10 09:00", scheme="Jeugdwet"),
        ev("b", "Overig", "2025-06-01 09:00", scheme="Wmo"),
    ]
    profile = profile_with(
        {**DEADLINE, "within": "2 weeks"},
        {
            **DEADLINE,
            "id": "w",
            "within": "2 weeks",
            "scope": {"attributes": {"case:scheme": "Wmo"}},
        },
    )
    with kp.open_store(":memory:") as store:
        first = kp.ingest_log(store, pd.DataFrame(one), name="one", privacy="off").source.source_id
        second = kp.ingest_log(store, pd.DataFrame(two), name="two", privacy="off").source.source_id
        result = evaluate_criteria(
            kp.load_events(store), profile=profile, store=store, blockers=False
        )
    cases = result.cases
    found = {
        (str(c), int(s), str(k)): (str(status), str(reason))
        for c, s, k, status, reason in zip(
            *(
                cases[name].tolist()
                for name in ("criterion", "source_id", "case_id", "status", "reason")
            ),
            strict=True,
        )
    }
    assert found == {
        ("c", first, "a"): ("not measurable", "open at log end"),
        ("c", second, "a"): ("not measurable", "ended within term"),
        ("c", second, "b"): ("not measurable", "no start"),
        ("w", first, "a"): ("not measurable", "open at log end"),
        ("w", second, "b"): ("not measurable", "no start"),
    }


# -- @start and @end --------------------------------------------------------------------


def test_a_deadline_from_start_to_end_waits_for_the_term_to_pass_in_the_log() -> None:
    """From a case's first to its last event within two weeks; the log ends on
    28 March. A case still within its term at the log's end may yet run on, so it is
    not measurable; one whose term passed within the log is judged."""
    rows = [
        ev("pass", "Melding", "2025-01-06 10:00"),
        ev("pass", "Besluit", "2025-01-20 16:00"),
        ev("late", "Melding", "2025-01-06 10:00"),
        ev("late", "Besluit", "2025-01-21 09:00"),
        ev("single", "Melding", "2025-01-10 10:00"),
        ev("short", "Melding", "2025-03-10 10:00"),  # deadline 24 March, within the log
        ev("short", "Besluit", "2025-03-12 10:00"),
        ev("open", "Melding", "2025-03-20 10:00"),  # deadline 3 April, after the log
        ev("open", "Besluit", "2025-03-25 10:00"),
        ev("last", "Melding", "2025-03-01 10:00"),  # deadline 15 March
        ev("last", "Overig", "2025-03-28 10:00"),  # the log's last event
    ]
    profile = profile_with(
        {"id": "c", "type": "deadline", "from": "@start", "to": "@end", "within": "2 weeks"}
    )
    result = evaluate(rows, profile)
    assert judged(result) == {
        "pass": ("pass", ""),
        "late": ("breach", "late"),
        "single": ("pass", ""),
        "short": ("pass", ""),
        "open": ("not measurable", "open at log end"),
        "last": ("breach", "late"),
    }
    found = values(result)
    assert (found["pass"], found["single"]) == (2.0, 0.0)
    assert found["short"] == pytest.approx(2 / 7)
    assert found["late"] == pytest.approx(15 / 7)
    assert found["last"] == pytest.approx(27 / 7)


def test_the_generic_profile_measures_the_lead_time() -> None:
    """The shipped generic profile's 'doorlooptijd' is eight weeks from first to last
    event, and works on a log whatever its activities are called."""
    rows = [
        ev("a", "Start", "2025-01-06 10:00"),
        ev("a", "Klaar", "2025-03-03 10:00"),  # 56 days: eight weeks exactly
        ev("b", "Start", "2025-01-06 10:00"),
        ev("b", "Klaar", "2025-03-04 10:00"),
        ev("c", "Start", "2025-05-01 10:00"),  # the log's last case: still open
        ev("c", "Klaar", "2025-05-02 10:00"),
    ]
    result = evaluate(rows, "generiek", criteria=["doorlooptijd"])
    assert judged(result) == {
        "a": ("pass", ""),
        "b": ("breach", "late"),
        "c": ("not measurable", "open at log end"),
    }


# -- first contact and response --------------------------------------------------------


def test_first_contact_behaves_as_a_deadline() -> None:
    """Five working days from Monday 6 January 2025 end on Monday 13; the first of the
    contact activities counts; none at all while the case runs on is a breach."""
    rows = [
        ev("a", "Melding ontvangen", "2025-01-06 09:00"),
        ev("a", "Keukentafelgesprek", "2025-01-13 14:00"),
        ev("b", "Signaal school", "2025-01-06 09:00"),
        ev("b", "Intake", "2025-01-14 09:00"),
        ev("b", "Keukentafelgesprek", "2025-01-20 09:00"),
        ev("c", "Melding ontvangen", "2025-01-06 09:00"),
        ev("c", "Overig", "2025-02-03 09:00"),
        ev("d", "Intake", "2025-01-06 09:00"),
    ]
    profile = profile_with(
        {
            "id": "contact",
            "type": "first_contact",
            "signal": ["Melding*", "Signaal*"],
            "contact": ["Intake", "Keukentafelgesprek"],
            "within": "5 werkdagen",
            "target": "90%",
        }
    )
    result = evaluate(rows, profile)
    assert judged(result) == {
        "a": ("pass", ""),
        "b": ("breach", "late"),
        "c": ("breach", "no end"),
        "d": ("not measurable", "no start"),
    }
    assert values(result)["a"] == 5.0
    assert values(result)["b"] == 6.0
    assert result.criteria[0].timed
    assert card(result)["contact"]["target"] == 0.9


RESPONSE = {
    "id": "retour",
    "type": "response",
    "when": "Toewijzing verzenden",
    "then": "Toewijzing retour",
    "within": "3 werkdagen",
}


def test_every_request_needs_its_answer_within_the_term() -> None:
    """Two messages in one case, the second answered after four working days: the
    case breaches with its worst pair. A reply before the request does not answer it;
    an unanswered request breaches once the case ran on past its term."""
    rows = [
        ev("one-late", "Toewijzing verzenden", "2025-01-06 09:00"),
        ev("one-late", "Toewijzing retour", "2025-01-08 09:00"),  # 2 working days
        ev("one-late", "Toewijzing verzenden", "2025-01-13 09:00"),
        ev("one-late", "Toewijzing retour", "2025-01-17 09:00"),  # 4 working days
        ev("in-time", "Toewijzing verzenden", "2025-01-06 09:00"),
        ev("in-time", "Toewijzing retour", "2025-01-09 17:00"),  # 3 working days
        ev("in-time", "Toewijzing verzenden", "2025-01-07 09:00"),
        ev("in-time", "Toewijzing retour", "2025-01-10 09:00"),  # 3 working days
        ev("unanswered", "Toewijzing verzenden", "2025-01-06 09:00"),
        ev("unanswered", "Toewijzing retour", "2025-01-07 09:00"),
        ev("unanswered", "Toewijzing verzenden", "2025-01-20 09:00"),
        ev("unanswered", "Overig", "2025-02-10 09:00"),
        ev("early-reply", "Toewijzing retour", "2025-01-03 09:00"),
        ev("early-reply", "Toewijzing verzenden", "2025-01-06 09:00"),
        ev("early-reply", "Overig", "2025-01-07 09:00"),
        ev("no-message", "Intake", "2025-01-06 09:00"),
    ]
    result = evaluate(rows, profile_with(RESPONSE))
    assert judged(result) == {
        "one-late": ("breach", "late"),
        "in-time": ("pass", ""),
        "unanswered": ("breach", "no end"),
        "early-reply": ("not measurable", "ended within term"),
        "no-message": ("not measurable", "no start"),
    }
    found = values(result)
    assert (found["one-late"], found["in-time"]) == (4.0, 3.0)
    # The window of a breach is that of its worst pair.
    start = column(result, "window_start_us")["one-late"]
    assert pd.Timestamp(start, unit="us", tz="UTC") == at("2025-01-13 09:00")


def test_a_response_in_time_only_passes() -> None:
    """A single request answered on the third working day passes."""
    rows = [
        ev("a", "Toewijzing verzenden", "2025-01-06 09:00"),
        ev("a", "Toewijzing retour", "2025-01-09 09:00"),
    ]
    result = evaluate(rows, profile_with(RESPONSE))
    assert judged(result) == {"a": ("pass", "")}
    assert card(result)["retour"]["compliance"] == 1.0


# -- precedence, existence, absence ----------------------------------------------------


def test_precedence_judges_only_cases_with_the_later_activity() -> None:
    """A network step before the first indication passes; one after it, or none,
    breaches; a case without an indication is outside the criterion."""
    rows = [
        ev("first", "Netwerkberaad", "2025-01-06 09:00"),
        ev("first", "Indicatie stellen", "2025-01-08 09:00"),
        ev("then", "Indicatie stellen", "2025-01-06 09:00"),
        ev("then", "Eigen kracht verkennen", "2025-01-08 09:00"),
        ev("then", "Indicatie stellen", "2025-01-10 09:00"),
        ev("never", "Indicatie stellen", "2025-01-06 09:00"),
        ev("out", "Netwerkberaad", "2025-01-06 09:00"),
    ]
    profile = profile_with(
        {
            "id": "p",
            "type": "precedence",
            "first": ["Netwerkberaad", "Eigen kracht*"],
            "then": "Indicatie stellen",
        }
    )
    result = evaluate(rows, profile)
    assert judged(result) == {
        "first": ("pass", ""),
        "then": ("breach", ""),
        "never": ("breach", ""),
    }
    assert card(result)["p"]["cases"] == 3


EXISTENCE = {"id": "e", "type": "existence", "activity": "Evaluatie"}
ABSENCE = {"id": "a", "type": "absence", "activity": "Bezwaar*"}


def closing_log() -> list[dict[str, Any]]:
    """Cases with and without Evaluatie, Bezwaar and Afsluiting."""
    return [
        ev("done", "Evaluatie", "2025-01-06 09:00"),
        ev("done", "Afsluiting", "2025-01-07 09:00"),
        ev("skipped", "Intake", "2025-01-06 09:00"),
        ev("skipped", "Afsluiting", "2025-01-07 09:00"),
        ev("open", "Intake", "2025-01-06 09:00"),
        ev("early", "Evaluatie", "2025-01-06 09:00"),
        ev("objected", "Bezwaar ingediend", "2025-01-06 09:00"),
        ev("objected", "Afsluiting", "2025-01-07 09:00"),
        ev("objecting", "Bezwaar ingediend", "2025-01-06 09:00"),
    ]


def test_existence_and_absence_without_a_closing_activity_judge_every_case() -> None:
    """Without ``closed_by`` a case passes or breaches on what it holds now."""
    result = evaluate(closing_log(), profile_with(EXISTENCE, ABSENCE))
    assert {k: v[0] for k, v in judged(result, "e").items()} == {
        "done": "pass",
        "skipped": "breach",
        "open": "breach",
        "early": "pass",
        "objected": "breach",
        "objecting": "breach",
    }
    assert {k: v[0] for k, v in judged(result, "a").items()} == {
        "done": "pass",
        "skipped": "pass",
        "open": "pass",
        "early": "pass",
        "objected": "breach",
        "objecting": "breach",
    }
    assert values(result, "e")["done"] == 1.0
    assert values(result, "e")["skipped"] == 0.0


def test_existence_and_absence_wait_for_the_case_to_close() -> None:
    """With ``closed_by``, a case that is still open and lacks the activity may yet
    get it (existence) or has not been shown free of it (absence): not measurable.
    An activity already present decides at once."""
    closed = {"closed_by": "Afsluiting"}
    result = evaluate(closing_log(), profile_with({**EXISTENCE, **closed}, {**ABSENCE, **closed}))
    assert judged(result, "e") == {
        "done": ("pass", ""),
        "skipped": ("breach", ""),
        "open": ("not measurable", "not closed"),
        "early": ("pass", ""),
        "objected": ("breach", ""),
        "objecting": ("not measurable", "not closed"),
    }
    assert judged(result, "a") == {
        "done": ("pass", ""),
        "skipped": ("pass", ""),
        "open": ("not measurable", "not closed"),
        "early": ("not measurable", "not closed"),
        "objected": ("breach", ""),
        "objecting": ("breach", ""),
    }
    reasons = card(result)["e"]["not_measurable_reasons"]
    assert reasons == {"the case is not closed yet ('Afsluiting')": 2}


# -- people: resources and handovers ---------------------------------------------------


def test_max_resources_per_case() -> None:
    """At most one person per case; ``activities`` picks the work that counts, and a
    case whose work names nobody is not measurable."""
    rows = [
        ev("one", "Intake", "2025-01-06 09:00", resource="Anouk"),
        ev("one", "Plan opstellen", "2025-01-07 09:00", resource="Anouk"),
        ev("two", "Intake", "2025-01-06 09:00", resource="Anouk"),
        ev("two", "Registreren melding", "2025-01-07 09:00", resource="Bram"),
        ev("nobody", "Intake", "2025-01-06 09:00"),
    ]
    any_work = {"id": "r", "type": "max_resources", "at_most": "1"}
    intake = {**any_work, "id": "r-intake", "activities": ["Intake", "Plan *"]}
    result = evaluate(rows, profile_with(any_work, intake))
    assert judged(result, "r") == {
        "one": ("pass", ""),
        "two": ("breach", "too many"),
        "nobody": ("not measurable", "no resource"),
    }
    assert values(result, "r")["two"] == 2.0
    assert {k: v[0] for k, v in judged(result, "r-intake").items()} == {
        "one": "pass",
        "two": "pass",
        "nobody": "not measurable",
    }


def test_max_resources_per_household_breaches_every_case_of_the_household() -> None:
    """Two cases of one household handled by two people breach both; a case without
    a household is not measurable; so is every case when no case has one."""
    rows = [
        ev("h1-a", "Intake", "2025-01-06 09:00", resource="Anouk", household="H1"),
        ev("h1-b", "Intake", "2025-01-07 09:00", resource="Bram", household="H1"),
        ev("h2", "Intake", "2025-01-06 09:00", resource="Chris", household="H2"),
        ev("h2", "Plan opstellen", "2025-01-08 09:00", resource="Chris", household="H2"),
        ev("none", "Intake", "2025-01-06 09:00", resource="Anouk"),
    ]
    household = {"id": "h", "type": "max_resources", "at_most": "1", "per": "household"}
    elsewhere = {**household, "id": "g", "household": "case:gezin"}
    result = evaluate(rows, profile_with(household, elsewhere))
    assert judged(result, "h") == {
        "h1-a": ("breach", "too many"),
        "h1-b": ("breach", "too many"),
        "h2": ("pass", ""),
        "none": ("not measurable", "no attribute"),
    }
    assert values(result, "h")["h1-a"] == 2.0
    assert values(result, "h")["h2"] == 1.0
    assert set(judged(result, "g").values()) == {("not measurable", "no attribute")}
    # Without the case attributes nothing can be said, and a note says why.
    blind = evaluate(rows, profile_with(household), with_store=False)
    assert set(judged(blind).values()) == {("not measurable", "no attribute")}
    assert any("no case attributes" in note for note in blind.notes)


def test_max_handovers_counts_changes_of_person_in_time_order() -> None:
    """Anouk, Bram, Anouk is two handovers (the rows come out of order); Anouk,
    Anouk, Bram is one; one person alone none."""
    rows = [
        ev("back", "Intake", "2025-01-06 09:00", resource="Anouk"),
        ev("back", "Evaluatie", "2025-01-08 09:00", resource="Anouk"),
        ev("back", "Onderzoek", "2025-01-07 09:00", resource="Bram"),
        ev("once", "Intake", "2025-01-06 09:00", resource="Anouk"),
        ev("once", "Onderzoek", "2025-01-07 09:00", resource="Anouk"),
        ev("once", "Evaluatie", "2025-01-08 09:00", resource="Bram"),
        ev("alone", "Intake", "2025-01-06 09:00", resource="Anouk"),
        ev("nobody", "Intake", "2025-01-06 09:00"),
    ]
    result = evaluate(rows, profile_with({"id": "o", "type": "max_handovers", "at_most": "1"}))
    assert judged(result) == {
        "back": ("breach", "too many"),
        "once": ("pass", ""),
        "alone": ("pass", ""),
        "nobody": ("not measurable", "no resource"),
    }
    assert values(result)["back"] == 2.0
    assert values(result)["once"] == 1.0
    assert values(result)["alone"] == 0.0


def test_the_profiles_work_class_is_the_default_work() -> None:
    """Without ``activities``, only the steps the profile classes as work count when
    it classes any: a registration by someone else does not add a person."""
    rows = [
        ev("a", "Intake", "2025-01-06 09:00", resource="Anouk"),
        ev("a", "Registreren melding", "2025-01-06 10:00", resource="Bram"),
    ]
    criterion = {"id": "r", "type": "max_resources", "at_most": "1"}
    classed = profile_with(criterion, activities={"work": ["Intake"], "system": ["Registreren *"]})
    assert judged(evaluate(rows, classed)) == {"a": ("pass", "")}
    assert judged(evaluate(rows, profile_with(criterion))) == {"a": ("breach", "too many")}


# -- shares --------------------------------------------------------------------------------


def referrer_log() -> list[dict[str, Any]]:
    """Two cases referred by a GP, one by a youth doctor, one without a referrer."""
    return [
        ev("gp-1", "Melding", "2025-01-06 09:00", referrer="huisarts"),
        ev("gp-2", "Melding", "2025-01-07 09:00", referrer="Huisarts"),
        ev("jgz", "Melding", "2025-01-08 09:00", referrer="jeugdarts"),
        ev("jgz", "Toewijzing verzenden", "2025-01-09 09:00", referrer="jeugdarts"),
        ev("unknown", "Melding", "2025-01-08 09:00"),
    ]


def test_a_share_on_an_attribute_bounds_the_share_of_cases() -> None:
    """Two of three known referrers are GPs (case ignored): at most 50% is not met, at
    least 60% is; a case without a referrer is not measurable."""
    condition = {"attribute": "case:referrer", "in": ["huisarts"]}
    at_most = {"id": "most", "type": "share", "condition": condition, "at_most": "50%"}
    at_least = {"id": "least", "type": "share", "condition": condition, "at_least": "0.6"}
    result = evaluate(referrer_log(), profile_with(at_most, at_least))
    assert judged(result, "most") == {
        "gp-1": ("pass", ""),
        "gp-2": ("pass", ""),
        "jgz": ("breach", ""),
        "unknown": ("not measurable", "no attribute"),
    }
    rows = card(result)
    assert rows["most"]["compliance"] == pytest.approx(2 / 3)
    assert (rows["most"]["direction"], rows["most"]["target"], rows["most"]["met"]) == (
        "at_most",
        0.5,
        False,
    )
    assert (rows["least"]["direction"], rows["least"]["target"], rows["least"]["met"]) == (
        "at_least",
        0.6,
        True,
    )
    assert not result.criteria[0].per_case
    assert rows["most"]["not_measurable_reasons"] == {"the case has no case:referrer": 1}


def test_a_share_on_an_activity_and_on_an_event_attribute() -> None:
    """The share of cases holding an activity has no unmeasurable case; an event
    attribute (its first value in the case) serves as well as a case attribute."""
    rows = [
        *referrer_log(),
        ev("gp-1", "Afsluiting", "2025-02-01 09:00", reden="eigen_netwerk"),
        ev("gp-2", "Afsluiting", "2025-02-01 09:00", reden="maatwerk"),
    ]
    activity = {
        "id": "maatwerk",
        "type": "share",
        "condition": {"activity": ["Toewijzing *"]},
        "at_most": "60%",
    }
    reason = {
        "id": "afgeschaald",
        "type": "share",
        "condition": {"attribute": "reden", "in": ["eigen_netwerk", "sociale_basis"]},
        "at_least": "30%",
        "scope": {"has": ["Afsluiting"]},
    }
    result = evaluate(rows, profile_with(activity, reason))
    assert {k: v[0] for k, v in judged(result, "maatwerk").items()} == {
        "gp-1": "breach",
        "gp-2": "breach",
        "jgz": "pass",
        "unknown": "breach",
    }
    rows_ = card(result)
    assert rows_["maatwerk"]["compliance"] == 0.25
    assert rows_["maatwerk"]["met"] is True
    assert judged(result, "afgeschaald") == {"gp-1": ("pass", ""), "gp-2": ("breach", "")}
    assert rows_["afgeschaald"]["met"] is True


def test_a_share_on_an_attribute_no_case_has_is_not_measurable() -> None:
    """An attribute the log lacks leaves every case unmeasured and the target open."""
    condition = {"attribute": "case:verwijzer", "in": ["huisarts"]}
    result = evaluate(
        referrer_log(),
        profile_with({"id": "s", "type": "share", "condition": condition, "at_most": "50%"}),
    )
    assert set(judged(result).values()) == {("not measurable", "no attribute")}
    row = card(result)["s"]
    assert row["measured"] == 0
    assert np.isnan(row["compliance"])
    assert row["met"] is None


# -- scope -----------------------------------------------------------------------------


def test_scope_on_a_case_attribute_keeps_its_values_and_flags_missing_ones() -> None:
    """Only Wmo cases (case ignored) are in scope; a case without a scheme might be
    one, so it is kept as not measurable."""
    rows = [
        ev("wmo", "Melding", "2025-01-06 09:00", scheme="Wmo"),
        ev("wmo", "Besluit", "2025-01-07 09:00", scheme="Wmo"),
        ev("wmo-lower", "Melding", "2025-01-06 09:00", scheme="wmo"),
        ev("wmo-lower", "Besluit", "2025-01-27 09:00", scheme="wmo"),
        ev("jeugd", "Melding", "2025-01-06 09:00", scheme="Jeugdwet"),
        ev("jeugd", "Besluit", "2025-01-07 09:00", scheme="Jeugdwet"),
        ev("unknown", "Melding", "2025-01-06 09:00"),
        ev("unknown", "Besluit", "2025-01-07 09:00"),
    ]
    criterion = {
        **DEADLINE,
        "within": "2 weeks",
        "scope": {"attributes": {"case:scheme": ["Wmo"]}},
    }
    result = evaluate(rows, profile_with(criterion))
    assert judged(result) == {
        "wmo": ("pass", ""),
        "wmo-lower": ("breach", "late"),
        "unknown": ("not measurable", "no attribute"),
    }


def test_scope_on_activities_held_and_on_dates() -> None:
    """``has`` keeps cases holding an activity; ``since`` (inclusive) and ``until``
    (exclusive) look at a deadline's start, else at the case's first event."""
    rows = [
        ev("jan", "Melding", "2025-01-31 23:30"),  # 22:30 UTC: still January here
        ev("jan", "Besluit", "2025-02-03 09:00"),
        ev("feb", "Intake", "2025-01-20 09:00"),
        ev("feb", "Melding", "2025-02-01 00:30"),  # 23:30 UTC on 31 January
        ev("feb", "Besluit", "2025-02-03 09:00"),
        ev("feb", "Afsluiting", "2025-02-04 09:00"),
        ev("mar", "Melding", "2025-03-01 09:00"),
        ev("mar", "Besluit", "2025-03-03 09:00"),
        ev("mar", "Afsluiting", "2025-03-04 09:00"),
    ]
    dated = {"since": "2025-02-01", "until": "2025-03-01"}
    deadline = {**DEADLINE, "id": "d", "within": "2 weeks", "scope": dated}
    existence = {"id": "e", "type": "existence", "activity": "Afsluiting", "scope": dated}
    held = {**DEADLINE, "id": "h", "within": "2 weeks", "scope": {"has": ["Afsluit*"]}}
    result = evaluate(rows, profile_with(deadline, existence, held))
    assert set(judged(result, "d")) == {"feb"}
    assert set(judged(result, "e")) == set()  # feb's first event is in January
    assert set(judged(result, "h")) == {"feb", "mar"}
    month = result.cases.set_index(["criterion", "case_id"]).loc[("d", "feb"), "month"]
    assert month == "2025-02"


def test_scope_on_teams_uses_the_case_holder() -> None:
    """``teams`` keeps the cases whose holder (the first to do work) is in them."""
    rows = [
        ev("a", "Melding", "2025-01-06 09:00", resource="Bram"),
        ev("a", "Intake", "2025-01-07 09:00", resource="Anouk"),
        ev("b", "Melding", "2025-01-06 09:00", resource="Anouk"),
        ev("b", "Intake", "2025-01-07 09:00", resource="Bram"),
    ]
    criterion = {"id": "e", "type": "existence", "activity": "Intake"}
    profile = profile_with(
        {**criterion, "scope": {"teams": ["Wmo-loket"]}},
        activities={"client": ["Melding"], "work": ["Intake"]},
        teams={"Wmo-loket": {"members": ["Anouk"]}, "Jeugd": {"members": ["Bram"]}},
    )
    result = evaluate(rows, profile)
    assert set(judged(result)) == {"a"}


# -- the parser and the profile --------------------------------------------------------


def test_parse_criteria_reads_every_template() -> None:
    """Every template with its keys, targets as percentages or fractions, terms in
    Dutch or English, names as one or a list."""
    found = parse_criteria(
        [
            {**DEADLINE, "within": "8 weken", "target": "95%", "reference": "Awb 4:13"},
            {"id": "f", "type": "first_contact", "signal": "Melding", "contact": "Intake",
             "within": "5 wd"},
            {**RESPONSE, "target": "0.9"},
            {"id": "p", "type": "precedence", "first": ["A", "B*"], "then": "C"},
            {"id": "e", "type": "existence", "activity": "E", "closed_by": ["Z"]},
            {"id": "n", "type": "absence", "activity": "N"},
            {"id": "r", "type": "max_resources", "at_most": "2", "per": "household",
             "household": "case:gezin"},
            {"id": "o", "type": "max_handovers", "at_most": "0", "activities": ["Intake"]},
            {"id": "s", "type": "share", "condition": {"attribute": "x", "in": ["1", "2"]},
             "at_most": "40%", "scope": {"attributes": {"case:scheme": "Wmo"},
                                         "teams": "T", "since": "2025-01-01"}},
        ]
    )  # fmt: skip
    by_id = {c.id: c for c in found}
    assert [c.kind for c in found] == [
        "deadline", "first_contact", "response", "precedence", "existence", "absence",
        "max_resources", "max_handovers", "share",
    ]  # fmt: skip
    c = by_id["c"]
    assert (c.start, c.end, c.term, c.target, c.reference, c.name) == (
        ("Melding",),
        ("Besluit",),
        Term(8.0, "weeks"),
        0.95,
        "Awb 4:13",
        "c",
    )
    assert by_id["f"].term == Term(5.0, "working days")
    assert by_id["retour"].target == 0.9
    assert by_id["p"].start == ("A", "B*")
    assert by_id["p"].term is None
    assert (by_id["e"].activities, by_id["e"].closed_by) == (("E",), ("Z",))
    assert by_id["n"].target == 1.0
    r = by_id["r"]
    assert (r.limit, r.per, r.household) == (2, "household", "case:gezin")
    assert (by_id["o"].limit, by_id["o"].activities) == (0, ("Intake",))
    s = by_id["s"]
    assert (s.direction, s.target) == ("at_most", 0.4)
    assert s.condition == Condition(attribute="x", values=("1", "2"))
    assert s.scope == Scope(
        attributes=(("case:scheme", ("Wmo",)),), teams=("T",), since=date(2025, 1, 1)
    )
    assert [c.timed for c in found] == [True, True, True] + [False] * 6
    assert parse_criteria(None) == () == parse_criteria("~")


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("6 weeks", Term(6.0, "weeks")),
        ("10 werkdagen", Term(10.0, "working days")),
        ("1 working day", Term(1.0, "working days")),
        ("36 uur", Term(36.0, "hours")),
        ("1,5 uur", Term(1.5, "hours")),
        ("  3 Dagen ", Term(3.0, "days")),
        ("2w", Term(2.0, "weeks")),
    ],
)
def test_terms_in_dutch_and_english(text: str, term: Term) -> None:
    """A number and a unit, in either language; hours may be fractional."""
    assert Term.parse(text) == term


def test_a_term_in_days_is_whole_and_prints_plainly() -> None:
    """Days and weeks count whole; ``days`` gives a week as seven."""
    with pytest.raises(ValueError, match="whole numbers"):
        Term.parse("1.5 days")
    with pytest.raises(ValueError, match="not a term"):
        Term.parse("six weeks")
    assert str(Term.parse("6 weeks")) == "6 weeks"
    assert str(Term.parse("1,5 uur")) == "1.5 hours"
    assert Term.parse("6 weeks").days == 42
    assert Term.parse("10 werkdagen").days == 10


def criteria_error(*criteria: Any) -> str:
    """The message of the ProfileError a profile with these criteria raises."""
    with pytest.raises(ProfileError) as caught:
        Profile.from_mapping({"name": "t", "criteria": list(criteria)})
    return str(caught.value)


@pytest.mark.parametrize(
    ("criteria", "place", "words"),
    [
        ([{"id": "c", "type": "deadlin"}], "criteria → 0 → type", "unknown type 'deadlin'"),
        (
            [{**DEADLINE, "within": "6 weeks", "wihtin": "6 weeks"}],
            "criteria → 0 → wihtin",
            "not a key of a deadline criterion",
        ),
        ([{**DEADLINE, "within": "6 parsecs"}], "criteria → 0 → within", "is not a term"),
        ([{**DEADLINE, "within": "6 weeks", "target": "150%"}], "criteria → 0 → target", "150%"),
        ([{**DEADLINE, "within": "6 weeks", "target": "veel"}], "criteria → 0 → target", "share"),
        (
            [{**DEADLINE, "within": "6 weeks"}, {**DEADLINE, "within": "2 weeks"}],
            "criteria → 1 → id",
            "used twice",
        ),
        (
            [{"id": "s", "type": "share", "condition": {"activity": "A"}}],
            "criteria → 0",
            "needs one target",
        ),
        (
            [{"id": "s", "type": "share", "condition": {"activity": "A"}, "at_least": "1%",
              "at_most": "2%"}],
            "criteria → 0",
            "needs one target",
        ),
        (
            [{"id": "s", "type": "share", "condition": {"activity": "A", "attribute": "x"},
              "at_least": "1%"}],
            "criteria → 0 → condition",
            "not both",
        ),
        ([{**DEADLINE, "within": "6 weeks", "from": []}], "criteria → 0 → from", "missing"),
        ([{"type": "absence", "activity": "A"}], "criteria → 0 → id", "missing"),
        (
            [{"id": "r", "type": "max_resources", "at_most": "een"}],
            "criteria → 0 → at_most",
            "whole number",
        ),
        (
            [{"id": "r", "type": "max_resources", "at_most": "1", "per": "team"}],
            "criteria → 0 → per",
            "'case' or 'household'",
        ),
        (
            [{**DEADLINE, "within": "6 weeks", "scope": {"since": "1-2-2025"}}],
            "criteria → 0 → scope → since",
            "not a date",
        ),
        (
            [{**DEADLINE, "within": "6 weeks", "scope": {"team": ["T"]}}],
            "criteria → 0 → scope → team",
            "use attributes, teams",
        ),
        ({"id": "c"}, "criteria", "expected a list of criteria"),
        (["c"], "criteria → 0", "expected a criterion"),
    ],
)  # fmt: skip
def test_a_wrong_criterion_is_refused_with_its_place(criteria: Any, place: str, words: str) -> None:
    """Read through the profile, each mistake is a ProfileError naming where it is."""
    if isinstance(criteria, dict):
        with pytest.raises(ProfileError) as caught:
            Profile.from_mapping({"name": "t", "criteria": criteria})
        message = str(caught.value)
    else:
        message = criteria_error(*criteria)
    assert message.startswith(f"{place}: "), message
    assert words in message


def test_parse_criteria_raises_a_spec_error_with_the_place() -> None:
    """Used alone, the parser says where as a tuple; the profile turns it into text."""
    with pytest.raises(SpecError) as caught:
        parse_criteria([{**DEADLINE, "within": "6 weeks"}, {**DEADLINE, "within": "6 parsecs"}])
    assert caught.value.where == ("criteria", 1, "within")
    assert isinstance(caught.value, ValueError)


def test_read_profile_names_the_line_of_a_wrong_criterion(tmp_path: Path) -> None:
    """A YAML file's mistake is named by file, line, column and place."""
    path = tmp_path / "profiel.yaml"
    path.write_text(
        "name: Proef\n"
        "criteria:\n"
        "  - id: c\n"
        "    type: deadline\n"
        "    from: Melding\n"
        "    to: Besluit\n"
        "    within: 6 parsecs\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as caught:
        read_profile(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 7" in message
    assert "criteria → 0 → within" in message
    assert "'6 parsecs' is not a term" in message


def test_read_profile_reads_a_yaml_criteria_section(tmp_path: Path) -> None:
    """Numbers and dates in YAML arrive as text and are read as such."""
    path = tmp_path / "profiel.yaml"
    path.write_text(
        "name: Proef\n"
        "criteria:\n"
        "  - {id: c, type: deadline, from: Melding, to: Besluit, within: 10 werkdagen,\n"
        "     target: 0.95, scope: {since: 2025-01-01}}\n"
        "  - {id: r, type: max_resources, at_most: 1}\n",
        encoding="utf-8",
    )
    found = read_profile(path).criteria
    assert [c.id for c in found] == ["c", "r"]
    assert found[0].term == Term(10.0, "working days")
    assert found[0].target == 0.95
    assert found[0].scope.since == date(2025, 1, 1)
    assert found[1].limit == 1


def test_the_shipped_profiles_hold_their_criteria() -> None:
    """Both shipped profiles parse; the social-domain one holds every template."""
    social = read_profile("sociaal-domein").criteria
    assert [c.id for c in social] == [
        "wmo-onderzoek",
        "wmo-beschikking",
        "jeugd-beslissing",
        "bezwaar-beslissing",
        "eerste-contact",
        "toewijzing-retour",
        "eigen-kracht-eerst",
        "een-regisseur",
        "overdrachten",
        "afgeschaald-sociale-basis",
        "maatwerk-aandeel",
        "medische-verwijzers",
        "evaluatie",
    ]
    assert {c.kind for c in social} == {
        "deadline", "first_contact", "response", "precedence", "existence",
        "max_resources", "max_handovers", "share",
    }  # fmt: skip
    assert all(c.reference for c in social)
    generic = read_profile("generiek").criteria
    assert [c.id for c in generic] == ["doorlooptijd", "behandelaars", "overdrachten"]
    assert generic[0].start == ("@start",)
    assert generic[0].end == ("@end",)


def test_choosing_criteria_by_id_or_as_objects() -> None:
    """``criteria=`` takes the profile's ids or criteria of one's own; an unknown id, or
    a profile without criteria, is an AnalysisError."""
    rows = [ev("a", "Melding", "2025-01-06 09:00"), ev("a", "Besluit", "2025-01-07 09:00")]
    profile = profile_with(
        {**DEADLINE, "within": "1 day"}, {**DEADLINE, "id": "d", "within": "0 days"}
    )
    assert [c.id for c in evaluate(rows, profile, criteria=["d"]).criteria] == ["d"]
    own = Criterion(id="x", name="x", kind="existence", activities=("Besluit",))
    chosen = evaluate(rows, profile, criteria=[own, "c"])
    assert [c.id for c in chosen.criteria] == ["x", "c"]
    assert judged(chosen, "x") == {"a": ("pass", "")}
    with pytest.raises(AnalysisError, match="No criterion 'zz'"):
        evaluate(rows, profile, criteria=["zz"])
    with pytest.raises(AnalysisError, match="has no criteria"):
        evaluate(rows, Profile.from_mapping({"name": "leeg"}))


# -- a property over random logs -------------------------------------------------------

_T0 = datetime(2025, 3, 1, tzinfo=UTC)  # both daylight-saving changes lie ahead
_TERMS = ("3 days", "2 weeks", "5 working days", "36 hours")


@st.composite
def _random_cases(draw: st.DrawFn) -> list[tuple[int | None, int | None, int | None]]:
    """Per case, minutes after _T0 of its Melding, its Besluit and another step
    (None: absent); a Besluit comes at or after its Melding."""
    cases = []
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 240 * 24 * 60))
        melding = draw(st.one_of(st.none(), st.just(start)))
        gap = draw(st.one_of(st.none(), st.integers(0, 40 * 24 * 60)))
        other = draw(st.one_of(st.none(), st.integers(0, 60 * 24 * 60)))
        besluit = None if gap is None else start + gap
        cases.append((melding, besluit, None if other is None else start + other))
    return cases


def _reference(
    term: Term, start: datetime, end: datetime | None, last: datetime, log_end: datetime
) -> tuple[str, str]:
    """A deadline judged by hand, day by day (the oracle for the property)."""
    calendar = WorkCalendar.office_hours()

    def day(moment: datetime) -> date:
        return pd.Timestamp(moment).tz_convert(TZ).date()

    if term.unit == "hours":
        limit = start + timedelta(hours=term.amount)

        def within(moment: datetime) -> bool:
            return moment <= limit
    else:
        first = day(start)
        if term.unit == "working days":
            shut = set(calendar.closed_days(first, first + timedelta(days=60)))
            count, last_day = 0, first
            while count < term.days:
                last_day += timedelta(days=1)
                if last_day.weekday() < 5 and last_day not in shut:
                    count += 1
        else:
            last_day = first + timedelta(days=term.days)

        def within(moment: datetime) -> bool:
            return day(moment) <= last_day

    if end is not None:
        return ("pass", "") if within(end) else ("breach", "late")
    if not within(last):
        return ("breach", "no end")
    if not within(log_end):
        return ("not measurable", "ended within term")
    return ("not measurable", "open at log end")


@settings(max_examples=40, deadline=None)
@given(cases=_random_cases(), term=st.sampled_from(_TERMS))
def test_every_case_gets_one_status_as_judged_by_hand(
    cases: list[tuple[int | None, int | None, int | None]], term: str
) -> None:
    """On random logs (across both daylight-saving changes), each case has one status
    per criterion, equal to a day-by-day judgement; the scorecard adds up."""
    rows = []
    for i, steps in enumerate(cases):
        for activity, minutes in zip(("Melding", "Besluit", "Overig"), steps, strict=True):
            if minutes is not None:
                rows.append(ev(f"z{i}", activity, pd.Timestamp(_T0 + timedelta(minutes=minutes))))
    if not rows:
        return
    other = {**DEADLINE, "id": "d", "within": "10 werkdagen"}
    result = evaluate(rows, profile_with({**DEADLINE, "within": term}, other))
    present = {r["case:concept:name"] for r in rows}
    for criterion in ("c", "d"):
        mine = result.cases[result.cases["criterion"] == criterion]
        assert sorted(mine["case_id"]) == sorted(present)
        assert set(mine["status"]) <= set(STATUSES)
    log_end = max(r["time:timestamp"] for r in rows).to_pydatetime()
    parsed = Term.parse(term)
    for i, (melding, besluit, other_step) in enumerate(cases):
        case = f"z{i}"
        if case not in present:
            continue
        moments = [
            _T0 + timedelta(minutes=m) for m in (melding, besluit, other_step) if m is not None
        ]
        expected = (
            ("not measurable", "no start")
            if melding is None
            else _reference(
                parsed,
                _T0 + timedelta(minutes=melding),
                None if besluit is None else _T0 + timedelta(minutes=besluit),
                max(moments),
                log_end,
            )
        )
        assert judged(result, "c")[case] == expected
    scorecard = result.scorecard()
    assert (
        scorecard["passed"] + scorecard["breached"] + scorecard["not_measurable"]
        == scorecard["cases"]
    ).all()
    assert (scorecard["measured"] == scorecard["passed"] + scorecard["breached"]).all()
    known = scorecard["compliance"].dropna()
    assert ((known >= 0) & (known <= 1)).all()
    assert scorecard.loc[scorecard["measured"] == 0, "compliance"].isna().all()


# -- linked to blockers on a simulation ------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> CriteriaResult:
    """The sociaal-domein criteria on four months of the weekly-meeting scenario."""
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "team-meeting", seed=1, overrides=["days=120"])
        events = kp.load_events(store)
        groups = kp.read_resource_groups(store, attribute="org:group")
        return evaluate_criteria(
            events, profile="sociaal-domein", store=store, blockers=True, groups=groups
        )


def test_breaches_of_a_decision_term_are_traced_to_the_weekly_meeting(
    simulated: CriteriaResult,
) -> None:
    """The meeting the scenario plants is on the path of breaches of a decision term,
    and removing a wait never lowers the compliance."""
    links = simulated.links
    assert simulated.blockers is not None
    decisions = links[links["criterion"].isin(["jeugd-beslissing", "wmo-beschikking"])]
    meeting = decisions[decisions["activity"] == "Multidisciplinair overleg"]
    assert not meeting.empty
    assert set(meeting["category"]) == {"protocol"}
    assert (links["compliance_without"] >= links["compliance"] - 1e-12).all()
    timed = links[links["resolved"].notna()]
    assert (timed["resolved"] <= timed["breaches"]).all()
    assert (links["breaches"] >= 1).all()
    cardinal = card(simulated)
    for row in links.to_dict("records"):
        assert row["breaches"] <= cardinal[str(row["criterion"])]["breached"]
        assert row["compliance"] == pytest.approx(cardinal[str(row["criterion"])]["compliance"])
    # Every breach traced to a blocker is a breached case of that criterion.
    breached = simulated.cases[simulated.cases["status"] == "breach"]
    keys = set(zip(breached["criterion"], breached["source_id"], breached["case_id"], strict=True))
    traced = simulated.breach_blockers
    assert not traced.empty
    assert (
        set(zip(traced["criterion"], traced["source_id"], traced["case_id"], strict=True)) <= keys
    )
    assert (traced["seconds"] > 0).all()


def test_a_wait_that_explains_breaches_is_named_before_one_that_does_not() -> None:
    """On half a year of the waiting-list scenario, most late first contacts also
    waited for the client, but passing cases wait for the client more often still
    (lift below 1): the waiting list (steering) is named first, although removing the
    client's wait would resolve a few more breaches."""
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "waiting-list", seed=1, overrides=["days=180"])
        result = evaluate_criteria(
            kp.load_events(store),
            profile="sociaal-domein",
            criteria=["eerste-contact"],
            store=store,
            groups=kp.read_resource_groups(store, attribute="org:group"),
        )
    links = result.links
    assert links.iloc[0]["category"] == "steering"
    client = links[links["category"] == "client"]
    assert not client.empty
    assert (client["lift"] < 1).all()
    assert client["resolved"].max() > links.iloc[0]["resolved"]
    # Every wait with a lift of 1 or more comes before every one below 1.
    explains = (links["lift"] >= 1).to_numpy()
    assert not (np.diff(explains.astype(int)) > 0).any()
    first = result.summary("en")[0]
    assert "(steering)" in first
    assert "client" not in first.split("breaches", 1)[1]


def test_the_simulation_scorecard_adds_up(simulated: CriteriaResult) -> None:
    """Every criterion of the profile is judged; the counts add up per criterion."""
    scorecard = simulated.scorecard()
    assert list(scorecard["criterion"]) == [c.id for c in simulated.criteria]
    assert (scorecard["measured"] > 0).all()
    assert (
        scorecard["passed"] + scorecard["breached"] + scorecard["not_measurable"]
        == scorecard["cases"]
    ).all()
    assert len(simulated.summary("nl")) == len(simulated.criteria)


# -- levels: professionals and teams ---------------------------------------------------


def test_a_pseudonym_is_stable_per_key_and_differs_across_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same name and key give the same pseudonym; another name or key another."""
    anouk = pseudonym("Anouk", key="sleutel")
    assert anouk == pseudonym("Anouk", key="sleutel")
    assert anouk == pseudonym("Anouk", key=b"sleutel")
    assert re.fullmatch(r"medewerker-[0-9a-f]{8}", anouk)
    assert anouk != pseudonym("Bram", key="sleutel")
    assert anouk != pseudonym("Anouk", key="andere sleutel")
    monkeypatch.setenv("KNELPUNT_PSEUDONYM_KEY", "sleutel")
    assert pseudonym("Anouk") == anouk
    monkeypatch.delenv("KNELPUNT_PSEUDONYM_KEY")
    assert pseudonym("Anouk") == pseudonym("Anouk")  # the session's own key


def holder_log() -> list[dict[str, Any]]:
    """Anouk holds a and b (one passes, one breaches), Bram holds c; d has no one."""
    return [
        ev("a", "Melding", "2025-01-06 09:00", resource="Bram"),
        ev("a", "Intake", "2025-01-07 09:00", resource="Anouk"),
        ev("a", "Besluit", "2025-01-08 09:00", resource="Bram"),
        ev("b", "Melding", "2025-01-06 09:00", resource="Bram"),
        ev("b", "Intake", "2025-01-07 09:00", resource="Anouk"),
        ev("b", "Besluit", "2025-02-28 09:00", resource="Bram"),
        ev("c", "Melding", "2025-01-06 09:00"),
        ev("c", "Intake", "2025-01-07 09:00", resource="Bram"),
        ev("c", "Besluit", "2025-01-08 09:00"),
        ev("d", "Melding", "2025-01-06 09:00"),
        ev("d", "Besluit", "2025-01-08 09:00"),
    ]


HOLDER_PROFILE = {
    "activities": {"client": ["Melding"], "work": ["Intake"], "protocol": ["Besluit"]},
}


def test_by_professional_shows_pseudonyms_unless_asked_otherwise() -> None:
    """The case holder is who does its first work (Intake), under a pseudonym."""
    profile = profile_with({**DEADLINE, "within": "2 weeks"}, **HOLDER_PROFILE)
    hidden = evaluate(holder_log(), profile, key="k").by("professional")
    anouk, bram = pseudonym("Anouk", key="k"), pseudonym("Bram", key="k")
    rows = {r.professional: r for r in hidden.itertuples()}
    assert set(rows) == {anouk, bram, "(unknown)"}
    assert (rows[anouk].cases, rows[anouk].measured, rows[anouk].passed) == (2, 2, 1)
    assert rows[anouk].compliance == 0.5
    assert (rows[bram].cases, rows[bram].compliance) == (1, 1.0)
    assert "Anouk" not in hidden.to_string()
    plain = evaluate(holder_log(), profile, pseudonymise=False).by("professional")
    assert set(plain["professional"]) == {"Anouk", "Bram", "(unknown)"}


def test_by_team_uses_the_groups_and_the_profiles_teams_first() -> None:
    """Teams come from ``groups`` (say, the log's org:group), the profile's own teams
    taking precedence; a case without a holder is in no team."""
    criterion = {**DEADLINE, "within": "2 weeks"}
    groups = {"Anouk": "Wmo-loket", "Bram": "Jeugd"}
    by_groups = evaluate(holder_log(), profile_with(criterion, **HOLDER_PROFILE), groups=groups)
    teams = by_groups.by("team").set_index("team")
    assert set(teams.index) == {"Wmo-loket", "Jeugd", "(unknown)"}
    assert teams.loc["Wmo-loket", "compliance"] == 0.5
    assert teams.loc["Jeugd", "compliance"] == 1.0
    assert teams.loc["(unknown)", "cases"] == 1
    own = profile_with(criterion, **HOLDER_PROFILE, teams={"Sociaal team": {"members": ["Anouk"]}})
    by_profile = evaluate(holder_log(), own, groups=groups).by("team")
    assert set(by_profile["team"]) == {"Sociaal team", "Jeugd", "(unknown)"}
    with pytest.raises(AnalysisError, match="not 'afdeling'"):
        by_groups.by("afdeling")  # type: ignore[arg-type]


def test_by_month_and_source() -> None:
    """The month is that of the window's start; the trend is compliance per month."""
    profile = profile_with({**DEADLINE, "within": "2 weeks"}, **HOLDER_PROFILE)
    result = evaluate(holder_log(), profile)
    months = result.trend()
    assert list(months["month"]) == ["2025-01"]
    assert months["cases"].iloc[0] == 4
    assert result.by("source")["cases"].sum() == 4


# -- summaries -------------------------------------------------------------------------


def test_the_summary_has_a_line_per_criterion_with_the_compliance() -> None:
    """In Dutch and English, each criterion in plain words with its compliance as a
    percentage, its target and what could not be measured."""
    rows = [
        *holder_log(),
        ev("e", "Overig", "2025-01-06 09:00"),  # no Melding: not measurable
    ]
    profile = profile_with(
        {**DEADLINE, "name": "Besluit binnen twee weken", "within": "2 weeks", "target": "90%"},
        {"id": "i", "name": "Intake gedaan", "type": "existence", "activity": "Intake"},
        **HOLDER_PROFILE,
    )
    result = evaluate(rows, profile)
    english = result.summary("en")
    dutch = result.summary("nl")
    assert len(english) == len(dutch) == 2
    # c: 3 of 4 measured pass (75%); i: 3 of 5 cases hold an Intake (60%).
    assert english[0].startswith("Besluit binnen twee weken: 75% of 4 measured cases")
    assert "target at least 90%: not met" in english[0]
    assert "1 not measurable" in english[0]
    assert dutch[0].startswith("Besluit binnen twee weken: 75% van 4 gemeten zaken")
    assert "doel ten minste 90%: niet gehaald" in dutch[0]
    assert "1 niet meetbaar" in dutch[0]
    assert english[1].startswith("Intake gedaan: 60% of 5 measured cases")
    assert dutch[1].startswith("Intake gedaan: 60% van 5 gemeten zaken")


def test_the_summary_of_an_unmeasurable_criterion_says_why() -> None:
    """With nothing measured, the line gives the reasons instead of a percentage."""
    rows = [ev("a", "Overig", "2025-01-06 09:00")]
    result = evaluate(rows, profile_with({**DEADLINE, "within": "2 weeks"}))
    assert result.summary("en") == ["c: cannot be measured (1: no 'Melding' in the case)."]
    assert result.summary("nl") == ["c: niet te meten (1: geen 'Melding' in de zaak)."]
