"""Check a log before recording it: what the file looks like, which columns the
mapping would use, and every row that would be refused, with its line, column,
value and what to do about it. Nothing is recorded.

The check records the file in a throwaway in-memory store, in lenient mode, with
the options the real recording will use, so its verdict is the recording's own:
a file that checks clean records clean in strict mode, and the rows it lists
are the rows lenient mode would set aside.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Literal

import pandas as pd

from knelpunt.errors import MappingError
from knelpunt.events.store import open_store
from knelpunt.ingest.limits import DEFAULT_LIMITS, InputLimits
from knelpunt.ingest.mapping import ColumnMapping, MappingSuggestion
from knelpunt.ingest.mapping import suggest_mapping as _suggest
from knelpunt.ingest.minimise import PersonalData, plan_privacy
from knelpunt.ingest.pipeline import Privacy, choices_of, ingest_log, open_raw, resolve_mapping

__all__ = ["LogCheck", "check_log", "detect_personal_data"]

# The rows of the file shown as its preview.
PREVIEW_ROWS = 20


@dataclass(frozen=True, slots=True)
class LogCheck:
    """What recording a file would do.

    Attributes:
        file: the file's name.
        format: csv, xlsx, xes or parquet.
        columns: the file's columns (for XES: the attributes found).
        preview: its first rows, as read.
        suggestion: the mapping suggested for it, with candidates and reasons.
        mapping: the mapping the check used (the given one, completed).
        rows, valid, rejected: rows read, rows that would be recorded, rows
            that would be refused.
        rejects: per refused row: ``line`` (of the file), ``column``, ``value``
            and ``reason`` (what is wrong and what to do).
        cases, events: what would be recorded.
        warnings: what a reader must know (ambiguous times, duplicates, ...).
        personal: the personal data found and what recording does with each
            column (:func:`detect_personal_data`).
    """

    file: str
    format: str
    columns: tuple[str, ...]
    preview: pd.DataFrame
    suggestion: MappingSuggestion
    mapping: Mapping[str, str]
    rows: int
    valid: int
    rejected: int
    rejects: pd.DataFrame
    cases: int
    events: int
    warnings: tuple[str, ...]
    personal: PersonalData

    @property
    def clean(self) -> bool:
        """True when every row would be recorded (strict mode will accept the file)."""
        return self.rejected == 0

    def to_frame(self) -> pd.DataFrame:
        """The refused rows (see :attr:`rejects`)."""
        return self.rejects

    def _repr_html_(self) -> str:
        head = (
            f"<p>{self.file}: {self.rows:,} rows, {self.valid:,} valid, "
            f"{self.rejected:,} refused</p>"
        )
        return head + self.rejects.head(50).to_html(index=False)


def check_log(
    data: str | Path | IO[bytes] | pd.DataFrame,
    *,
    name: str | None = None,
    format: str | None = None,
    mapping: ColumnMapping | Mapping[str, str] | str | None = None,
    duplicates: Literal["reject", "keep"] = "reject",
    timezone: str = "Europe/Amsterdam",
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    privacy: Privacy = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> LogCheck:
    """Check a log file before recording it (see the module documentation).

    The options are those of :func:`knelpunt.ingest_log`. A file that cannot be
    read at all, or whose mapping cannot be completed, raises the same error the
    recording would. The preview shows the first rows as they would be stored:
    the ids pseudonymised, dropped columns left out.

    Example:
        >>> import io
        >>> text = b"Zaak;Stap;Datum\\n1;Melding;31-12-2024 14:05\\n1;Besluit;morgen\\n"
        >>> found = check_log(io.BytesIO(text), name="zaken.csv")
        >>> (found.rows, found.valid, found.rejected)
        (2, 1, 1)
        >>> found.rejects[["line", "column", "value"]].to_dict("records")
        [{'line': 3, 'column': 'Datum', 'value': 'morgen'}]
    """
    if not isinstance(data, str | Path | pd.DataFrame):
        data = io.BytesIO(data.read())  # read twice: once to look, once to check
    with open_raw(
        _again(data),
        name=name,
        format=format,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        limits=limits,
    ) as (raw, facts, _hash):
        suggestion = (
            MappingSuggestion(raw.fixed_mapping)
            if raw.fixed_mapping is not None
            else _suggest(raw.sample)
        )
        resolved = resolve_mapping(raw, mapping)
        choices = choices_of(privacy)
        plan = plan_privacy(
            raw.sample,
            columns=raw.columns,
            mapped=resolved.columns(),
            choices=choices,
            file=raw.name,
            unit=raw.unit,
        )
        head = raw.sample.head(PREVIEW_ROWS).reset_index(drop=True)
        preview = plan.apply(head, head.index.to_numpy() + 1)
        columns = tuple(str(c) for c in raw.columns)
        label = raw.name
        found_format = facts.format if facts is not None else "dataframe"
    with open_store(":memory:") as store:
        result = ingest_log(
            store,
            _again(data),
            name=name or label,
            mapping=mapping,
            mode="lenient",
            duplicates=duplicates,
            timezone=timezone,
            format=format,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            # The key the plan already holds: the check reads the key file once.
            privacy=replace(choices, key=plan.key) if plan.key else choices,
            limits=limits,
        )
        source = result.source
        rejects = store.rejects(source.source_id)
    details = dict(source.details)
    report = dict(source.report)
    used = details.get("mapping") or {}
    rejects = rejects.drop(columns=[c for c in ("raw",) if c in rejects.columns])
    return LogCheck(
        file=label,
        format=str(found_format),
        columns=columns,
        preview=preview,
        suggestion=suggestion,
        mapping={str(k): str(v) for k, v in dict(used).items()},
        rows=int(report.get("rows", source.event_count + source.reject_count)),
        valid=int(report.get("rows", 0)) - int(report.get("rejected", 0)),
        rejected=int(report.get("rejected", 0)),
        rejects=rejects.reset_index(drop=True),
        cases=int(report.get("cases", 0)),
        events=int(report.get("events", source.event_count)),
        warnings=tuple(w for w in report.get("warnings", ()) if "knelpunt rejects" not in str(w)),
        personal=plan.report,
    )


def detect_personal_data(
    data: str | Path | IO[bytes] | pd.DataFrame,
    *,
    name: str | None = None,
    format: str | None = None,
    mapping: ColumnMapping | Mapping[str, str] | str | None = None,
    privacy: Privacy = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> PersonalData:
    """Find personal data in a log's columns, and say what recording will do with it.

    Reads the first 5,000 rows (nothing is recorded, and no key is needed or
    made). Per column: the kind found (BSN by the eleven-test, names, e-mail
    addresses, Dutch phone numbers, postcodes and addresses, dates of birth; see
    :mod:`knelpunt.ingest.personal`), how many rows matched, an example shown
    masked, and the action: the default (pseudonymise BSNs and names, drop the
    rest) or the choice in ``privacy``. The mapped case id and resource are
    listed too: they are pseudonymised unless chosen otherwise. Recording looks
    at the rest of the file as well, and stops at personal data there in a
    column left as it is.

    Args:
        data: a path, an open binary file or a DataFrame, as for
            :func:`knelpunt.ingest_log`, with the same reading options.
        mapping: the columns' mapping (suggested when left out; without a
            complete one, the suggested case id and resource are used).
        privacy: the choices to apply (:class:`~knelpunt.privacy.PrivacyChoices`).

    Example:
        >>> import pandas as pd
        >>> import knelpunt as kp
        >>> log = pd.DataFrame({
        ...     "Zaak": ["Z1", "Z1", "Z2"], "Stap": ["Melding", "Besluit", "Melding"],
        ...     "Datum": ["01-02-2025 09:00", "03-02-2025 10:30", "04-02-2025 11:00"],
        ...     "BSN": ["111222333", "111222333", "123456782"],
        ...     "Telefoon": ["06-12345678", "06-12345678", "020-1234567"]})
        >>> found = kp.detect_personal_data(log, privacy=kp.PrivacyChoices(
        ...     columns={"Telefoon": "keep"}))
        >>> found.to_frame()[["column", "kind", "matched", "example", "action", "chosen"]]
             column     kind  matched      example        action  chosen
        0      Zaak  case_id     <NA>               pseudonymise   False
        1       BSN      bsn        3    1••••••••  pseudonymise   False
        2  Telefoon    phone        3  0•-1•••••••          keep    True
    """
    if not isinstance(data, str | Path | pd.DataFrame):
        data = io.BytesIO(data.read())
    with open_raw(
        data, name=name, format=format, encoding=encoding, delimiter=delimiter, sheet=sheet
    ) as (raw, _facts, _hash):
        try:
            mapped = resolve_mapping(raw, mapping).columns()
        except MappingError:
            suggestion = (
                MappingSuggestion(raw.fixed_mapping)
                if raw.fixed_mapping is not None
                else _suggest(raw.sample)
            )
            mapped = dict(suggestion.chosen)
        plan = plan_privacy(
            raw.sample,
            columns=raw.columns,
            mapped=mapped,
            choices=choices_of(privacy),
            file=raw.name,
            unit=raw.unit,
            key=b"detection only: nothing is pseudonymised",
        )
    return plan.report


def _again(
    data: str | Path | io.BytesIO | pd.DataFrame,
) -> str | Path | io.BytesIO | pd.DataFrame:
    if isinstance(data, io.BytesIO):
        data.seek(0)
    return data
