"""Data minimisation at ingest: decide per column, then apply it to every raw chunk.

:func:`plan_privacy` reads the detection's findings on the file's first rows
(:mod:`knelpunt.ingest.personal`) and the user's choices
(:class:`~knelpunt.privacy.PrivacyChoices`) into a :class:`PrivacyPlan`;
:meth:`PrivacyPlan.apply` then rewrites each raw chunk **before** it is
converted, so the events, the refused rows kept in lenient mode (with their
raw JSON) and every message see only pseudonyms, and dropped columns nowhere.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from knelpunt.errors import PersonalDataError, PrivacyError
from knelpunt.ingest.personal import (
    DEFAULT_ACTIONS,
    JUDGED_VALUES,
    Finding,
    count_values,
    first_match,
    scan_column,
    scan_spread,
    scan_values,
)
from knelpunt.privacy import DIGEST_HEX, Action, PrivacyChoices, key_fingerprint, pseudonym

__all__ = ["ColumnDecision", "PersonalData", "PrivacyPlan", "plan_privacy"]

# Prefixes of the pseudonyms of the mapped ids; other columns get "p-".
ID_PREFIXES: Final = {"case_id": "c-", "resource": "r-"}
# Mapped fields whose values are structure, not people: never dropped or pseudonymised.
_STRUCTURE: Final = ("activity", "timestamp", "start_timestamp", "lifecycle")
_KIND_WORDS: Final = {
    "bsn": "citizen service numbers (BSN)",
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "address": "postcodes or addresses",
    "name": "names of people",
    "birth_date": "dates of birth",
    "person_id": "client numbers",
    "case_id": "case ids",
    "resource": "resources (professionals)",
}


@dataclass(frozen=True, slots=True)
class ColumnDecision:
    """What recording does with one column.

    Attributes:
        column: the file's column.
        kind: the personal data found (``bsn``, ``email``, ``phone``, ``address``,
            ``name``, ``birth_date``), ``case_id`` or ``resource`` for the mapped
            ids, or ``""`` for a column with a choice but nothing found.
        action: ``drop``, ``pseudonymise`` or ``keep``.
        chosen: the user chose it (False: the default).
        finding: what the detection found, if anything.
    """

    column: str
    kind: str
    action: Action
    chosen: bool
    finding: Finding | None = None


@dataclass(frozen=True, slots=True)
class PersonalData:
    """The personal data found in a log and what recording will do with it.

    Attributes:
        file: the file's name.
        rows: the rows the detection read (the first 5,000).
        pseudonymise: pseudonymisation is on (off only when chosen).
        decisions: per column with personal data, the ids, or a choice: its decision.
        warnings: choices that name no column of the file, data kept as chosen.
    """

    file: str
    rows: int
    pseudonymise: bool
    decisions: tuple[ColumnDecision, ...]
    warnings: tuple[str, ...] = ()

    @property
    def actions(self) -> dict[str, Action]:
        """Per decided column, its action."""
        return {d.column: d.action for d in self.decisions}

    @property
    def found(self) -> tuple[ColumnDecision, ...]:
        """The decisions on columns where personal data was found (not the ids)."""
        return tuple(d for d in self.decisions if d.finding is not None)

    def to_frame(self) -> pd.DataFrame:
        """One row per decided column: column, kind, matched, rows, example (masked),
        action and whether it was chosen."""
        return pd.DataFrame(
            {
                "column": [d.column for d in self.decisions],
                "kind": [d.kind for d in self.decisions],
                "matched": pd.array(
                    [d.finding.matched if d.finding else None for d in self.decisions],
                    dtype="Int64",
                ),
                "rows": pd.array(
                    [d.finding.rows if d.finding else None for d in self.decisions], dtype="Int64"
                ),
                "example": [d.finding.example if d.finding else "" for d in self.decisions],
                "action": [d.action for d in self.decisions],
                "chosen": [d.chosen for d in self.decisions],
            }
        )

    def _repr_html_(self) -> str:
        state = "on" if self.pseudonymise else "OFF"
        head = (
            f"<p>{html.escape(self.file)}: personal data in the first {self.rows:,} rows; "
            f"pseudonymisation {state}</p>"
        )
        notes = "".join(f"<p>{html.escape(w)}</p>" for w in self.warnings)
        return head + self.to_frame().to_html(index=False) + notes


@dataclass(frozen=True, slots=True)
class PrivacyPlan:
    """The decisions for a file, ready to apply to its chunks.

    Attributes:
        report: the detection report with every decision.
        watch: columns left as they are, checked again in every chunk.
        fixed: mapped columns that are structure (activity, times, lifecycle).
        judged: columns whose verdict on names and dates of birth stands for the whole
            file (decided, mapped, or with enough values in the sample); any other
            column is judged again in every chunk (:func:`~knelpunt.ingest.personal.scan_spread`).
        file, unit: for messages (``line``, ``row`` or ``event``).
        key: the pseudonym key (never stored; None when nothing is pseudonymised).
    """

    report: PersonalData
    watch: frozenset[str]
    fixed: frozenset[str]
    file: str
    unit: str
    prefixes: Mapping[str, str] = field(default_factory=dict)
    bsn: frozenset[str] = frozenset()
    key: bytes | None = field(default=None, repr=False)
    judged: frozenset[str] = frozenset()

    def details(self) -> dict[str, Any]:
        """What the source's details keep: on or off, the columns and their actions, the
        personal data kept by choice, the key's fingerprint (never the key)."""
        out: dict[str, Any] = {
            "pseudonymised": self.report.pseudonymise,
            "columns": {
                d.column: {"kind": d.kind, "action": d.action, "chosen": d.chosen}
                for d in self.report.decisions
            },
            "kept": sorted(
                d.column for d in self.report.decisions if d.kind and d.action == "keep"
            ),
            "detected_on_rows": self.report.rows,
        }
        if self.key is not None:
            out["method"] = f"HMAC-SHA256, first {DIGEST_HEX} hex digits"
            out["key_fingerprint"] = key_fingerprint(self.key)
        return out

    def apply(self, chunk: pd.DataFrame, lines: np.ndarray) -> pd.DataFrame:
        """The chunk as it may be stored: columns dropped, values pseudonymised; raises
        :class:`PersonalDataError` when a column left as it is holds personal data."""
        actions = self.report.actions
        if self.report.pseudonymise:
            for column in chunk.columns:
                name = str(column)
                if name in actions or name in self.fixed:
                    continue
                self._check(chunk[column], name, lines)
        drop = [c for c in chunk.columns if actions.get(str(c)) == "drop"]
        out = chunk.drop(columns=drop) if drop else chunk
        hashed = [c for c in out.columns if actions.get(str(c)) == "pseudonymise"]
        if not hashed:
            return out
        assert self.key is not None  # a plan that pseudonymises holds its key
        out = out.copy(deep=False)
        for column in hashed:
            name = str(column)
            out[column] = _pseudonymise(
                out[column],
                key=self.key,
                prefix=self.prefixes.get(name, "p-"),
                bsn=name in self.bsn,
            )
        return out

    def _check(self, values: pd.Series, column: str, lines: np.ndarray) -> None:
        found = scan_values(values, column, precise_only=True)
        if found:
            finding = found[0]
            line = first_match(values, finding, lines)
        elif column in self.judged:
            return
        else:
            spread = scan_spread(values, column)
            if spread is None:
                return
            finding, at = spread
            line = int(lines[at])
        where = f"{self.file}, {self.unit} {line}" if line is not None else self.file
        raise PersonalDataError(
            f"{where}: column {column!r} holds {_KIND_WORDS[finding.kind]} (e.g. "
            f"{finding.example!r}) that the first {self.report.rows:,} rows did not show. "
            "Nothing was recorded. Choose what to do with the column and record again: "
            f"--drop {column!r}, --pseudonymise {column!r} or --keep {column!r} on the "
            "command line, the choice under 'Personal data' in the dashboard, or "
            f"PrivacyChoices(columns={{{column!r}: 'drop'}}) in Python."
        )


def _text(values: pd.Series) -> pd.Series:
    """Values as the converter reads them: stripped text, whole floats without '.0',
    None where empty (so a pseudonym matches the value the events would hold)."""
    from knelpunt.ingest.convert import _as_text

    return _as_text(values)


def _pseudonymise(values: pd.Series, *, key: bytes, prefix: str, bsn: bool) -> pd.Series:
    # Distinct values first (a case id repeats over its events): the text work and
    # the HMAC are done once per value, not once per row.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = _text(pd.Series(uniques, dtype=values.dtype if len(uniques) else object))
    if bsn:
        # One person, one pseudonym: '1234.56.782', '123456782' and (a lost leading
        # zero) '12345678' as '012345678' are the same number.
        compact = text.str.replace(r"[ .]", "", regex=True)
        number = compact.str.fullmatch(r"[0-9]{8,9}").fillna(False).astype(bool)
        text = text.where(~number, compact.str.zfill(9))
    names = np.array(
        [None if pd.isna(t) else pseudonym(str(t), key=key, prefix=prefix) for t in text],
        dtype=object,
    )
    out = np.full(len(values), None, dtype=object)
    known = codes >= 0
    out[known] = names[codes[known]]
    return pd.Series(out, index=values.index, dtype=object)


def plan_privacy(
    sample: pd.DataFrame,
    *,
    columns: Collection[str],
    mapped: Mapping[str, str],
    choices: PrivacyChoices,
    file: str,
    unit: str = "row",
    key: bytes | None = None,
) -> PrivacyPlan:
    """Decide per column (see the module documentation).

    Args:
        sample: the file's first rows.
        columns: the file's columns.
        mapped: field → column of the mapping (``case_id``, ``resource``, ...).
        choices: the user's choices.
        file, unit: for messages.
        key: the pseudonym key, if already loaded; else loaded from ``choices``
            when something is to be pseudonymised.

    Raises:
        PrivacyError: a choice that cannot be applied (dropping the case id,
            pseudonymising the timestamp, ...), or a key that cannot be had.
    """
    by_column = {column: name for name, column in mapped.items()}
    fixed = {mapped[f] for f in _STRUCTURE if mapped.get(f)}
    warnings: list[str] = []
    for column, action in choices.columns.items():
        field_name = by_column.get(column)
        if field_name is not None and action == "drop":
            raise PrivacyError(
                f"{file}: column {column!r} is mapped as the {field_name}, so it cannot be "
                "dropped. Map another column as the "
                f"{field_name}, or choose pseudonymise or keep for it."
            )
        if field_name in _STRUCTURE and action == "pseudonymise":
            raise PrivacyError(
                f"{file}: column {column!r} is mapped as the {field_name}; an analysis needs "
                "it as it is, so it cannot be pseudonymised. Choose keep, or map another column."
            )
        if column not in columns:
            warnings.append(
                f"A privacy choice names column {column!r}, which {file} does not have (its "
                f"columns: {', '.join(map(str, columns))}); it applies if the column appears."
            )
    decisions: list[ColumnDecision] = []
    for field_name in ("case_id", "resource"):
        id_column = mapped.get(field_name)
        if not id_column:
            continue
        chosen = choices.action(id_column)
        default: Action = "pseudonymise" if choices.pseudonymise else "keep"
        decisions.append(
            ColumnDecision(id_column, field_name, chosen or default, chosen is not None)
        )
    decided = {d.column for d in decisions}
    for column in columns:
        if column in decided or column in fixed:
            continue
        chosen = choices.action(column)
        mapped_as = by_column.get(column)
        finding = (
            scan_column(sample[column], column)
            if mapped_as is None and column in sample.columns
            else None
        )
        if finding is None:
            if chosen is not None:
                decisions.append(ColumnDecision(column, "", chosen, True))
            continue
        default = DEFAULT_ACTIONS[finding.kind] if choices.pseudonymise else "keep"
        decisions.append(
            ColumnDecision(column, finding.kind, chosen or default, chosen is not None, finding)
        )
        if chosen == "keep":
            warnings.append(
                f"Column {column!r} holds {_KIND_WORDS[finding.kind]} and is kept as you "
                "chose; the source's details record that."
            )
    # Choices for columns not (yet) seen: applied if a later part of the file has them.
    seen = {d.column for d in decisions}
    decisions += [
        ColumnDecision(column, "", action, True)
        for column, action in choices.columns.items()
        if column not in seen and column not in fixed
    ]
    if not choices.pseudonymise:
        kept = [f"{d.column} ({d.kind})" for d in decisions if d.kind and d.action == "keep"]
        warnings.append(
            "Pseudonymisation is off: "
            + (
                f"{', '.join(kept)} recorded as they are. "
                if kept
                else "nothing personal was found to pseudonymise. "
            )
            + "Only do this for data without real people in it (a simulation, a test)."
        )
    report = PersonalData(
        file, len(sample), choices.pseudonymise, tuple(decisions), tuple(warnings)
    )
    if any(d.action == "pseudonymise" for d in decisions) and key is None:
        key = choices.resolve_key()
    watched = frozenset(
        str(c) for c in columns if c not in fixed and c not in {d.column for d in decisions}
    )
    # The sample's verdict on names and dates of birth stands for the file where it was
    # given (decided and mapped columns) or could be (enough values in the sample).
    judged = frozenset(str(c) for c in columns if str(c) not in watched) | frozenset(
        column
        for column in watched
        if column in by_column
        or (column in sample.columns and count_values(sample[column]) >= JUDGED_VALUES)
    )
    return PrivacyPlan(
        report=report,
        watch=watched,
        fixed=frozenset(fixed),
        file=file,
        unit=unit,
        prefixes={
            **{d.column: "r-" for d in decisions if d.kind == "resource"},
            **{mapped[f]: p for f, p in ID_PREFIXES.items() if mapped.get(f)},
        },
        bsn=frozenset(d.column for d in decisions if d.kind == "bsn"),
        key=key if any(d.action == "pseudonymise" for d in decisions) else None,
        judged=judged,
    )
