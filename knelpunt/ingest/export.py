"""Write sources back out as XES, CSV, Excel or Parquet; a round trip keeps every event and
attribute.

Text that a spreadsheet would run as a formula (OWASP, "CSV injection") is quoted in
every CSV and Excel file written here, unless a caller asks for ``formulas="keep"``.
"""

from __future__ import annotations

import gzip
import io
import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Literal
from xml.sax.saxutils import quoteattr

import pandas as pd

from knelpunt.errors import UnsupportedFormatError
from knelpunt.events.store import EventStore
from knelpunt.frames import to_pm4py_frame
from knelpunt.schema import CASE_ID_KEY, CASE_PREFIX, SOURCE_KEY, TIMESTAMP_KEY

__all__ = ["export_log", "export_table", "neutralise_formulas"]

# A cell that starts with one of these is read as a formula by spreadsheet programs
# (OWASP, "CSV injection"); exported tables quote them so they stay text.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
# Rows of an Excel worksheet, the header included.
_EXCEL_ROWS: Final = 1_048_576

# What a partitioned Parquet export can be split by (see export_log's partition_by).
PARTITIONS: Final = ("source", "year", "month", "day")

# Dates inside attributes are stored as this ISO form (see convert.encode_rows).
_STORED_DATE: Final = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` in which every text that a spreadsheet would run as a formula
    starts with an apostrophe, column names included (numbers are left alone, also
    negative ones; a text such as ``"-1"`` is quoted, as OWASP advises).

    Example:
        >>> safe = neutralise_formulas(pd.DataFrame({"=a": ["=1+1", "Intake", -3]}))
        >>> safe.columns.tolist(), safe["'=a"].tolist()
        (["'=a"], ["'=1+1", 'Intake', -3])
    """

    def safe(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[column] = values.cat.rename_categories([safe(c) for c in values.cat.categories])
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[column] = values.map(safe)
    if isinstance(out.columns, pd.MultiIndex):
        return out.set_axis(
            pd.MultiIndex.from_tuples([tuple(map(safe, c)) for c in out.columns]), axis=1
        )
    return out.set_axis([safe(c) for c in out.columns], axis=1)


def export_table(
    frame: pd.DataFrame,
    *,
    format: str,
    sheet: str = "knelpunt",
    formulas: Literal["quote", "keep"] = "quote",
) -> bytes:
    """A table as the bytes of a CSV (UTF-8 with a byte-order mark, so that Excel
    reads accents) or Excel (.xlsx) file, with formulas neutralised
    (:func:`neutralise_formulas`). With ``formulas="keep"`` every value is written as
    it is, for programs; in an Excel file such text is still a text cell, never a
    formula that runs when the file is opened.

    Raises:
        UnsupportedFormatError: a format other than ``csv`` or ``xlsx``.

    Example:
        >>> data = export_table(pd.DataFrame({"zaak": ["Z1"], "dagen": [3.5]}), format="csv")
        >>> data.decode("utf-8-sig").splitlines()
        ['zaak,dagen', 'Z1,3.5']
    """
    safe = neutralise_formulas(frame) if formulas == "quote" else frame
    buffer = io.BytesIO()
    if format == "csv":
        # CRLF, as RFC 4180 and Excel have it: pandas then also quotes a value holding a
        # lone carriage return, which would otherwise end the row there.
        buffer.write(safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
    elif format == "xlsx":
        name = _sheet_name(sheet)
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            _without_control_characters(safe).to_excel(writer, index=False, sheet_name=name)
            if formulas == "keep":
                # openpyxl makes text that starts with '=' a formula: make it text again.
                for row in writer.sheets[name].iter_rows():
                    for cell in row:
                        if cell.data_type == "f":
                            cell.data_type = "s"
    else:
        raise UnsupportedFormatError(
            f"A table is exported as csv or xlsx, not {format!r}; choose one of those."
        )
    return buffer.getvalue()


def _without_control_characters(frame: pd.DataFrame) -> pd.DataFrame:
    """Text without the control characters a worksheet cannot hold (openpyxl refuses
    them, and a log's values can carry them): each becomes U+FFFD, so that it shows."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(value: Any) -> Any:
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[column] = values.astype(object).map(clean)
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[column] = values.map(clean)
    return out.set_axis([clean(str(c)) for c in out.columns], axis=1)


def _sheet_name(name: str) -> str:
    """A worksheet name Excel takes: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("_" if c in "[]:*?/\\" or not c.isprintable() else c for c in name)
    return cleaned[:31].strip("'") or "knelpunt"


def export_log(
    store: EventStore,
    path: str | Path,
    *,
    format: str | None = None,
    sources: Sequence[int] | None = None,
    formulas: Literal["quote", "keep"] = "quote",
    partition_by: Sequence[str] = (),
) -> Path:
    """Write events of the store to a file, or to a partitioned Parquet dataset.

    Args:
        store: the store to read.
        path: the file to write; ``.xes``, ``.xes.gz``, ``.csv``, ``.xlsx`` or
            ``.parquet``.
        format: xes, csv, xlsx or parquet; taken from the suffix when None.
        sources: only these sources (default: all).
        formulas: in a CSV or Excel file, ``quote`` (the default, as OWASP advises
            against CSV injection) puts an apostrophe before text a spreadsheet would
            run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return; see
            :func:`neutralise_formulas`), since such a file is often opened in Excel;
            ``keep`` writes every value as it is, for programs (then a round trip is
            exact; in an Excel file such text is a text cell, not a formula). XES and
            Parquet are not spreadsheets and keep every value.
        partition_by: with Parquet, write a dataset instead of one file: ``path`` is a
            folder with one subfolder per value, hive style (``source=1/year=2025/
            month=3/part-0.parquet``), the layout Spark and DuckDB read and prune
            best. Partition by ``source``, ``year``, ``month`` or ``day`` (of the UTC
            time), in the order given. The files also hold ``knelpunt:source`` and
            ``knelpunt:position`` (the store position, which orders a case's events
            with the same time), so :func:`knelpunt.compute_relational` can read them.

    Returns:
        The path written (the folder, for a dataset).

    Raises:
        UnsupportedFormatError: an unknown format, more events than an Excel sheet
            holds, or ``partition_by`` with another format than Parquet or an unknown
            partition.

    Example:
        >>> import pathlib, tempfile
        >>> import pandas as pd
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store, tempfile.TemporaryDirectory() as folder:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     written = kp.export_log(store, pathlib.Path(folder) / "demo.csv")
        ...     back = pd.read_csv(written)
        >>> written.name, len(back), back["case:concept:name"].nunique()
        ('demo.csv', 15, 3)
    """
    target = Path(path)
    if partition_by:
        if (format or "parquet").lower() != "parquet":
            raise UnsupportedFormatError(
                f"Only Parquet is written partitioned, not {format!r}; pass format='parquet'."
            )
        frame = to_pm4py_frame(store.iter_events(sources=sources), positions=True)
        return _write_dataset(frame, target, partition_by)
    kind = (format or _suffix_format(target)).lower()
    frame = to_pm4py_frame(store.iter_events(sources=sources), positions=False)
    if kind == "csv":
        out = frame.copy()
        out[TIMESTAMP_KEY] = out[TIMESTAMP_KEY].map(lambda t: t.isoformat())
        if formulas == "quote":
            out = neutralise_formulas(out)
        out.to_csv(target, index=False, encoding="utf-8", lineterminator="\r\n")
    elif kind == "xlsx":
        if len(frame) >= _EXCEL_ROWS:
            raise UnsupportedFormatError(
                f"An Excel sheet holds at most {_EXCEL_ROWS - 1:,} rows; these sources have "
                f"{len(frame):,} events. Export them to .csv or .parquet, or fewer of them "
                "(--source)."
            )
        out = frame.copy()
        # Excel has no time zones: the moment as ISO text with its offset, as in a CSV.
        out[TIMESTAMP_KEY] = out[TIMESTAMP_KEY].map(lambda t: t.isoformat())
        target.write_bytes(export_table(out, format="xlsx", sheet="events", formulas=formulas))
    elif kind == "parquet":
        frame.to_parquet(target, index=False)
    elif kind == "xes":
        opener = gzip.open if target.name.endswith(".gz") else open
        with opener(target, "wt", encoding="utf-8") as handle:
            _write_xes(frame, handle)
    else:
        raise UnsupportedFormatError(f"Cannot export to {kind!r}; use xes, csv, xlsx or parquet.")
    return target


def _write_dataset(frame: pd.DataFrame, folder: Path, partition_by: Sequence[str]) -> Path:
    """A hive-partitioned Parquet dataset of the events (see :func:`export_log`)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    unknown = [p for p in partition_by if p not in PARTITIONS]
    if unknown:
        raise UnsupportedFormatError(
            f"Cannot partition by {unknown[0]!r}; choose from {', '.join(PARTITIONS)}."
        )
    clash = [p for p in partition_by if p in frame.columns]
    if clash:
        raise UnsupportedFormatError(
            f"The events have an attribute {clash[0]!r}, the name of a partition; "
            "partition by the others."
        )
    if folder.exists() and any(folder.iterdir()):
        raise UnsupportedFormatError(
            f"{folder} is not empty; write a partitioned export to a new or empty folder."
        )
    times = frame[TIMESTAMP_KEY].dt.tz_convert("UTC")
    derived = {
        "source": frame[SOURCE_KEY].astype("int64"),
        "year": times.dt.year.astype("int32"),
        "month": times.dt.month.astype("int32"),
        "day": times.dt.day.astype("int32"),
    }
    table = pa.Table.from_pandas(
        frame.assign(**{p: derived[p] for p in partition_by}), preserve_index=False
    )
    # Written beside it first, then moved into place: a failure leaves no half dataset.
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        ds.write_dataset(
            table,
            scratch,
            format="parquet",
            partitioning=list(partition_by),
            partitioning_flavor="hive",
            basename_template="part-{i}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
        if folder.exists():
            folder.rmdir()  # empty, checked above
        scratch.rename(folder)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return folder


def _suffix_format(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in (
        (".xes.gz", "xes"),
        (".xes", "xes"),
        (".csv", "csv"),
        (".xlsx", "xlsx"),
        (".parquet", "parquet"),
    ):
        if name.endswith(suffix):
            return kind
    raise UnsupportedFormatError(
        f"{path.name}: cannot tell the format from the name; end it in .xes, .xes.gz, .csv, "
        ".xlsx or .parquet, or pass format=."
    )


def _xes_attribute(key: str, value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    name = quoteattr(key)
    if isinstance(value, bool):
        return f"<boolean key={name} value={quoteattr(str(value).lower())}/>"
    if isinstance(value, int):
        return f"<int key={name} value={quoteattr(str(value))}/>"
    if isinstance(value, float):
        return f"<float key={name} value={quoteattr(repr(value))}/>"
    if isinstance(value, datetime | pd.Timestamp):
        return f"<date key={name} value={quoteattr(value.isoformat())}/>"
    text = str(value)
    if _STORED_DATE.match(text):
        return f"<date key={name} value={quoteattr(text)}/>"
    return f"<string key={name} value={quoteattr(text)}/>"


def _write_xes(frame: pd.DataFrame, handle: IO[str]) -> None:
    handle.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    handle.write('<log xes.version="1.0" xes.features="nested-attributes">\n')
    for prefix, uri in (
        ("concept", "concept"),
        ("time", "time"),
        ("org", "org"),
        ("lifecycle", "lifecycle"),
    ):
        handle.write(
            f'  <extension name="{prefix.title()}" prefix="{prefix}" '
            f'uri="http://www.xes-standard.org/{uri}.xesext"/>\n'
        )
    trace_columns = [c for c in frame.columns if c.startswith(CASE_PREFIX) and c != CASE_ID_KEY]
    event_columns = [c for c in frame.columns if not c.startswith(CASE_PREFIX)]
    for case_id, events in frame.groupby(CASE_ID_KEY, sort=False):
        handle.write(
            f'  <trace>\n    <string key="concept:name" value={quoteattr(str(case_id))}/>\n'
        )
        for column in trace_columns:
            values = events[column].dropna()
            element = (
                _xes_attribute(column[len(CASE_PREFIX) :], _plain(values.iloc[0]))
                if len(values)
                else None
            )
            if element:
                handle.write(f"    {element}\n")
        for record in events[event_columns].itertuples(index=False, name=None):
            handle.write("    <event>\n")
            for column, value in zip(event_columns, record, strict=True):
                element = _xes_attribute(column, _plain(value))
                if element:
                    handle.write(f"      {element}\n")
            handle.write("    </event>\n")
        handle.write("  </trace>\n")
    handle.write("</log>\n")


def _plain(value: Any) -> Any:
    """NumPy scalars to Python ones, so their XES type is right."""
    return value.item() if hasattr(value, "item") and not isinstance(value, pd.Timestamp) else value
