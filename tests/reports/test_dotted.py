"""The dotted chart as one raster (knelpunt.reports.figures.dotted)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import knelpunt as kp
from knelpunt.reports import figures


def _table(activities: list[str], cases: list[str], seconds: list[int]) -> kp.EventTable:
    log = pd.DataFrame(
        {
            "case:concept:name": cases,
            "concept:name": activities,
            "time:timestamp": pd.Timestamp("2025-01-06", tz="UTC")
            + pd.to_timedelta(seconds, unit="s"),
        }
    )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, log, name="dotted", privacy="off")
        return kp.load_events(store)


def test_hundreds_of_activities_keep_their_colours_apart() -> None:
    """More activities than colours: the most frequent each get one, the rest share
    'other' (a small integer type once wrapped activity 128 onto another's colour)."""
    rng = np.random.default_rng(1)
    n = 3_000
    table = _table(
        [f"A{i:03d}" for i in rng.integers(0, 300, n)],
        [str(c) for c in rng.integers(0, 200, n)],
        list(rng.integers(0, 10**7, n)),
    )
    heat = figures.dotted(table, cases=300, y_title="Zaak", other="Overige").data[0]
    names = list(heat.colorbar.ticktext)
    assert len(names) == 23
    assert names[-1] == "Overige"
    assert heat.z.min() >= 0
    assert heat.z.max() == 23
    assert heat.zmax == 23.5


def test_a_cell_shows_the_case_s_last_event_in_it() -> None:
    table = _table(["Melding", "Intake", "Besluit"], ["1", "1", "1"], [0, 60, 86_400 * 30])
    heat = figures.dotted(table, cases=10, y_title="Zaak").data[0]
    names = list(heat.colorbar.ticktext)
    shown = [names[v - 1] for v in heat.z[0] if v]
    assert shown == ["Intake", "Besluit"]  # Melding and Intake share a cell: the later


def test_an_empty_log_draws_an_empty_chart() -> None:
    with kp.open_store(":memory:") as store:
        table = kp.load_events(store)
    assert figures.dotted(table, cases=300, y_title="Zaak").data[0].z.shape == (0, 1)
