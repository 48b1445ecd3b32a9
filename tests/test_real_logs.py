"""Every public log in ../shared/event_logs records with the counts pm4py reads."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import knelpunt as kp
from tests.conftest import REAL_XES_LOGS, shared_log

pytestmark = [pytest.mark.real_logs, pytest.mark.slow]

LOGS = REAL_XES_LOGS


def _pm4py_counts(frame: pd.DataFrame) -> tuple[int, int, int]:
    return (len(frame), frame["case:concept:name"].nunique(), frame["concept:name"].nunique())


@pytest.mark.parametrize("name", LOGS)
def test_xes_matches_pm4py(name: str) -> None:
    """Events, cases and activities agree with pm4py's own (Python) XES importer."""
    import pm4py

    path = shared_log(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's own deprecation notices
        theirs = pm4py.read_xes(str(path), variant="iterparse", return_legacy_log_object=False)
    with kp.open_store(":memory:") as store:
        result = kp.ingest_log(store, path, duplicates="keep")
        ours = kp.read_events(store)
    first = theirs["time:timestamp"].min()
    if "start_timestamp" in theirs.columns:
        # An interval log: each event with a start time is recorded as two.
        starts = theirs["start_timestamp"].dropna()
        theirs = pd.concat([theirs, theirs.loc[starts.index]])
        first = min(first, starts.min())
    assert result.added == len(theirs)
    assert _pm4py_counts(ours) == _pm4py_counts(theirs)
    assert ours["time:timestamp"].min() == first
    assert ours["time:timestamp"].max() == theirs["time:timestamp"].max()


def test_receipt_csv_matches_its_xes() -> None:
    """The receipt log as CSV and as XES record the same events."""
    import pm4py

    csv, xes = shared_log("receipt.csv"), shared_log("receipt.xes.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pm4py.format_dataframe(
            pd.read_csv(csv),
            case_id="case:concept:name",
            activity_key="concept:name",
            timestamp_key="time:timestamp",
        )
    with kp.open_store(":memory:") as store:
        a = kp.ingest_log(store, csv)
        b = kp.ingest_log(store, xes)
        from_csv = kp.read_events(store, sources=[a.source.source_id])
        from_xes = kp.read_events(store, sources=[b.source.source_id])
    assert _pm4py_counts(from_csv) == _pm4py_counts(theirs) == _pm4py_counts(from_xes)
    key = ["case:concept:name", "concept:name", "time:timestamp"]
    assert from_csv[key].sort_values(key).values.tolist() == (
        from_xes[key].sort_values(key).values.tolist()
    )


def test_duplicates_in_real_logs_are_reported() -> None:
    """helpdesk holds 127 exact copies: strict refuses them by line, lenient keeps them aside."""
    path = shared_log("helpdesk.xes.gz")
    with kp.open_store(":memory:") as store:
        with pytest.raises(kp.KnelpuntError, match="127 row"):
            kp.ingest_log(store, path)
        result = kp.ingest_log(store, path, mode="lenient")
        assert (result.added, result.rejected) == (21_348 - 127, 127)
