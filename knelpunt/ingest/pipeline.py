"""Record a log in the store: scan, map, convert, validate, write; one transaction."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from knelpunt.errors import Issue, LogValidationError, MappingError, SourceExistsError
from knelpunt.events.model import NewSource, RecordResult
from knelpunt.events.store import EventStore, Recording
from knelpunt.ingest.convert import convert_chunk
from knelpunt.ingest.files import FileFacts, clean_name, scan_file
from knelpunt.ingest.limits import DEFAULT_LIMITS, InputLimits
from knelpunt.ingest.mapping import (
    ColumnMapping,
    MappingSuggestion,
    named_like,
    parse_mapping,
    suggest_mapping,
)
from knelpunt.ingest.minimise import PrivacyPlan, plan_privacy
from knelpunt.ingest.readers import RawLog, frame_log, read_raw
from knelpunt.ingest.timestamps import detect_format
from knelpunt.privacy import PrivacyChoices
from knelpunt.schema import DEFAULT_TIMEZONE

__all__ = ["LogInput", "Privacy", "Progress", "choices_of", "ingest_log", "open_raw", "plan_for"]

LogInput = str | Path | IO[bytes] | pd.DataFrame
Privacy = PrivacyChoices | Literal["off"] | None
Progress = Callable[[int, int | None], None]
_MAX_ISSUES = 10_000


class _SeenRows:
    """Remembers a hash per recorded row to find exact duplicates across chunks.

    Sorted NumPy arrays (8 bytes a hash, 8 a line) rather than a dict: a
    5M-row file costs 80 MB here, not half a gigabyte.
    """

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)
        self.lines = np.empty(0, dtype=np.int64)

    def check(self, hashes: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """For each row: the line it repeats (0 if new); remembers the new ones."""
        repeats = np.zeros(len(hashes), dtype=np.int64)
        if len(self.hashes):
            at = np.searchsorted(self.hashes, hashes).clip(0, len(self.hashes) - 1)
            hit = self.hashes[at] == hashes
            repeats[hit] = self.lines[at[hit]]
        # Duplicates inside the chunk: every later copy points at the first.
        _, first = np.unique(hashes, return_index=True)
        inner = np.ones(len(hashes), dtype=bool)
        inner[first] = False
        if inner.any():
            order = np.argsort(hashes, kind="stable")
            sorted_hashes = hashes[order]
            starts = np.searchsorted(sorted_hashes, sorted_hashes, side="left")
            firsts = lines[order[starts]]
            repeat_of = np.empty(len(hashes), dtype=np.int64)
            repeat_of[order] = firsts
            repeats = np.where((repeats == 0) & inner, repeat_of, repeats)
        new = repeats == 0
        merged_h = np.concatenate([self.hashes, hashes[new]])
        merged_l = np.concatenate([self.lines, lines[new]])
        order = np.argsort(merged_h, kind="stable")
        self.hashes, self.lines = merged_h[order], merged_l[order]
        return repeats


@contextmanager
def _as_path(data: str | Path | IO[bytes], name: str | None) -> Iterator[tuple[Path, str]]:
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file. Check the path and try again.")
        yield path, clean_name(name or path.name)
        return
    # An upload from the dashboard: parsers want a path (rustxes reads files). Its name
    # is the sender's word: it names the source and shows in messages (its suffix
    # tells the format), but never becomes part of a path.
    label = clean_name(name or "upload")
    with tempfile.TemporaryDirectory(prefix="knelpunt-") as folder:
        path = Path(folder) / "upload"
        with path.open("wb") as handle:
            shutil.copyfileobj(data, handle)
        yield path, label


def _frame_hash(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@contextmanager
def open_raw(
    data: LogInput,
    *,
    name: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Iterator[tuple[RawLog, FileFacts | None, str]]:
    """Open any supported input as a :class:`RawLog`; yields (raw, facts, content hash)."""
    if isinstance(data, pd.DataFrame):
        label = name or "DataFrame"
        yield frame_log(data, name=label), None, _frame_hash(data)
        return
    with _as_path(data, name) as (path, label):
        facts = scan_file(path, format=format, encoding=encoding, name=label, limits=limits)
        raw = read_raw(path, facts, name=label, delimiter=delimiter, sheet=sheet, limits=limits)
        try:
            yield raw, facts, facts.sha256
        finally:
            raw.close()


def resolve_mapping(
    raw: RawLog, given: ColumnMapping | Mapping[str, str] | str | None
) -> ColumnMapping:
    """The mapping to use: the format's own, the user's, or the suggestion, completed."""
    if isinstance(given, ColumnMapping):
        mapping = given
    else:
        pairs = parse_mapping(given)
        base = raw.fixed_mapping
        if base is None or pairs:
            suggestion = suggest_mapping(raw.sample) if base is None else MappingSuggestion(base)
            proposed: dict[str, Any] = asdict(base) if base is not None else dict(suggestion.chosen)
            proposed.update(pairs)
            missing = [f for f in ("case_id", "activity", "timestamp") if not proposed.get(f)]
            if missing == ["timestamp"] and named_like(raw.columns, "timestamp"):
                column = named_like(raw.columns, "timestamp")[0]
                examples = [str(v) for v in raw.sample[column].dropna().astype(str).head(3)]
                raise MappingError(
                    f"{raw.name}: column {column!r} holds values like {examples} that are not "
                    "dates in a known format. Map the right column with --mapping "
                    "timestamp=<column>, or give the format, e.g. --timestamp-format "
                    "'%d-%m-%Y %H:%M'."
                )
            if missing:
                hints = "; ".join(
                    f"{f}: candidates {list(suggestion.candidates.get(f, ())) or 'none'}"
                    for f in missing
                )
                raise MappingError(
                    f"{raw.name}: cannot tell which column is the {', '.join(missing)}. "
                    f"Columns: {raw.columns}. {hints}. Map them with e.g. --mapping "
                    "case_id=Zaaknummer,activity=Stap,timestamp=Datum, or "
                    "ColumnMapping(...) in Python."
                )
            mapping = ColumnMapping(**proposed)
        else:
            mapping = base
    mapping.check(raw.columns, file=raw.name)
    if mapping.timestamp_format is None:
        sample = raw.sample[mapping.timestamp]
        if not pd.api.types.is_datetime64_any_dtype(sample.dtype):
            fmt, share = detect_format(sample)
            if fmt is None or share < 0.5:
                examples = [str(v) for v in sample.dropna().astype(str).head(3)]
                raise MappingError(
                    f"{raw.name}: column {mapping.timestamp!r} (the timestamp) holds values "
                    f"like {examples} that are not dates in a known format. Map the right "
                    "column, or give the format, e.g. --timestamp-format '%d-%m-%Y %H:%M'."
                )
            mapping = replace(mapping, timestamp_format=fmt)
    return mapping


def choices_of(privacy: Privacy) -> PrivacyChoices:
    """The choices ``privacy=`` stands for: None is the default (on), ``"off"`` is off."""
    if privacy is None:
        return PrivacyChoices()
    if privacy == "off":
        return PrivacyChoices.off()
    if not isinstance(privacy, PrivacyChoices):
        raise TypeError(f"privacy= takes PrivacyChoices(...), 'off' or None, not {privacy!r}.")
    return privacy


def plan_for(raw: RawLog, mapping: ColumnMapping, privacy: Privacy) -> PrivacyPlan:
    """The privacy plan for a raw log and its resolved mapping."""
    return plan_privacy(
        raw.sample,
        columns=raw.columns,
        mapped=mapping.columns(),
        choices=choices_of(privacy),
        file=raw.name,
        unit=raw.unit,
    )


def ingest_log(
    store: EventStore,
    data: LogInput,
    *,
    name: str | None = None,
    format: str | None = None,
    mapping: ColumnMapping | Mapping[str, str] | str | None = None,
    privacy: Privacy = None,
    mode: Literal["strict", "lenient"] = "strict",
    duplicates: Literal["reject", "keep"] = "reject",
    timezone: str = DEFAULT_TIMEZONE,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    created_by: str | None = None,
    progress: Progress | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> RecordResult:
    """Record a log file or DataFrame in the store as one new source.

    Args:
        store: where to record it.
        data: a path (CSV, Excel .xlsx, XES, XES.gz, Parquet), an open binary
            file (an upload), or a pandas DataFrame in pm4py's columns.
        name: the source's name (default: the file name).
        format: csv, xlsx, xes or parquet; detected from the name and contents.
        mapping: a :class:`ColumnMapping`, a dict, or ``"case_id=Zaak,..."``;
            fields left out are suggested. XES needs none.
        privacy: what to do with personal data (:class:`~knelpunt.privacy.PrivacyChoices`).
            By default case ids and resources are pseudonymised with the key in
            the key file (:mod:`knelpunt.privacy`), and columns where
            :func:`knelpunt.detect_personal_data` finds personal data are
            pseudonymised (BSN, names) or dropped (the rest). ``"off"`` records
            everything as it is: for synthetic data only. The source's details
            keep what was done (``details["privacy"]``) and the key's fingerprint.
        mode: ``strict`` refuses the whole file when any row is bad (the store
            is unchanged); ``lenient`` records the valid rows and keeps every
            refused row with its reason (``store.rejects(source_id)``).
        duplicates: ``reject`` treats an exact copy of an earlier row as bad
            input; ``keep`` records it as a real repeated event.
        timezone: the zone of timestamps that carry no offset.
        encoding: the CSV's encoding; detected (UTF-8, UTF-8 with BOM,
            UTF-16, Windows-1252) when None.
        delimiter: the CSV's delimiter; detected when None.
        sheet: the Excel worksheet (name or index); the first when None.
        created_by: who records it, kept with the source.
        progress: called as ``progress(rows_done, rows_total_or_None)``.
        limits: how far a compressed input (``.xes.gz``, ``.csv.gz``, Excel, Parquet)
            may unpack before reading stops (:class:`InputLimits`).

    Returns:
        What was recorded; ``already_recorded`` when the same bytes were
        recorded before (then nothing is added).

    Raises:
        LogSchemaError: the input cannot be read as a log (the subclasses
            say why: empty, unmapped, malformed, invalid rows in strict mode).
        UnsafeInputError: XML with a DTD or entities.
        InputLimitError: a compressed input unpacks beyond ``limits``.
        UnsupportedFormatError: not a format knelpunt reads.
        PrivacyError: a privacy choice that cannot be applied, or no usable key;
            :class:`~knelpunt.errors.PersonalDataError` when a column left as
            it is turns out to hold personal data further down the file.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> choices = kp.PrivacyChoices(key=b"the client's key, kept elsewhere")
        >>> with kp.open_store(":memory:") as store:
        ...     result = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo",
        ...                            privacy=choices)
        ...     events = kp.read_events(store)
        >>> result.added, result.source.name, result.source.details["privacy"]["pseudonymised"]
        (15, 'demo', True)
        >>> events["case:concept:name"].iloc[0], events["org:resource"].iloc[0]
        ('c-46891007df14cbf40461', 'r-ca5b8b2e3061490fc29d')
    """
    started = time.perf_counter()
    with open_raw(
        data,
        name=name,
        format=format,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        limits=limits,
    ) as (raw, facts, file_hash):
        used = resolve_mapping(raw, mapping)
        plan = plan_for(raw, used, privacy)
        # The same bytes recorded with other privacy choices (or another key) store
        # other values, so they are another source; with the same ones, a repeat.
        content_hash = _recording_hash(file_hash, plan)
        earlier = store.find_source(content_hash=content_hash)
        if earlier is not None:
            return RecordResult(earlier, 0, 0, True, (), time.perf_counter() - started)
        zone = raw.naive_timezone or timezone
        details: dict[str, Any] = {
            "file": raw.name,
            "format": raw.format,
            "mapping": {k: v for k, v in asdict(used).items() if v is not None},
            "timezone": zone,
            "mode": mode,
            "duplicates": duplicates,
            **raw.details,
            "privacy": plan.details(),
            "sha256": file_hash,
        }
        if facts is not None:
            details["bytes"] = facts.size
        source = NewSource(
            name=clean_name(name) if name else raw.name,
            kind="dataframe" if raw.format == "dataframe" else "upload",
            created_by=created_by,
            content_hash=content_hash,
            details=details,
        )
        try:
            with store.recording(source) as recording:
                report = _record_rows(
                    recording,
                    raw,
                    used,
                    plan,
                    zone=zone,
                    mode=mode,
                    duplicates=duplicates,
                    progress=progress,
                )
                recording.finish(report)
                source_id = recording.source_id
        except SourceExistsError as error:
            # Another process recorded the same file a moment ago.
            earlier = store.source(error.source_id)
            return RecordResult(earlier, 0, 0, True, (), time.perf_counter() - started)
    return RecordResult(
        source=store.source(source_id),
        added=int(report["events"]),
        rejected=int(report["rejected"]),
        already_recorded=False,
        warnings=tuple(report["warnings"]),
        seconds=time.perf_counter() - started,
    )


def _recording_hash(file_hash: str, plan: PrivacyPlan) -> str:
    """The file's SHA-256 with what the plan does to it (on or off, per column, the key's
    fingerprint); equal for a repeat, different for another choice or key."""
    privacy = plan.details()
    signature = json.dumps(
        {
            "pseudonymised": privacy["pseudonymised"],
            "actions": sorted(plan.report.actions.items()),
            "key": privacy.get("key_fingerprint"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(f"{file_hash}\n{signature}".encode()).hexdigest()


def _record_rows(
    recording: Recording,
    raw: RawLog,
    mapping: ColumnMapping,
    plan: PrivacyPlan,
    *,
    zone: str,
    mode: str,
    duplicates: str,
    progress: Progress | None,
) -> dict[str, Any]:
    seen = _SeenRows()
    issues: list[Issue] = []
    refused = events = rows = ambiguous = nonexistent = 0
    cases: set[str] = set()
    activities: set[str] = set()
    first = last = None
    date_only = True
    for chunk, lines in raw.chunks():
        converted = convert_chunk(
            plan.apply(chunk, lines),
            lines,
            mapping=mapping,
            timezone=zone,
            file=raw.name,
            unit=raw.unit,
            naive_is_utc=raw.naive_timezone == "UTC",
        )
        batch, rejects, chunk_issues = converted.events, converted.rejects, converted.issues
        ambiguous += converted.times.ambiguous
        nonexistent += converted.times.nonexistent
        date_only = date_only and converted.times.date_only
        if duplicates == "reject" and not batch.empty:
            batch, rejects, chunk_issues = _drop_duplicates(
                seen, batch, rejects, chunk_issues, file=raw.name, unit=raw.unit
            )
        rows += len(chunk)
        refused += len(rejects)
        if len(issues) < _MAX_ISSUES:
            issues.extend(chunk_issues[: _MAX_ISSUES - len(issues)])
        if mode == "lenient" or not issues:
            events += recording.add_events(batch)
        if mode == "lenient":
            recording.add_rejects(rejects)
        if not batch.empty:
            cases.update(batch["case_id"].unique())
            activities.update(batch["activity"].unique())
            low, high = int(batch["time_us"].min()), int(batch["time_us"].max())
            first = low if first is None else min(first, low)
            last = high if last is None else max(last, high)
        if progress is not None:
            progress(rows, raw.total if raw.total is not None else raw.estimate(rows))
    if issues and (mode == "strict" or events == 0):
        issues.sort(key=lambda i: i.line or 0)
        raise LogValidationError(raw.name, issues, refused)
    warnings = list(plan.report.warnings)
    if ambiguous:
        warnings.append(
            f"{ambiguous} timestamp(s) fell in the hour that occurs twice when daylight saving "
            f"ends in {zone}; they were read as the first (summer-time) occurrence."
        )
    if nonexistent:
        warnings.append(
            f"{nonexistent} timestamp(s) fell in the hour skipped when daylight saving starts "
            f"in {zone}; they were moved forward by one hour."
        )
    if date_only:
        warnings.append(
            "Timestamps carry dates only (no time of day): durations are precise to a day."
        )
    if mode == "lenient" and refused:
        warnings.append(
            f"{refused} row(s) refused and kept with their reason; list them with "
            "'knelpunt rejects SOURCE_ID'."
        )
    return {
        "rows": rows,
        "events": events,
        "rejected": refused,
        "cases": len(cases),
        "activities": len(activities),
        "first_time_us": first,
        "last_time_us": last,
        "ambiguous_times": ambiguous,
        "nonexistent_times": nonexistent,
        "time_precision": "day" if date_only else "as recorded",
        "warnings": warnings,
    }


def _drop_duplicates(
    seen: _SeenRows,
    batch: pd.DataFrame,
    rejects: pd.DataFrame,
    issues: list[Issue],
    *,
    file: str,
    unit: str,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue]]:
    key = batch[["case_id", "activity", "time_us", "lifecycle", "resource", "attributes"]]
    hashes = pd.util.hash_pandas_object(key, index=False).to_numpy()
    # A row is a copy when all its events (a start and an end, say) are those of one
    # earlier row: one hash per row, the wrapping sum of its events' hashes.
    event_lines = batch["line"].to_numpy(dtype=np.int64)
    order = np.argsort(event_lines, kind="stable")
    lines, firsts = np.unique(event_lines[order], return_index=True)
    row_hashes = np.add.reduceat(hashes[order], firsts)
    row_repeats = seen.check(row_hashes, lines)
    repeats = row_repeats[np.searchsorted(lines, event_lines)]
    copies = repeats > 0
    if not copies.any():
        return batch, rejects, issues
    fix = (
        "Remove the copy; if both are real events, record with duplicates='keep' "
        "(--keep-duplicates)."
    )
    # One reject and one issue per row, however many events it gave.
    dup_rows = batch.loc[copies].drop_duplicates("line")
    repeats = repeats[copies][~batch.loc[copies, "line"].duplicated().to_numpy()]
    extra = pd.DataFrame(
        {
            "line": dup_rows["line"].to_numpy(),
            "column": None,
            "value": None,
            "reason": [f"exact copy of {unit} {int(r)}" for r in repeats],
            "raw": dup_rows["attributes"].to_numpy(),
        }
    )
    new_issues = [
        Issue(
            file,
            f"{unit} {int(line)}",
            None,
            None,
            f"exact copy of {unit} {int(r)}",
            fix,
            int(line),
        )
        for line, r in zip(dup_rows["line"], repeats, strict=True)
    ]
    merged = pd.concat([rejects, extra], ignore_index=True) if len(rejects) else extra
    return batch.loc[~copies].reset_index(drop=True), merged, issues + new_issues
