"""Personal data in a log's columns: what kind, how often, and what to do with it.

Six kinds are recognised, by a column's values and, where values alone
cannot tell, by its name:

* ``bsn``: a citizen service number, nine digits (or eight: a leading zero
  lost in a spreadsheet) that pass the eleven-test (:func:`elfproef`), as the
  whole value, or after the word BSN in a text. One in eleven random
  nine-digit numbers passes too, so a column of bare numbers counts only
  when at least half its values pass (a fifth with a name such as ``BSN``).
* ``email``: an e-mail address anywhere in the value.
* ``phone``: a Dutch phone number (``06-12345678``, ``+31 20 123 4567``,
  ``0031...``), not a free service number (0800, 0900).
* ``address``: a Dutch postcode (``1234 AB``), with or without a house
  number; in a text only in capitals (``1234 AB``), so ``2024 en`` is none.
  Also a column named as an address (``adres``, ``straat``, ``huisnummer``).
* ``name``: a person's name: a known first name (the 45,000 of
  gender-guesser's dictionary) followed by capitalised words, initials
  (``J. de Vries``), or ``Jansen, P.``, with Dutch tussenvoegsels between
  (``Fatima el Amrani``, ``Jan van der Berg``). A column counts when half its
  values look like names, or a third when its name says so (``naam``,
  ``achternaam``, ``client naam``; then a surname alone counts too).
* ``birth_date``: a column named as one (``geboortedatum``, ``geb. datum``,
  ``date of birth``) whose values are mostly dates from 1900 to today.
* ``resource`` and ``person_id``: a column that names a professional
  (``behandelaar``, ``Responsible_actor``, ``monitoringResource``) or a client
  (``klantnummer``, ``customer``) by a code of the source system, known by its
  name only (not a team or section). Pseudonymised like the mapped resource
  (``r-``), so the same professional joins across columns.

E-mail addresses, phone numbers, postcodes and a BSN after the word BSN are
precise enough that one value flags the column. The report
(:class:`PersonalData`) gives per column the kind, the rows matched and an
example masked, and the action that recording will take: by default a BSN
or name column is pseudonymised (so sources can still be joined on it) and
the others are dropped; nothing is kept unless a user chooses ``keep``.

Detection reads a sample (the first 5,000 rows). While recording, every
column left as it is is checked again in every chunk (100,000 rows) for BSNs,
e-mail addresses, phone numbers and postcodes, so personal data further down
the file stops the recording instead of reaching the store. Names and dates
of birth are judged by the share of values that look like them, which takes
more work per value: a column the sample could judge (with at least
:data:`JUDGED_VALUES` values) keeps its verdict, and one it could not (empty
or nearly so at the top, or first seen further down, as a sparse XES
attribute) is judged again in every chunk, on at most :data:`SPREAD_VALUES`
of its values spread evenly over the chunk (:func:`scan_spread`): the whole
file is looked at, for at most 1% more values than the chunk holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Final, Literal

import numpy as np
import pandas as pd
import polars as pl

from knelpunt.privacy import Action

__all__ = [
    "DEFAULT_ACTIONS",
    "JUDGED_VALUES",
    "KINDS",
    "SPREAD_VALUES",
    "Finding",
    "Kind",
    "count_values",
    "elfproef",
    "mask",
    "scan_column",
    "scan_spread",
    "scan_values",
]

Kind = Literal["bsn", "email", "phone", "address", "name", "birth_date", "person_id", "resource"]
KINDS: Final = (
    "bsn",
    "email",
    "phone",
    "address",
    "name",
    "birth_date",
    "person_id",
    "resource",
)
DEFAULT_ACTIONS: Final[Mapping[str, Action]] = {
    "bsn": "pseudonymise",
    "name": "pseudonymise",
    "person_id": "pseudonymise",
    "resource": "pseudonymise",
    "email": "drop",
    "phone": "drop",
    "address": "drop",
    "birth_date": "drop",
}
"""What recording does with a column of each kind unless a user chooses otherwise."""

JUDGED_VALUES: Final = 50
"""Values a sample must hold of a column for its verdict on names and dates of birth
to stand for the whole file."""
SPREAD_VALUES: Final = 1_000
"""Values of a column judged for names and dates of birth in each later chunk."""

_EMAIL: Final = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_PHONE_FULL: Final = r"^(?:\+31|0031|0)[1-9][0-9]{8}$"
_PHONE_SERVICE: Final = r"^(?:\+31|0031|0)(?:800|900|906|909)"
_PHONE_TEXT: Final = r"(?:^|[^0-9+])(?:\+31|0031|0)[1-9](?:[ \-]?[0-9]){8}(?:[^0-9]|$)"
_POSTCODE_FULL: Final = (
    r"^[1-9][0-9]{3} ?[A-Za-z]{2}(?:[ ,\-]*[0-9]{1,5}(?: ?[A-Za-z]{1,2}|[ \-][0-9]{1,4})?)?$"
)
_POSTCODE_TEXT: Final = r"(?:^|[^0-9A-Za-z])[1-9][0-9]{3} ?[A-Z]{2}(?:[^A-Za-z]|$)"
_BSN_WORD: Final = r"(?i)(?:^|[^a-z])(?:bsn|burgerservicenummer|sofinummer)(?:[^a-z]|$)"
_NUMBER_IN_TEXT: Final = re.compile(r"(?<![0-9])[0-9][0-9 .]{6,10}[0-9](?![0-9])")

# Column names (lower case, letters and digits only) that say what a column holds.
_HINTS: Final[Mapping[str, re.Pattern[str]]] = {
    "bsn": re.compile(r"bsn|burgerservicenummer|sofinummer"),
    "email": re.compile(r"e?mail"),
    "phone": re.compile(r"telefoon|phone|mobiel|gsm|telnr|^tel$|^mobile"),
    "address": re.compile(r"postcode|zipcode|adres|address|straat|street|huisnummer|huisnr"),
    "birth_date": re.compile(r"geboorte|geboren|birth|^gebdat|^gebdatum|^dob$"),
    "name": re.compile(
        r"^(?:volledige|full|first|last|sur|given|family)?(?:naam|name|namen)$"
        r"|^(?:achter|voor|roep|geslachts|familie|meisjes)(?:naam|namen)$|^voorletters$"
        r"|^(?:naam)?(?:client|klant|burger|aanvrager|melder|ouder|partner|kind|contactpersoon"
        r"|persoon|patient|bewoner|verzoeker|betrokkene|inwoner)(?:naam|name)$"
        r"|^naam(?:client|klant|burger|aanvrager|melder|ouder|partner|kind|contactpersoon"
        r"|persoon|patient|bewoner|verzoeker|betrokkene|inwoner)$"
        r"|^(?:surname|lastname|firstname|achternaam)"
    ),
}
_SURNAME_HINT: Final = re.compile(r"achternaam|surname|lastname|geslachtsnaam|familienaam")
# Columns that name a professional or a client by an id of the source system (BPIC
# 2015's Responsible_actor, receipt's case:responsible, helpdesk's customer): known by
# their name only, as their values are codes. A team or section is not a person.
_PERSON_HINTS: Final = {
    "resource": re.compile(
        r"resource|medewerker|behandelaar|uitvoerder|consulent|casemanager|regisseur"
        r"|employee|responsible|actor|creator|assignee|performer|handler|matricola"
    ),
    "person_id": re.compile(
        r"^(?:case)?(?:client|klant|customer|burger|aanvrager|inwoner|patient)"
        r"(?:id|nr|nummer|number|no)?$"
    ),
}
_GROUP_WORDS: Final = re.compile(r"section|group|groep|team|afdeling|department|unit|sectie")

_TUSSENVOEGSELS: Final = frozenset(
    [
        "van",
        "de",
        "der",
        "den",
        "ter",
        "ten",
        "te",
        "het",
        "'t",
        "in",
        "op",
        "el",
        "al",
        "la",
        "le",
        "du",
        "da",
        "di",
        "von",
        "del",
        "dos",
        "das",
        "bin",
        "ben",
        "ibn",
        "aan",
        "bij",
        "uit",
        "vd",
        "v.d.",
        "d'",
        "o'",
    ]
)
# Words in the first-name dictionary that are also common words in logs.
_NOT_NAMES: Final = frozenset(
    [
        "ja",
        "nee",
        "de",
        "van",
        "an",
        "dag",
        "man",
        "mei",
        "maart",
        "april",
        "augustus",
        "juni",
        "done",
        "al",
        "el",
        "la",
        "le",
        "ben",
        "bin",
        "mark",
        "will",
        "sale",
        "may",
        "june",
        "august",
        "art",
        "job",
        "ray",
        "dean",
        "chance",
        "rich",
        "ever",
        "my",
        "so",
    ]
)
_LETTERS: Final = r"[^\W\d_]"
_WORD: Final = re.compile(rf"^{_LETTERS}(?:{_LETTERS}|['’\-])*$")
_INITIALS: Final = re.compile(rf"^(?:{_LETTERS}\.){{1,5}}$")

# Share of rows that must match before a column counts (see the module documentation).
_SHARE: Final = 0.5
_SHARE_HINTED: Final = 0.2
_SHARE_NAME_HINTED: Final = 0.34


@dataclass(frozen=True, slots=True)
class Finding:
    """Personal data of one kind found in one column.

    Attributes:
        column: the file's column.
        kind: bsn, email, phone, address, name or birth_date.
        rows: the non-empty values looked at.
        matched: how many of them matched.
        example: one matching value, masked (``J•• d• V••••``).
        by_name: the column's name counted towards the finding.
    """

    column: str
    kind: Kind
    rows: int
    matched: int
    example: str = field(default="")
    by_name: bool = False


def elfproef(number: str) -> bool:
    """Does ``number`` pass the eleven-test of a BSN?

    Nine digits d1..d9 pass when 9·d1 + 8·d2 + ... + 2·d8 − d9 is a multiple
    of 11 (and not all zero). Eight digits are read with the leading zero a
    spreadsheet drops; spaces and dots between digits are ignored.

    Example:
        >>> elfproef("111222333"), elfproef("123456782"), elfproef("123456789")
        (True, True, False)
        >>> elfproef("12345672"), elfproef("1234.56.782"), elfproef("000000000")
        (True, True, False)
    """
    digits = re.sub(r"[ .]", "", number)
    if not re.fullmatch(r"[0-9]{8,9}", digits):
        return False
    digits = digits.zfill(9)
    if digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total % 11 == 0


def _elfproef_many(digits: pl.Series) -> np.ndarray:
    """The eleven-test over strings of 8-9 digits, vectorised."""
    if digits.len() == 0:
        return np.zeros(0, dtype=bool)
    padded = digits.str.zfill(9).to_numpy().astype("S9")
    grid = np.frombuffer(padded.tobytes(), dtype=np.uint8).reshape(-1, 9).astype(np.int64) - 48
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
    total = grid @ weights
    passed: np.ndarray = (total % 11 == 0) & grid.any(axis=1)
    return passed


def mask(value: str) -> str:
    """A value with all but the first character of each word hidden.

    Example:
        >>> mask("Jan de Vries"), mask("123456782"), mask("an@gemeente.nl")
        ('J•• d• V••••', '1••••••••', 'a•@g•••••••.n•')
    """
    return re.sub(r"(?<=\w)\w", "•", value)


def _normal(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


def _hinted(column: str, kind: str) -> bool:
    return bool(_HINTS[kind].search(_normal(column)))


@cache
def _first_names() -> frozenset[str]:
    """Lower-case first names from gender-guesser's dictionary (of all countries: a
    municipality's clients and staff have names from everywhere)."""
    data = resources.files("gender_guesser") / "data" / "nam_dict.txt"
    names = set()
    with data.open(encoding="utf-8") as lines:
        for line in lines:
            if line[:1] in ("#", "=", "") or len(line.split()) < 2:
                continue
            names.add(line.split()[1].replace("+", " ").lower())
    return frozenset(names - _NOT_NAMES)


def _looks_like_name(value: str, *, hinted: bool, surnames: bool) -> bool:
    """A person's name by shape and a known first name (see the module documentation)."""
    text = value.strip()
    if not text or len(text) > 80 or any(c.isdigit() for c in text):
        return False
    if "," in text:
        # "Jansen, P." or "Vries, Jan de"
        last, _, first = (p.strip() for p in text.partition(","))
        return _capitalised(last.split()) and (
            bool(_INITIALS.match(first.replace(" ", "")))
            or _capitalised(first.split(), first_name=True)
        )
    words = text.split()
    if hinted and surnames and _capitalised(words):
        return True  # under a surname heading: "Jansen", "de Vries"
    if len(words) == 1:
        # One word: a first name or (under a surname heading) a surname, only where the
        # column's name says it holds names.
        return hinted and words[0].lower() in _first_names()
    head = words[0]
    if _INITIALS.match(head) or (
        len(words) > 1 and _INITIALS.match("".join(w for w in words if _INITIALS.match(w)))
    ):
        rest = [w for w in words if not _INITIALS.match(w)]
        return bool(rest) and _capitalised(rest)
    return head.lower() in _first_names() and head[0].isupper() and _capitalised(words)


def _capitalised(words: list[str], *, first_name: bool = False) -> bool:
    """Capitalised words with lower-case tussenvoegsels between (``Jan van der Berg``)."""
    if not words:
        return False
    proper = [w for w in words if w.lower() not in _TUSSENVOEGSELS or w[0].isupper()]
    if not proper:
        return False
    if first_name and proper[0].lower() not in _first_names():
        return False
    return all(_WORD.match(w) and w[0].isupper() for w in proper)


def _counted(values: pd.Series) -> tuple[pl.Series, np.ndarray]:
    """The distinct non-empty values as stripped text (whole floats without '.0'), most
    frequent first and ties by value, with how many rows hold each; dates are none.

    Values are counted first (in pandas' C hash table), so the text work is done once
    per distinct value, not once per row.
    """
    empty = (pl.Series(values=[], dtype=pl.String), np.zeros(0, dtype=np.int64))
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or pd.api.types.is_bool_dtype(
        values.dtype
    ):
        return empty
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if (whole % 1 == 0).all():
            values = whole.astype("int64")
    counts = values.value_counts(dropna=True, sort=False)
    if counts.empty:
        return empty
    text = pl.Series(
        values=[v if isinstance(v, str) else str(v) for v in counts.index.tolist()],
        dtype=pl.String,
    ).str.strip_chars()
    table = (
        pl.DataFrame({"value": text, "count": counts.to_numpy().astype(np.int64)})
        .filter(pl.col("value") != "")
        .group_by("value")
        .agg(pl.col("count").sum())
        .sort(["count", "value"], descending=[True, False])
    )
    return table["value"], table["count"].to_numpy()


def scan_values(values: pd.Series, column: str, *, precise_only: bool = False) -> list[Finding]:
    """The kinds of personal data in one column's values (see the module documentation).

    Args:
        values: the column (any dtype).
        column: its name, for the name hints.
        precise_only: only BSN, e-mail, phone and postcode (the checks of every chunk
            while recording; names and birth dates are judged on the sample).

    Example:
        >>> found = scan_values(pd.Series(["111222333", "123456782", ""]), "Klant")
        >>> [(f.kind, f.matched, f.rows, f.example) for f in found]
        [('bsn', 2, 2, '1••••••••')]
    """
    found: list[Finding] = []
    if not precise_only and _hinted(column, "birth_date"):
        births = _birth_dates(values, column)
        if births is not None:
            found.append(births)
    # Most frequent first, ties by value: the example shown does not change by run.
    uniques, weights = _counted(values)
    if uniques.len() == 0:
        person = None if precise_only else _person_kind(column)
        if person is not None and not found:
            # Empty in the sample (a sparse XES attribute): its name still says who.
            found.append(Finding(column, person, 0, 0, "", True))
        return found
    total = int(weights.sum())

    def add(kind: Kind, hits: np.ndarray, *, by_name: bool = False) -> None:
        matched = int(weights[hits].sum())
        example = str(uniques.filter(pl.Series(hits))[0])
        found.append(Finding(column, kind, total, matched, mask(example), by_name))

    hits = _precise_hits(uniques)
    # BSN: bare numbers by share; after the word BSN in a text, one is enough.
    hinted = _hinted(column, "bsn")
    share = weights[hits["bsn_number"]].sum() / total
    if hits["bsn_text"].any() or share >= (_SHARE_HINTED if hinted else _SHARE):
        add("bsn", hits["bsn_number"] | hits["bsn_text"], by_name=hinted)
    for kind in ("email", "phone", "address"):
        if hits[kind].any():
            add(kind, hits[kind], by_name=_hinted(column, kind))
    if precise_only:
        return found

    if _hinted(column, "address") and not found:
        # A street and number, a house number: the name says what the values are.
        address = uniques.str.contains(r"[0-9]").to_numpy()
        if weights[address].sum() / total >= _SHARE:
            add("address", address, by_name=True)

    person = _person_kind(column)
    if person is not None and not found:
        add(person, np.ones(len(uniques), dtype=bool), by_name=True)
    name_hint = _hinted(column, "name")
    if not found:
        surnames = bool(_SURNAME_HINT.search(_normal(column)))
        names = np.array(
            [_looks_like_name(v, hinted=name_hint, surnames=surnames) for v in uniques.to_list()],
            dtype=bool,
        )
        share = weights[names].sum() / total if names.any() else 0.0
        if share >= (_SHARE_NAME_HINTED if name_hint else _SHARE):
            add("name", names, by_name=name_hint)
    return found


def _precise_hits(values: pl.Series) -> dict[str, np.ndarray]:
    """Per value: a bare number passing the eleven-test, a BSN after the word BSN, an
    e-mail address, a phone number, a postcode (vectorised, in polars' regex engine)."""
    digits = values.str.replace_all(r"[ .]", "")
    numeric = digits.str.contains(r"^[0-9]{8,9}$").fill_null(False).to_numpy()
    passes = np.zeros(len(values), dtype=bool)
    passes[numeric] = _elfproef_many(digits.filter(pl.Series(numeric)))
    worded = values.str.contains(_BSN_WORD).fill_null(False).to_numpy() & ~numeric
    for i in np.flatnonzero(worded):
        worded[i] = any(elfproef(n) for n in _NUMBER_IN_TEXT.findall(str(values[int(i)])))
    emails = values.str.contains(_EMAIL).fill_null(False).to_numpy()
    compact = values.str.replace_all(r"[ \-().]", "")
    phones = (
        (compact.str.contains(_PHONE_FULL) & ~compact.str.contains(_PHONE_SERVICE))
        | values.str.contains(_PHONE_TEXT)
    ).fill_null(False).to_numpy() & ~emails
    postcodes = (
        (values.str.contains(_POSTCODE_FULL) | values.str.contains(_POSTCODE_TEXT))
        .fill_null(False)
        .to_numpy()
    )
    return {
        "bsn_number": passes,
        "bsn_text": worded,
        "email": emails,
        "phone": phones,
        "address": postcodes,
    }


def _person_kind(column: str) -> Kind | None:
    """``resource`` or ``person_id`` when the column's name says it names one."""
    normal = _normal(column)
    if _GROUP_WORDS.search(normal):
        return None
    if _PERSON_HINTS["resource"].search(normal):
        return "resource"
    if _PERSON_HINTS["person_id"].search(normal):
        return "person_id"
    return None


def _birth_dates(values: pd.Series, column: str) -> Finding | None:
    from knelpunt.ingest.timestamps import detect_format

    present = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        parsed = pd.Series(present)
    else:
        text = present.astype(str).str.strip()
        # Blank values are none (a CSV read as text holds them as "").
        present = text = text[text != ""]
        fmt, share = detect_format(text)
        if fmt is None or share < _SHARE:
            return None
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    if parsed.empty:
        return None
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    plausible = (
        parsed.notna()
        & (parsed >= pd.Timestamp("1900-01-01"))
        & (parsed <= pd.Timestamp(date.today()))
    )
    matched = int(plausible.sum())
    if matched / len(parsed) < _SHARE:
        return None
    first = present[plausible.to_numpy()].iloc[0]
    example = first.date().isoformat() if isinstance(first, pd.Timestamp) else str(first)
    return Finding(column, "birth_date", len(parsed), matched, mask(example), True)


def count_values(values: pd.Series) -> int:
    """How many values of a column are not empty (None, NaN or blank text).

    Example:
        >>> count_values(pd.Series(["Anna de Vries", None, " ", "Piet Jansen"]))
        2
    """
    present = values[values.notna()]
    if present.dtype == object or pd.api.types.is_string_dtype(present.dtype):
        return int((present.astype(str).str.strip() != "").sum())
    return len(present)


def scan_spread(
    values: pd.Series, column: str, *, spread: int | None = None
) -> tuple[Finding, int] | None:
    """Names or dates of birth in a part of a column the sample could not judge, found
    as :func:`scan_values` finds them, on at most ``spread`` (default
    :data:`SPREAD_VALUES`) of its non-empty values spread evenly over the part (so the
    work per part is bounded).

    Returns:
        The finding and the position in ``values`` of the first value judged, or None.

    Example:
        >>> part = pd.Series([None] * 3 + ["Anna de Vries", "Piet Jansen", "Fatima el Amrani"])
        >>> found, at = scan_spread(part, "Contact")
        >>> found.kind, found.matched, found.rows, at
        ('name', 3, 3, 3)
        >>> scan_spread(pd.Series(["Melding", "Intake"]), "Stap") is None
        True
    """
    if pd.api.types.is_bool_dtype(values.dtype) or (
        pd.api.types.is_numeric_dtype(values.dtype) and not _hinted(column, "birth_date")
    ):
        return None  # numbers are no names, and no dates of birth by a name that says so
    # Blank text is no value (a CSV read as text holds blanks as "").
    filled = values.notna().to_numpy() & (values.to_numpy(dtype=object) != "")
    where = np.flatnonzero(filled)
    spread = SPREAD_VALUES if spread is None else spread
    if len(where) > spread:
        where = where[np.linspace(0, len(where) - 1, spread).round().astype(np.int64)]
    if not len(where):
        return None
    picked = values.iloc[where]
    found = [f for f in scan_values(picked, column) if f.kind in ("name", "birth_date")]
    if not found:
        return None
    return max(found, key=lambda f: f.matched), int(where[0])


def scan_column(values: pd.Series, column: str) -> Finding | None:
    """The most telling finding in a column, or None (see :func:`scan_values`).

    Example:
        >>> scan_column(pd.Series(["an@gemeente.nl", "bo@example.org"]), "Contact").kind
        'email'
        >>> scan_column(pd.Series(["Melding", "Intake"]), "Stap") is None
        True
    """
    found = scan_values(values, column)
    if not found:
        return None
    # The kind that matched most rows names the column; a tie goes to the rarer kind.
    return max(found, key=lambda f: (f.matched, -KINDS.index(f.kind)))


def first_match(values: pd.Series, finding: Finding, lines: np.ndarray) -> int | None:
    """The line of the first value of ``values`` that matches ``finding``'s kind (BSN,
    e-mail, phone or postcode)."""
    text = pl.Series(
        values=[
            None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)
            for v in values.tolist()
        ],
        dtype=pl.String,
    ).str.strip_chars()
    hits = _precise_hits(text)
    if finding.kind == "bsn":
        matched = hits["bsn_number"] | hits["bsn_text"]
    else:
        matched = hits.get(finding.kind, np.zeros(len(text), dtype=bool))
    where = np.flatnonzero(matched)
    return int(lines[where[0]]) if len(where) else None
