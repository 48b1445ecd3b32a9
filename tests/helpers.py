"""Small helpers shared by test modules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import knelpunt as kp
from knelpunt.events.store import EventStore


def store_state(store: EventStore) -> tuple[Any, ...]:
    """Everything observable about a store, to check that a failure changed nothing."""
    events = store.read_events()
    return (
        [(s.source_id, s.name, s.event_count, s.reject_count) for s in store.sources()],
        events.drop(columns=["attributes"]).to_dict("records"),
        store.last_position(),
        len(store.purges()),
    )


def canonical(store: EventStore, source_id: int) -> list[tuple[Any, ...]]:
    """A source's events as comparable tuples (attributes parsed, nulls dropped)."""
    rows = store.read_events(sources=[source_id])
    out = []
    for r in rows.itertuples(index=False):
        attributes = json.loads(r.attributes) if isinstance(r.attributes, str) else {}
        out.append(
            (
                r.case_id,
                r.activity,
                int(r.time_us),
                r.lifecycle,
                r.resource,
                tuple(sorted((k, str(v)) for k, v in attributes.items())),
            )
        )
    return out


def write_csv(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def make_csv_frame(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """A plain event table with rows events, for large-input tests."""
    import numpy as np

    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01 08:00")
    return pd.DataFrame(
        {
            "Zaak": [f"Z{i // 10:06d}" for i in range(rows)],
            "Stap": [f"Stap {int(k)}" for k in rng.integers(0, 12, rows)],
            "Datum": (start + pd.to_timedelta(np.arange(rows) * 7, unit="min")).strftime(
                "%d-%m-%Y %H:%M"
            ),
            "Medewerker": [f"M{int(k)}" for k in rng.integers(0, 30, rows)],
        }
    )


def team_log(rows: Sequence[tuple[object, ...]]) -> tuple[kp.EventTable, dict[str, str]]:
    """The events and teams of hand-written rows (case, activity, local time, resource,
    team), recorded in a store in memory."""
    log = pd.DataFrame(
        rows,
        columns=["case:concept:name", "concept:name", "time:timestamp", "org:resource", "team"],
    )
    log["time:timestamp"] = pd.to_datetime(log["time:timestamp"]).dt.tz_localize("Europe/Amsterdam")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, log, name="teams", privacy="off")
        return kp.load_events(store), kp.read_resource_groups(store)


def exported_demo(folder: Path, *, seed: int | None = None) -> tuple[str, Path]:
    """A store in ``folder`` with the demo log (start and complete events), and its
    export as Parquet partitioned by source, year and month: what the command line's
    ``--parquet`` and the engines read."""
    from typer.testing import CliRunner

    from knelpunt.cli import app
    from knelpunt.testing import make_demo_csv

    runner = CliRunner()
    store = str(folder / "k.db")
    options = {} if seed is None else {"seed": seed}
    csv = make_demo_csv(folder / "demo.csv", cases=12, **options)
    assert runner.invoke(app, ["ingest", str(csv), "--store", store]).exit_code == 0
    exported = folder / "events"
    done = runner.invoke(
        app,
        ["export", str(exported), "--store", store, "--format", "parquet",
         "--partition-by", "source,year,month"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return store, exported


def cli_json(*args: str) -> Any:
    """What a ``knelpunt`` command prints with ``--json``, read back."""
    from typer.testing import CliRunner

    from knelpunt.cli import app

    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def edge_rows(found: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A printed map's edges as comparable rows (median to the microsecond)."""
    return [
        (e["source"], e["target"], e["count"], e["cases"], round(e["median_s"], 6))
        for e in found["edges"]
    ]


def same_instances(found: Any, reference: Any, *, rtol: float = 1e-9) -> None:
    """An engine's :class:`~knelpunt.InstanceResult` holds what ``pair_instances`` and
    ``summarise_activities`` give (``reference``): the counts, every instance (times to
    the microsecond, durations to ``rtol``) and every activity's statistics."""
    import numpy as np

    assert (found.count, found.estimated, found.open, found.unstarted, found.day_precision) == (
        len(reference.instances),
        reference.estimated,
        reference.open,
        reference.unstarted,
        reference.day_precision,
    )
    assert found.notes == reference.notes

    def same(left: pd.DataFrame, right: pd.DataFrame) -> None:
        assert list(left.columns) == list(right.columns)
        assert len(left) == len(right)
        for column in left.columns:
            a, b = left[column], right[column]
            if pd.api.types.is_float_dtype(a):
                assert np.allclose(
                    a.to_numpy(), b.to_numpy(dtype=float), rtol=rtol, atol=1e-6, equal_nan=True
                ), column
            elif isinstance(a.dtype, pd.DatetimeTZDtype):
                assert a.dt.as_unit("us").tolist() == b.dt.as_unit("us").tolist(), column
            else:
                assert a.astype(object).where(a.notna(), None).tolist() == (
                    b.astype(object).where(b.notna(), None).tolist()
                ), column

    if found.instances is not None:
        same(found.instances, reference.instances)
    same(found.activities, kp.summarise_activities(reference))


def lifecycle_log(seed: int, *, cases: int) -> pd.DataFrame:
    """A log of start and complete events over a few months, with what makes pairing
    and ordering hard: completions without a start, starts never completed, repeated
    activities, events at the same minute, missing resources, several variants."""
    import numpy as np

    rng = np.random.default_rng(seed)
    activities = ("Melding", "Gesprek", "Onderzoek", "Besluit", "Plan")
    resources = (None, "an", "bo", "cy")
    rows: list[dict[str, Any]] = []
    begin = pd.Timestamp("2025-01-06 08:00", tz="Europe/Amsterdam")
    for k in range(cases):
        at = begin + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 90)))
        for step in range(int(rng.integers(1, 7))):
            activity = activities[min(step + int(rng.integers(0, 2)), len(activities) - 1)]
            resource = resources[int(rng.integers(len(resources)))]
            at += pd.Timedelta(minutes=int(rng.choice([0, 5, 60, 60 * 20, 60 * 24 * 3])))
            shape = rng.random()
            if shape > 0.2:  # a start (else the completion comes alone)
                rows.append((f"z{k}", activity, at, "start", resource))
                at += pd.Timedelta(minutes=int(rng.choice([0, 15, 45, 60 * 5])))
            if shape < 0.95:  # a completion (else the start stays open)
                rows.append((f"z{k}", activity, at, "complete", resource))
    return pd.DataFrame(
        rows,
        columns=[
            "case:concept:name",
            "concept:name",
            "time:timestamp",
            "lifecycle:transition",
            "org:resource",
        ],
    )


def same_map(found: Any, expected: Any) -> None:
    """Two process maps alike: counts, start and end activities, notes, every edge and
    activity statistic (to 1e-9)."""
    assert (found.level, found.events, found.cases) == (
        expected.level,
        expected.events,
        expected.cases,
    )
    assert found.start_activities == expected.start_activities
    assert found.end_activities == expected.end_activities
    assert found.notes == expected.notes
    pd.testing.assert_frame_equal(found.edges, expected.edges, check_dtype=False, rtol=1e-9)
    pd.testing.assert_frame_equal(
        found.activities, expected.activities, check_dtype=False, rtol=1e-9
    )


def split_per_source(events: kp.EventTable, **options: Any) -> pd.DataFrame:
    """What compute_waiting gives, in memory: the log's instances, each source's split."""
    from dataclasses import replace

    office = kp.WorkCalendar.office_hours()
    paired = kp.pair_instances(events, calendar=office)
    rows = []
    for source in sorted(set(paired.instances["source_id"])):
        mine = paired.instances[paired.instances["source_id"] == source].reset_index(drop=True)
        split = kp.split_waiting(replace(paired, instances=mine), calendar=office, **options)
        part = split.by_activity()
        part.insert(0, "source_id", source)
        rows.append(part)
    return (
        pd.concat(rows, ignore_index=True)
        .sort_values(["source_id", "waiting_s", "activity"], ascending=[True, False, True])
        .reset_index(drop=True)
    )
