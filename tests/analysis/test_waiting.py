"""The waiting-cause split: invariants, a brute-force check of Kronos' rules, examples."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.analysis.waiting import CAUSES, NAT, PARTS, Clocks, _Splitter, split_waiting
from knelpunt.errors import AnalysisError
from knelpunt.mining.instances import INSTANCE_COLUMNS, ActivityInstances
from knelpunt.worktime import WorkCalendar

MONDAY = pd.Timestamp("2025-01-06", tz="UTC")  # a Monday; minutes count from here
# Working hours in UTC so that minutes are easy to read: 09:00-17:00 on weekdays.
OFFICE = WorkCalendar.office_hours(holidays=None, timezone="UTC")
US = 1_000_000  # microseconds in a second


@dataclass(frozen=True)
class Step:
    resource: str | None
    activity: str
    enabled: int  # minutes after MONDAY
    start: int
    complete: int


def instances(steps: list[Step], calendar: WorkCalendar = OFFICE) -> ActivityInstances:
    """Activity instances as pair_instances would return them, from minutes."""

    def at(minutes: list[int]) -> pd.Series:
        return pd.Series([MONDAY + pd.Timedelta(minutes=m) for m in minutes]).astype(
            "datetime64[us, UTC]"
        )

    frame = pd.DataFrame(
        {
            "source_id": 1,
            "case_id": [f"c{i}" for i in range(len(steps))],
            "activity": pd.Categorical([s.activity for s in steps]),
            "resource": pd.Categorical([s.resource for s in steps]),
            "scheduled": pd.Series([pd.NaT] * len(steps), dtype="datetime64[us, UTC]"),
            "enabled": at([s.enabled for s in steps]),
            "start": at([s.start for s in steps]),
            "complete": at([s.complete for s in steps]),
            "waiting_s": [60.0 * (s.start - s.enabled) for s in steps],
            "processing_s": [60.0 * (s.complete - s.start) for s in steps],
            "start_recorded": True,
            "status": "completed",
            "precision": "recorded",
            "waiting_precision": "recorded",
        }
    )[list(INSTANCE_COLUMNS)]
    return ActivityInstances(
        instances=frame,
        estimated=0,
        open=0,
        unstarted=0,
        day_precision=0,
        calendar=calendar,
        notes=(),
    )


def split(steps: list[Step], **options: object) -> pd.DataFrame:
    options = {"hours": "profile", "multitasking": None, "idle_gap_s": None, **options}
    found = split_waiting(instances(steps), calendar=OFFICE, **options)  # type: ignore[arg-type]
    return found.instances.assign(**{f"{p}_m": found.instances[f"{p}_s"] / 60 for p in PARTS})


def brute_force(steps: list[Step], idle_gap: int | None = None) -> np.ndarray:
    """Kronos' rules minute by minute: per step, minutes of each of the five causes;
    with ``idle_gap`` (minutes), a resource's causes only count from when it was last
    free for longer than that (see :func:`last_free`)."""
    # Batches: per (resource, activity) in start order, as Kronos' sweep.
    batch = [-1] * len(steps)
    order = sorted(
        (i for i, s in enumerate(steps) if s.resource is not None),
        key=lambda i: (steps[i].resource, steps[i].activity, steps[i].start, steps[i].complete, i),
    )
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        head = steps[current[0]] if current else None
        if (
            head is not None
            and (steps[i].resource, steps[i].activity) == (head.resource, head.activity)
            and steps[i].enabled <= head.start
            and steps[i].start - max(steps[j].complete for j in current) <= 0
        ):
            current.append(i)
            continue
        if len(current) >= 2:
            groups.append(current)
        current = [i]
    if len(current) >= 2:
        groups.append(current)
    ready = [0] * len(steps)
    for number, members in enumerate(groups):
        for i in members:
            batch[i] = number
            ready[i] = max(steps[j].enabled for j in members)
    clock = OFFICE.clock(int(MONDAY.value // 1000), int(MONDAY.value // 1000) + 10**12)
    found = np.zeros((len(steps), 5))
    for i, step in enumerate(steps):
        free = last_free(steps, i, idle_gap) if idle_gap is not None else step.enabled
        for minute in range(step.enabled, step.start):
            if batch[i] >= 0 and minute < ready[i]:
                found[i, 0] += 1
                continue
            if minute < free:
                found[i, 4] += 1
                continue
            busy_earlier = busy_later = False
            for j, other in enumerate(steps):
                if j == i or other.resource is None or other.resource != step.resource:
                    continue
                if not (other.start <= minute < other.complete and other.start < step.start):
                    continue
                if batch[i] >= 0 and batch[j] == batch[i]:
                    earlier = other.enabled <= step.enabled
                else:
                    reference = min(ready[i], step.start) if batch[i] >= 0 else step.enabled
                    earlier = other.enabled <= reference
                busy_earlier |= earlier
                busy_later |= not earlier
            if busy_earlier:
                found[i, 1] += 1
            elif busy_later:
                found[i, 2] += 1
            else:
                low = int((MONDAY + pd.Timedelta(minutes=minute)).value // 1000)
                working = (
                    clock.read(np.array([low + 60_000_000]))[0] - clock.read(np.array([low]))[0]
                )
                found[i, 3 if working == 0 else 4] += 1
    return found


def working_minute(minute: int) -> bool:
    """Whether a minute after MONDAY lies in OFFICE's hours (weekdays 09:00-17:00)."""
    day, into = divmod(minute, 24 * 60)
    return day % 7 < 5 and 9 * 60 <= into < 17 * 60


def last_free(steps: list[Step], i: int, idle_gap: int) -> int:
    """The end of the last working minute at which step i's resource was free, before
    the run of its work (with free gaps of at most ``idle_gap`` working minutes in it)
    that reaches step i's start; only gaps after its first work count, and only for a
    resource whose work fills half the working hours of the days on which a run of its
    work begins (else: enabled)."""
    step = steps[i]
    worked = {
        m
        for other in steps
        if other.resource == step.resource
        for m in range(other.start, other.complete)
    }
    if worked:
        days = {m // (24 * 60) for m in worked if m - 1 not in worked}
        hours = sum(working_minute(d * 24 * 60 + k) for d in days for k in range(24 * 60))
        if sum(working_minute(m) for m in worked) < 0.5 * max(hours, 1):
            return step.enabled
    busy = {
        m
        for j, other in enumerate(steps)
        if j != i and other.resource == step.resource
        for m in range(other.start, other.complete)
    }
    anchor, minute, gap = step.start, step.start - 1, 0
    while True:
        if minute < min([step.start, *busy]):
            return step.enabled  # nothing recorded before: not known to be free
        if minute in busy:
            if gap > idle_gap:
                break
            gap = 0
            while minute in busy:
                minute -= 1
            anchor = minute + 1
            continue
        gap += working_minute(minute)
        minute -= 1
    # The end of the last working minute before the anchor.
    minute = anchor - 1
    while not working_minute(minute):
        minute -= 1
    return minute + 1


steps_strategy = st.lists(
    st.builds(
        lambda resource, activity, enabled, wait, work: Step(
            resource, activity, enabled, enabled + wait, enabled + wait + work
        ),
        st.sampled_from(["A", "B", None]),
        st.sampled_from(["x", "y"]),
        st.integers(0, 40).map(lambda k: k * 60),  # on the hour: batches line up
        st.integers(0, 30).map(lambda k: k * 60),
        st.integers(0, 4).map(lambda k: k * 60),
    ),
    min_size=1,
    max_size=10,
)


@given(steps_strategy)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parts_are_never_negative_and_add_up_to_the_wait(steps: list[Step]) -> None:
    found = split(steps)
    parts = found[[f"{p}_s" for p in PARTS]]
    assert (parts >= 0).all().all()
    assert np.allclose(parts.sum(axis=1), found["waiting_s"])
    assert np.allclose(found["waiting_s"], [60.0 * (s.start - s.enabled) for s in steps])


@given(steps_strategy.filter(lambda steps: all(s.resource is not None for s in steps)))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_split_follows_kronos_rules_minute_by_minute(steps: list[Step]) -> None:
    found = split(steps)[[f"{c}_m" for c in CAUSES]].to_numpy()
    assert np.allclose(found, brute_force(steps))


@given(
    steps_strategy.filter(lambda steps: all(s.resource is not None for s in steps)),
    st.sampled_from([0, 5, 30, 60]),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_free_resource_has_no_queue_minute_by_minute(steps: list[Step], idle_gap: int) -> None:
    found = split(steps, idle_gap_s=60 * idle_gap)[[f"{c}_m" for c in CAUSES]].to_numpy()
    assert np.allclose(found, brute_force(steps, idle_gap))


def test_waiting_for_the_network_while_the_professional_has_free_time_is_not_hers() -> None:
    # Enabled Monday 09:00; the professional works 10:00-14:00 on cases enabled later,
    # is free from 14:00 to 17:00 and starts this one (5 h) Tuesday 09:00. By Kronos'
    # rule 4 h of the wait are prioritisation and 16 h off-hours; she was free until
    # 17:00, so only the night is hers (unavailability), the rest is extraneous.
    steps = [
        Step("A", "x", enabled=540, start=33 * 60, complete=38 * 60),
        Step("A", "y", enabled=590, start=600, complete=720),
        Step("A", "y", enabled=700, start=720, complete=840),
    ]
    kronos = split(steps).iloc[0]
    assert (kronos["prioritisation_m"], kronos["unavailability_m"]) == (240, 16 * 60)
    ours = split(steps, idle_gap_s=3600).iloc[0]
    assert ours["prioritisation_m"] == 0
    assert ours["unavailability_m"] == 16 * 60
    assert ours["extraneous_m"] == 8 * 60
    # Busy Monday 10:00-16:50 and Tuesday 09:00-10:00, then this one: the 10-minute
    # pause before 17:00 is not free time, so she was last free at 10:00 on Monday.
    paused = split(
        [
            Step("A", "x", enabled=540, start=34 * 60, complete=35 * 60),
            Step("A", "y", enabled=590, start=600, complete=16 * 60 + 50),
            Step("A", "y", enabled=800, start=33 * 60, complete=34 * 60),
        ],
        idle_gap_s=3600,
    ).iloc[0]
    assert paused["prioritisation_m"] == 6 * 60 + 50 + 60
    assert paused["unavailability_m"] == 16 * 60
    assert paused["extraneous_m"] == 60 + 10


def test_free_time_is_not_known_for_a_resource_that_records_little_of_its_work() -> None:
    # One hour recorded on Monday, one on Tuesday: the gap may be unrecorded work.
    steps = [
        Step("A", "x", enabled=540, start=34 * 60, complete=35 * 60),
        Step("A", "y", enabled=590, start=600, complete=660),
    ]
    kronos = split(steps).iloc[0]
    ours = split(steps, idle_gap_s=3600).iloc[0]
    assert ours[[f"{c}_m" for c in CAUSES]].tolist() == kronos[[f"{c}_m" for c in CAUSES]].tolist()


def test_busy_with_earlier_work_is_contention_with_later_work_prioritisation() -> None:
    # Monday 10:00 (minute 600) on: A is busy with c0 (enabled earlier), then c1
    # (enabled later than c2), and only then starts c2.
    steps = [
        Step("A", "x", enabled=540, start=600, complete=660),
        Step("A", "x", enabled=650, start=660, complete=700),
        Step("A", "y", enabled=600, start=700, complete=720),
    ]
    found = split(steps).iloc[2]
    assert found["contention_m"] == 60
    assert found["prioritisation_m"] == 40
    assert found["waiting_s"] == 100 * 60


def test_a_wait_over_the_night_is_unavailability() -> None:
    # Enabled Monday 16:00, started Tuesday 10:00: 16 h outside 09:00-17:00, 2 h inside.
    found = split([Step("A", "x", enabled=16 * 60, start=34 * 60, complete=35 * 60)]).iloc[0]
    assert found["unavailability_m"] == 16 * 60
    assert found["extraneous_m"] == 2 * 60


def test_a_weekly_meeting_is_a_batch() -> None:
    # Three cases enabled on Monday, discussed one after the other on Tuesday 10:00.
    steps = [
        Step(
            "MDO",
            "Overleg",
            enabled=540 + 60 * k,
            start=34 * 60 + 10 * k,
            complete=34 * 60 + 10 * k + 10,
        )
        for k in range(3)
    ]
    found = split(steps)
    assert (found["batch"] == 0).all()
    assert found["batching_m"].tolist() == [120, 60, 0]  # until the last case was enabled (11:00)
    assert found["contention_m"].tolist() == [0, 10, 20]  # the earlier cases of the meeting
    batches = split_waiting(instances(steps), calendar=OFFICE, hours="profile").batches
    assert batches[["activity", "resource", "size"]].to_dict("records") == [
        {"activity": "Overleg", "resource": "MDO", "size": 3}
    ]


def test_without_a_resource_the_busy_part_is_undetermined_not_extraneous() -> None:
    steps = [
        Step("A", "x", enabled=540, start=600, complete=660),
        Step(None, "x", enabled=540, start=600, complete=660),
    ]
    found = split(steps).iloc[1]
    assert found["undetermined_m"] == 60
    assert found["extraneous_m"] == 0


def test_an_activity_that_never_has_a_resource_waits_outside_the_organisation() -> None:
    steps = [
        Step("A", "x", enabled=540, start=600, complete=660),
        Step(None, "Reply", enabled=540, start=600, complete=600),
    ]
    result = split_waiting(instances(steps), calendar=OFFICE, hours="profile")
    assert result.instances.iloc[1]["extraneous_s"] == 3600
    assert any("never" in note and "Reply" in note for note in result.notes)


def test_an_activity_without_instances_is_not_named_as_outside_the_organisation() -> None:
    """A filtered table keeps every activity name; one with no instance is in no note."""
    steps = [
        Step("A", "x", enabled=540, start=600, complete=660),
        Step(None, "Reply", enabled=540, start=600, complete=600),
    ]
    table = instances(steps)
    frame = table.instances.assign(
        activity=table.instances["activity"].cat.add_categories(["Filtered away"])
    )
    result = split_waiting(replace(table, instances=frame), calendar=OFFICE, hours="profile")
    [note] = [note for note in result.notes if "never" in note]
    assert "Reply" in note
    assert "Filtered away" not in note
    assert note.startswith("1 activity never has")


def test_a_resource_serving_many_cases_at_once_has_no_queue() -> None:
    # The provider's deliveries overlap almost entirely: not contention.
    steps = [
        Step("Provider", "Levering", enabled=540, start=600 + k, complete=5000) for k in range(4)
    ]
    queued = split(steps, multitasking=None)
    free = split(steps, multitasking=0.5)
    assert queued["contention_m"].sum() + queued["batching_m"].sum() > 0
    assert free["contention_m"].sum() == 0
    assert free["batching_m"].sum() == 0
    assert free["extraneous_m"].sum() == pytest.approx(sum(s.start - s.enabled for s in steps))


def test_learnt_hours_make_a_weekly_meeting_unavailable_the_rest_of_the_week(
    tmp_path: object,
) -> None:
    # A meeting resource that only ever works Tuesdays 10:00-11:00 (Amsterdam):
    # a case enabled on a Monday morning waits for it outside its hours.
    zone = "Europe/Amsterdam"
    rows = []
    for week in range(30):
        tuesday = pd.Timestamp("2025-01-07 10:00", tz=zone) + pd.Timedelta(weeks=week)
        for k in range(3):
            case = f"w{week}c{k}"
            rows += [
                (case, "Melding", tuesday - pd.Timedelta(days=1, hours=1), "complete", None),
                (case, "Overleg", tuesday + pd.Timedelta(minutes=10 * k), "start", "MDO"),
                (case, "Overleg", tuesday + pd.Timedelta(minutes=10 * k + 10), "complete", "MDO"),
            ]
    log = pd.DataFrame(
        rows,
        columns=[
            "case:concept:name",
            "concept:name",
            "time:timestamp",
            "lifecycle:transition",
            "org:resource",
        ],
    )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, log, name="meetings")
        events = kp.load_events(store)
    learnt = split_waiting(events, hours="discover").totals().set_index("cause")["share"]
    office = split_waiting(events, hours="profile").totals().set_index("cause")["share"]
    assert learnt["unavailability"] > office["unavailability"]
    assert learnt["extraneous"] < office["extraneous"]


def test_options_are_checked() -> None:
    steps = [Step("A", "x", 0, 60, 120)]
    with pytest.raises(AnalysisError, match="at least 2"):
        split(steps, batch_min_size=1)
    with pytest.raises(AnalysisError, match="share between 0 and 1"):
        split(steps, multitasking=2.0)


def test_a_run_that_starts_all_its_work_at_once_is_a_batch_not_multitasking() -> None:
    # A nightly run (02:00 on Tuesday) sends four messages at the same moment, one
    # minute each; they were ready during Monday.
    run = 26 * 60
    steps = [
        Step("Berichten", "Verzenden", enabled=600 + 60 * k, start=run, complete=run + 1)
        for k in range(4)
    ]
    found = split(steps, multitasking=0.5)
    assert (found["batch"] == 0).all()
    # Each waits until the last message was ready (13:00), then for the batch.
    assert found["batching_m"].tolist() == [180, 120, 60, 0]


def test_a_date_only_completion_leaves_an_exact_wait_exact() -> None:
    """The wait of an instance with exact ends is not moved to midnight because its
    completion carries a date only; the split's wait is pair_instances' wait, and the
    notes say it once."""
    rows = [
        ("c1", "A", "2024-03-04 10:00", "R1"),
        ("c2", "X", "2024-03-06 15:00", "R2"),  # R2 is free from here: B's estimated start
        ("c1", "B", "2024-03-08 00:00", "R2"),  # a date-only completion
    ]
    # Enough date-only events for the source to count as carrying dates only.
    rows += [(f"f{k}", "F", f"2024-03-{11 + k:02d} 00:00", "R3") for k in range(6)]
    log = pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "t", "org:resource"])
    log["time:timestamp"] = pd.to_datetime(log.pop("t")).dt.tz_localize("Europe/Amsterdam")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, log, name="dates")
        events = kp.load_events(store)
    paired = kp.pair_instances(events, calendar=WorkCalendar.office_hours()).instances
    found = split_waiting(events)
    b = found.instances[found.instances["activity"] == "B"].iloc[0]
    assert (b["precision"], b["waiting_precision"]) == ("day", "recorded")
    assert b["waiting_s"] == 53 * 3600  # Monday 10:00 to Wednesday 15:00
    assert found.instances["waiting_s"].tolist() == paired["waiting_s"].tolist()
    assert sum("date only" in note or "local midnight" in note for note in found.notes) == 1


def test_a_profile_is_given_by_name_or_as_read() -> None:
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "baseline", seed=1, overrides=["days=30"])
        events = kp.load_events(store)
    by_name = split_waiting(events, profile="sociaal-domein").totals()
    read = split_waiting(events, profile=kp.read_profile("sociaal-domein")).totals()
    pd.testing.assert_frame_equal(by_name, read)
    with pytest.raises(kp.KnelpuntError, match="nergens"):
        split_waiting(events, profile="nergens")


# The busy time of waits as a self-join of each resource's instances computed it
# before it was made fast: the oracle for _Splitter.busy. Pairs of (waiting instance,
# other instance of its resource) whose processing overlaps the wait after batching,
# clipped to it; `cont` marks contention. Unlike then, the windows order ties of
# (lo, hi) by the other instance: left to DuckDB, its two windows in _ISLANDS could
# order them differently on a large log and join islands across a gap.
_PAIRS = """
CREATE TEMP TABLE pairs AS
SELECT w.id, o.id AS oid, greatest(w.w0, o.s) AS lo, least(w.s, o.c) AS hi,
       o.e <= CASE WHEN w.batch >= 0 AND o.batch = w.batch THEN w.e ELSE w.thr END AS cont
FROM w JOIN o ON o.r = w.r AND o.s < w.s AND o.c > w.w0 AND o.id <> w.id
"""
_CONTENTION = """
SELECT id, sum(greatest(0, hi - greatest(lo, coalesce(reach, lo))))::BIGINT AS us
FROM (SELECT id, lo, hi, max(hi) OVER (PARTITION BY id ORDER BY lo, hi, oid
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
      FROM pairs WHERE cont)
GROUP BY id
"""
_ISLANDS = """
SELECT id, min(lo) AS lo, max(hi) AS hi
FROM (SELECT id, lo, hi,
             sum(CASE WHEN reach IS NULL OR lo > reach THEN 1 ELSE 0 END)
                 OVER (PARTITION BY id ORDER BY lo, hi, oid ROWS UNBOUNDED PRECEDING)
                 AS island
      FROM (SELECT id, oid, lo, hi, max(hi) OVER (PARTITION BY id ORDER BY lo, hi, oid
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                               AS reach
            FROM pairs))
GROUP BY id, island
"""


def pair_join_busy(
    splitter: _Splitter,
    known: np.ndarray,
    batch: np.ndarray,
    ready: np.ndarray,
    w0: np.ndarray,
    clocks: Clocks,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_Splitter.busy`` by the pair join (quadratic in the work during a wait)."""
    n = len(splitter.frame)
    busy, busy_work, contention = (np.zeros(n, dtype=np.int64) for _ in range(3))
    s, c, e, res = splitter.s, splitter.c, splitter.e, splitter.res
    waiting = np.flatnonzero(known & splitter.queued & (s > w0))
    doing = np.flatnonzero(splitter.queued & (s != NAT) & (c != NAT) & (c > s))
    if len(waiting) == 0 or len(doing) == 0:
        return busy, busy_work, contention
    threshold = np.where(batch >= 0, np.minimum(ready, s), e)
    w = pa.table(
        {
            "id": waiting,
            "r": res[waiting],
            "e": e[waiting],
            "s": s[waiting],
            "w0": w0[waiting],
            "thr": threshold[waiting],
            "batch": batch[waiting],
        }
    )
    o = pa.table(
        {
            "id": doing,
            "r": res[doing],
            "e": e[doing],
            "s": s[doing],
            "c": c[doing],
            "batch": batch[doing],
        }
    )
    with duckdb.connect() as connection:
        connection.register("w", w)
        connection.register("o", o)
        connection.execute(_PAIRS)
        held = connection.execute(_CONTENTION).fetchnumpy()
        islands = connection.execute(_ISLANDS).fetchnumpy()
    contention[np.asarray(held["id"], dtype=np.int64)] = held["us"]
    ids, lo, hi = (np.asarray(islands[k], dtype=np.int64) for k in ("id", "lo", "hi"))
    np.add.at(busy, ids, hi - lo)
    np.add.at(busy_work, ids, _Splitter.read(hi, ids, clocks) - _Splitter.read(lo, ids, clocks))
    return busy, busy_work, contention


# Steps on a coarse grid (ties of every kind), over days with nights and a weekend,
# some without an enabled time, start or completion.
busy_steps = st.lists(
    st.tuples(
        st.sampled_from(["A", "A", "A", "B", "C", None]),
        st.sampled_from(["x", "x", "y"]),
        st.integers(0, 40).map(lambda k: k * 45),
        st.integers(0, 24).map(lambda k: k * 45),
        st.integers(0, 10).map(lambda k: k * 45),
        st.sampled_from(["", "enabled", "start", "complete"] + [""] * 5),
    ),
    min_size=1,
    max_size=30,
)
PARTS_OF_BUSY = ("busy", "busy_work", "contention")
# B keeps its own hours, C works around the clock.
OWN_HOURS = {
    "B": WorkCalendar.office_hours(start=time(7), end=time(12), holidays=None, timezone="UTC"),
    "C": WorkCalendar.always(timezone="UTC"),
}


class TestBusy:
    """The busy time of each wait is the pair join's, to the microsecond."""

    @given(
        busy_steps,
        st.sampled_from([None, 0.5]),
        st.sampled_from([0, 45 * 60, 3 * 3600]),
        st.lists(st.integers(0, 12).map(lambda k: k * 45), min_size=30, max_size=30),
    )
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_busy_is_the_pair_joins(
        self,
        rows: list[tuple[str | None, str, int, int, int, str]],
        multitasking: float | None,
        gap_s: int,
        later: list[int],
    ) -> None:
        """Random work of several resources (own hours, batches, ties, NaT), with the
        wait's start moved later as a resource's last free moment moves it."""
        steps = [Step(r, a, e, e + wait, e + wait + work) for r, a, e, wait, work, _ in rows]
        paired = instances(steps)
        frame = paired.instances.copy()
        for column in ("enabled", "start", "complete"):
            frame.loc[[row[5] == column for row in rows], column] = pd.NaT
        splitter = _Splitter(replace(paired, instances=frame), OFFICE, OWN_HOURS, 2, gap_s * US)
        splitter.drop_multitaskers(multitasking)
        e, s = splitter.e, splitter.s
        known = (e != NAT) & (s != NAT)
        batch, ready = splitter.batches()
        w0 = np.where(batch >= 0, np.clip(ready, e, s), e)
        moved = np.asarray(later[: len(steps)], dtype=np.int64) * 60 * US
        w0 = np.where(known, np.minimum(w0 + moved, s), w0)
        clocks = splitter.clocks()
        found = splitter.busy(known, batch, ready, w0, clocks)
        expected = pair_join_busy(splitter, known, batch, ready, w0, clocks)
        for name, got, want in zip(PARTS_OF_BUSY, found, expected, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=name)

    def test_other_work_enabled_before_the_batch_was_complete_is_contention(self) -> None:
        """While a later-enabled member of its own batch is being done, other work
        enabled before the batch was complete still makes the wait contention."""
        steps = [
            Step("A", "x", enabled=60, start=120, complete=300),
            Step("A", "x", enabled=0, start=180, complete=240),  # waits from 90 (ready)
            Step("A", "x", enabled=90, start=200, complete=210),
            Step("A", "y", enabled=75, start=100, complete=250),
        ]
        found = split(steps).iloc[1]
        assert (found["batch"], found["batching_m"]) == (0, 90)
        assert (found["contention_m"], found["prioritisation_m"]) == (80, 0)

    def test_equal_pieces_of_work_do_not_join_the_busy_time_around_them(self) -> None:
        """Two pieces of work at the same moment are busy once, and the free time
        after them stays free (the pair join could join it across on a large log)."""
        steps = [
            Step("A", "x", enabled=0, start=600, complete=660),
            Step("A", "y", enabled=10, start=100, complete=110),
            Step("A", "y", enabled=20, start=100, complete=110),
            Step("A", "y", enabled=30, start=400, complete=410),
        ]
        found = split(steps).iloc[0]
        assert found["contention_m"] + found["prioritisation_m"] == 20
