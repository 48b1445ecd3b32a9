"""Pseudonymisation at ingest: what reaches the store, for every path into it."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.api.types import is_numeric_dtype

import knelpunt as kp
from knelpunt.errors import PersonalDataError, PrivacyError
from knelpunt.privacy import key_fingerprint, load_key, pseudonym
from knelpunt.testing import make_log
from tests.conftest import shared_log

KEY = b"a test key, kept outside the store"
CHOICES = kp.PrivacyChoices(key=KEY)


def _people_csv(path: Path) -> Path:
    """A small export with personal data in several columns."""
    frame = pd.DataFrame(
        {
            "Zaaknummer": ["Z-1042", "Z-1042", "Z-2077", "Z-2077"],
            "Activiteit": ["Melding", "Besluit", "Melding", "Besluit"],
            "Datum": [
                "03-03-2025 09:00",
                "10-03-2025 11:00",
                "04-03-2025 10:00",
                "12-03-2025 09:30",
            ],
            "Medewerker": ["Anouk Visser", "Bram Smit", "Anouk Visser", "Chris Bos"],
            "BSN": ["111222333", "111222333", "1234.56.782", "1234.56.782"],
            "Naam cliënt": ["Jan de Vries", "Jan de Vries", "Fatima el Amrani", "Fatima el Amrani"],
            "Telefoon": ["06-12345678", "06-12345678", "020-7654321", "020-7654321"],
            "E-mail": ["jan@example.org", "jan@example.org", "f.amrani@example.org", ""],
            "Postcode": ["1234 AB 12", "1234 AB 12", "3512 JK", "3512 JK"],
            "Geboortedatum": ["12-04-1980", "12-04-1980", "01-06-1972", "01-06-1972"],
            "Regeling": ["Wmo", "Wmo", "Jeugdwet", "Jeugdwet"],
        }
    )
    frame.to_csv(path, sep=";", index=False)
    return path


def _attributes(store: kp.EventStore) -> list[dict[str, object]]:
    rows = store.read_events()
    return [json.loads(a) if isinstance(a, str) else {} for a in rows["attributes"]]


class TestByDefault:
    """With no choices made: ids pseudonymised, personal data pseudonymised or dropped."""

    def test_ids_and_detected_columns(self, tmp_path: Path) -> None:
        path = _people_csv(tmp_path / "export.csv")
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy=CHOICES)
            events = store.read_events()
            attributes = _attributes(store)
        assert set(events["case_id"]) == {
            pseudonym(c, key=KEY, prefix="c-") for c in ("Z-1042", "Z-2077")
        }
        assert set(events["resource"]) == {
            pseudonym(r, key=KEY, prefix="r-") for r in ("Anouk Visser", "Bram Smit", "Chris Bos")
        }
        # BSN and name pseudonymised (the BSN written with dots is the same number),
        # contact details, address and birth date dropped, the scheme kept.
        assert {a["BSN"] for a in attributes} == {
            pseudonym("111222333", key=KEY),
            pseudonym("123456782", key=KEY),
        }
        assert {a["Naam cliënt"] for a in attributes} == {
            pseudonym("Jan de Vries", key=KEY),
            pseudonym("Fatima el Amrani", key=KEY),
        }
        for gone in ("Telefoon", "E-mail", "Postcode", "Geboortedatum"):
            assert all(gone not in a for a in attributes), gone
        assert {a["Regeling"] for a in attributes} == {"Wmo", "Jeugdwet"}
        privacy = result.source.details["privacy"]
        assert privacy["pseudonymised"] is True
        assert privacy["key_fingerprint"] == key_fingerprint(KEY)
        assert KEY.hex() not in json.dumps(result.source.details)
        assert {c: v["kind"] for c, v in privacy["columns"].items()} == {
            "Zaaknummer": "case_id", "Medewerker": "resource", "BSN": "bsn",
            "Naam cliënt": "name", "Telefoon": "phone", "E-mail": "email",
            "Postcode": "address", "Geboortedatum": "birth_date",
        }  # fmt: skip
        assert privacy["kept"] == []

    def test_the_key_file_is_used_and_made_outside_the_store(self, tmp_path: Path) -> None:
        """Without a key given, the key file (here the tests' own) holds it."""
        path = _people_csv(tmp_path / "export.csv")
        with kp.open_store(str(tmp_path / "k.db")) as store:
            result = kp.ingest_log(store, path)
            cases = set(store.read_events()["case_id"])
        key = load_key()
        assert result.source.details["privacy"]["key_fingerprint"] == key_fingerprint(key)
        assert cases == {pseudonym(c, key=key, prefix="c-") for c in ("Z-1042", "Z-2077")}

    def test_a_keep_is_the_users_and_is_recorded(self, tmp_path: Path) -> None:
        path = _people_csv(tmp_path / "export.csv")
        choices = CHOICES.choose({"Postcode": "keep", "BSN": "drop"})
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy=choices)
            attributes = _attributes(store)
        assert {a["Postcode"] for a in attributes} == {"1234 AB 12", "3512 JK"}
        assert all("BSN" not in a for a in attributes)
        privacy = result.source.details["privacy"]
        assert privacy["kept"] == ["Postcode"]
        assert privacy["columns"]["Postcode"] == {
            "kind": "address",
            "action": "keep",
            "chosen": True,
        }
        assert privacy["columns"]["BSN"]["chosen"] is True
        assert any("'Postcode'" in w and "kept as you chose" in w for w in result.warnings)

    def test_off_records_everything_and_says_so(self, tmp_path: Path) -> None:
        path = _people_csv(tmp_path / "export.csv")
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy="off")
            events = store.read_events()
        assert set(events["case_id"]) == {"Z-1042", "Z-2077"}
        privacy = result.source.details["privacy"]
        assert privacy["pseudonymised"] is False
        assert "key_fingerprint" not in privacy
        assert set(privacy["kept"]) == {
            "Zaaknummer", "Medewerker", "BSN", "Naam cliënt", "Telefoon", "E-mail", "Postcode",
            "Geboortedatum",
        }  # fmt: skip
        assert any(w.startswith("Pseudonymisation is off") for w in result.warnings)


class TestChoicesThatCannotApply:
    """Choices that would break the log are refused before anything is read."""

    def test_dropping_a_mapped_column(self, tmp_path: Path) -> None:
        path = _people_csv(tmp_path / "export.csv")
        with (
            kp.open_store(":memory:") as store,
            pytest.raises(PrivacyError, match="as the case_id"),
        ):
            kp.ingest_log(store, path, privacy=CHOICES.choose({"Zaaknummer": "drop"}))
        with (
            kp.open_store(":memory:") as store,
            pytest.raises(PrivacyError, match="cannot be pseudonymised"),
        ):
            kp.ingest_log(store, path, privacy=CHOICES.choose({"Datum": "pseudonymise"}))

    def test_a_choice_for_a_column_the_file_lacks_is_a_warning(self, tmp_path: Path) -> None:
        path = _people_csv(tmp_path / "export.csv")
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy=CHOICES.choose({"Telefon": "drop"}))
        assert any("'Telefon'" in w for w in result.warnings)

    def test_keeping_the_ids_is_a_choice_too(self, tmp_path: Path) -> None:
        path = _people_csv(tmp_path / "export.csv")
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy=CHOICES.choose({"Medewerker": "keep"}))
            events = store.read_events()
        assert set(events["resource"]) == {"Anouk Visser", "Bram Smit", "Chris Bos"}
        assert events["case_id"].str.startswith("c-").all()
        assert result.source.details["privacy"]["kept"] == ["Medewerker"]


def test_personal_data_further_down_stops_the_recording(tmp_path: Path) -> None:
    """A column clean in the first 5,000 rows but with a BSN at line 6,002: nothing is
    stored, and the message names the line and the way out."""
    n = 6500
    frame = pd.DataFrame(
        {
            "Zaak": [f"Z{i // 5}" for i in range(n)],
            "Stap": ["Melding"] * n,
            "Datum": pd.date_range("2024-01-01", periods=n, freq="min").strftime("%d-%m-%Y %H:%M"),
            "Kenmerk": ["A"] * n,
        }
    )
    frame.loc[6000, "Kenmerk"] = "111222333 (bsn moeder)"
    path = tmp_path / "late.csv"
    frame.to_csv(path, index=False)
    with kp.open_store(":memory:") as store:
        with pytest.raises(PersonalDataError) as caught:
            kp.ingest_log(store, path, privacy=CHOICES)
        assert store.sources() == []
        message = str(caught.value)
        assert "late.csv, line 6002" in message
        assert "--drop 'Kenmerk'" in message
        assert "111222333" not in message
        result = kp.ingest_log(store, path, privacy=CHOICES.choose({"Kenmerk": "drop"}))
    assert result.added == n


def _empty_at_the_top(path: Path, *, rows: int, first: int) -> Path:
    """An export of ``rows`` rows whose client-name and birth-date columns are empty in
    the first ``first`` rows (the sample's 5,000 see none of them), filled after."""
    names = ["Jan de Vries", "Fatima el Amrani", "Anouk Visser", "Pieter Bakker"]
    frame = pd.DataFrame(
        {
            "Zaak": [f"Z{i // 5}" for i in range(rows)],
            "Stap": ["Melding"] * rows,
            "Datum": pd.date_range("2024-01-01", periods=rows, freq="min").strftime(
                "%d-%m-%Y %H:%M"
            ),
            "Contactpersoon": [None] * first + [names[i % 4] for i in range(rows - first)],
            "Geboortedatum": [None] * first
            + [f"{1 + i % 28:02d}-0{1 + i % 9}-19{50 + i % 40}" for i in range(rows - first)],
            "Regeling": ["Wmo"] * rows,
        }
    )
    frame.to_csv(path, index=False)
    return path


class TestNamesFurtherDown:
    """Names and dates of birth are looked for in the whole file, not only in the
    sample of its first 5,000 rows, at a bounded cost per chunk."""

    def test_a_name_column_empty_at_the_top_is_found(self, tmp_path: Path) -> None:
        """Empty in the first 6,000 rows, names after: nothing is stored, and the
        message names the column, the line its values start at and the way out; with
        a choice for it the file is recorded, the names as pseudonyms."""
        path = _empty_at_the_top(tmp_path / "laat.csv", rows=8_000, first=6_000)
        with kp.open_store(":memory:") as store:
            choices = CHOICES.choose({"Geboortedatum": "drop"})
            with pytest.raises(PersonalDataError) as caught:
                kp.ingest_log(store, path, privacy=choices)
            assert store.sources() == []
            message = str(caught.value)
            assert "laat.csv, line 6002: column 'Contactpersoon' holds names of people" in message
            assert "--pseudonymise 'Contactpersoon'" in message
            assert "Jan de Vries" not in message
            result = kp.ingest_log(
                store, path, privacy=choices.choose({"Contactpersoon": "pseudonymise"})
            )
            held = {a.get("Contactpersoon") for a in _attributes(store)} - {None}
        assert result.added == 8_000
        assert held == {
            pseudonym(n, key=KEY, prefix="p-")
            for n in ("Jan de Vries", "Fatima el Amrani", "Anouk Visser", "Pieter Bakker")
        }

    def test_a_birth_date_column_empty_at_the_top_is_found(self, tmp_path: Path) -> None:
        """The same for dates of birth in a column named as one."""
        path = _empty_at_the_top(tmp_path / "laat.csv", rows=8_000, first=6_000)
        with kp.open_store(":memory:") as store:
            with pytest.raises(PersonalDataError, match="'Geboortedatum' holds dates of birth"):
                kp.ingest_log(store, path, privacy=CHOICES.choose({"Contactpersoon": "drop"}))
            assert store.sources() == []

    def test_each_chunk_is_judged_on_a_bounded_spread(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every chunk of a column the sample could not judge is looked at, on at most
        SPREAD_VALUES of its values, spread over the chunk (names only at its end are
        found); a column the sample could judge is not looked at again."""
        from knelpunt.ingest import minimise, personal, readers

        monkeypatch.setattr(readers, "CHUNK_ROWS", 3_000)
        monkeypatch.setattr(personal, "SPREAD_VALUES", 200)
        parts: list[str] = []  # the columns of each part looked at again
        judged: list[int] = []  # how many values each look for names judged
        spread, scan = personal.scan_spread, personal.scan_values

        def spreading(values: pd.Series, column: str) -> object:
            parts.append(column)
            return spread(values, column)

        def counting(values: pd.Series, column: str, **options: bool) -> object:
            if not options.get("precise_only"):
                judged.append(len(values))
            return scan(values, column, **options)

        monkeypatch.setattr(minimise, "scan_spread", spreading)
        path = _empty_at_the_top(tmp_path / "laat.csv", rows=20_000, first=17_500)
        monkeypatch.setattr(personal, "scan_values", counting)
        with kp.open_store(":memory:") as store:
            with pytest.raises(PersonalDataError) as caught:
                kp.ingest_log(store, path, privacy=CHOICES.choose({"Geboortedatum": "drop"}))
            assert store.sources() == []
        assert "line 17502: column 'Contactpersoon'" in str(caught.value)
        # Every part up to the one with the names (rows 15,000 to 17,999), not 'Regeling':
        # the sample could judge it (5,000 values).
        assert parts == ["Contactpersoon"] * 6
        # The sample's columns (5,000 rows each), then the one part with names: 200 of
        # its 500 values, spread over it.
        assert judged[-1] == 200
        assert all(n == 5_000 for n in judged[:-1])


def test_lenient_rejects_keep_no_personal_data(tmp_path: Path) -> None:
    """A refused row is kept with its raw JSON: after pseudonymisation, not before."""
    frame = pd.DataFrame(
        {
            "Zaak": ["Z-1", "Z-1", "Z-2"],
            "Stap": ["Melding", "Besluit", "Melding"],
            "Datum": ["01-02-2025 09:00", "gisteren", "03-02-2025 10:00"],
            "Medewerker": ["Anouk Visser", "Bram Smit", "Anouk Visser"],
            "Telefoon": ["06-11112222", "06-33334444", "06-55556666"],
        }
    )
    with kp.open_store(":memory:") as store:
        result = kp.ingest_log(store, frame, privacy=CHOICES, mode="lenient")
        rejects = store.rejects(result.source.source_id)
    raw = json.loads(rejects["raw"].iloc[0])
    assert raw == {
        "Zaak": pseudonym("Z-1", key=KEY, prefix="c-"),
        "Stap": "Besluit",
        "Datum": "gisteren",
        "Medewerker": pseudonym("Bram Smit", key=KEY, prefix="r-"),
    }


def test_check_log_shows_the_rows_as_stored(tmp_path: Path) -> None:
    path = _people_csv(tmp_path / "export.csv")
    found = kp.check_log(path, privacy=CHOICES)
    assert found.preview["Zaaknummer"].str.startswith("c-").all()
    assert "Telefoon" not in found.preview.columns
    assert found.personal.actions["Telefoon"] == "drop"
    assert found.clean


# -- every path into the store ---------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".xes"])
def test_every_format_is_pseudonymised_alike(tmp_path: Path, suffix: str) -> None:
    """The same log as CSV, Excel, Parquet and XES gets the same pseudonyms: sources
    recorded with one key join, whatever their format."""
    log = make_log(cases=4, seed=2)
    with kp.open_store(":memory:") as plain:
        kp.ingest_log(plain, log, privacy="off")
        path = tmp_path / f"log{suffix}"
        if suffix == ".xlsx":
            kp.read_events(plain, positions=False).assign(
                **{"time:timestamp": lambda f: f["time:timestamp"].dt.tz_localize(None)}
            ).to_excel(path, index=False)
        else:
            kp.export_log(plain, path)
    raw_cases = set(log["case:concept:name"])
    with kp.open_store(":memory:") as store:
        result = kp.ingest_log(store, path, privacy=CHOICES)
        events = kp.read_events(store)
    assert set(events["case:concept:name"]) == {
        pseudonym(c, key=KEY, prefix="c-") for c in raw_cases
    }
    assert set(events["org:resource"]) == {
        pseudonym(r, key=KEY, prefix="r-") for r in set(log["org:resource"])
    }
    assert result.source.details["privacy"]["pseudonymised"]


# -- properties ----------------------------------------------------------------------

_ids = st.text(alphabet=string.ascii_uppercase, min_size=8, max_size=12)
_names = st.tuples(
    st.sampled_from(["Anouk", "Bram", "Chris", "Dewi", "Fatima", "Mohammed", "Sanne", "Jan"]),
    st.sampled_from(["de Vries", "Jansen", "el Amrani", "van der Berg", "Bakker", "Yilmaz"]),
    st.text(alphabet=string.ascii_lowercase, min_size=4, max_size=6),
).map(lambda t: f"{t[0]} {t[1]}{t[2].capitalize()}")


def _bsn(body: int) -> str:
    digits = f"{body:08d}"
    check = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
    return digits + str(check) if check < 10 else ""  # no valid BSN has this body


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cases=st.lists(_ids, min_size=2, max_size=6, unique=True),
    people=st.lists(_names, min_size=2, max_size=4, unique=True),
    bodies=st.lists(st.integers(10_000_000, 99_999_999), min_size=2, max_size=6, unique=True),
    seed=st.integers(0, 1000),
)
def test_no_original_value_reaches_the_store_file(
    tmp_path_factory: pytest.TempPathFactory,
    cases: list[str],
    people: list[str],
    bodies: list[int],
    seed: int,
) -> None:
    """Not in the events, the refused rows, the sources' details, nor anywhere else in
    the SQLite file's bytes: no case id, resource, BSN, name, phone or e-mail."""
    rng = np.random.default_rng(seed)
    bsns = [b for b in (_bsn(b) for b in bodies) if b] or ["111222333"]
    n = 3 * len(cases)
    owner = rng.integers(0, len(cases), n)
    frame = pd.DataFrame(
        {
            "Zaak": [cases[i] for i in owner],
            "Stap": [("Melding", "Intake", "Besluit")[i % 3] for i in range(n)],
            "Datum": pd.date_range("2024-03-01 09:00", periods=n, freq="37min").strftime(
                "%d-%m-%Y %H:%M"
            ),
            "Medewerker": [people[i] for i in rng.integers(0, len(people), n)],
            "BSN": [bsns[i % len(bsns)] for i in owner],
            "Cliënt": [people[(i + 1) % len(people)] for i in owner],
            "Telefoon": [f"06-{int(x):08d}" for x in rng.integers(10_000_000, 99_999_999, n)],
            "Mail": [f"{c.lower()}@example.org" for c in (cases[i] for i in owner)],
        }
    )
    frame.loc[0, "Datum"] = "geen datum"  # one refused row, kept with its raw JSON
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / "export.csv"
    frame.to_csv(path, sep=";", index=False)
    db = folder / "store.db"
    with kp.open_store(str(db)) as store:
        result = kp.ingest_log(store, path, privacy=CHOICES, mode="lenient")
        assert result.rejected == 1
    content = b"".join(p.read_bytes() for p in folder.glob("store.db*"))
    assert b"Melding" in content  # the search does find what is there
    originals = {*cases, *people, *bsns, *frame["Telefoon"], *frame["Mail"]}
    found = [v for v in originals if v.encode("utf-8") in content]
    assert found == []


@settings(max_examples=15, deadline=None)
@given(
    shared=st.lists(_ids, min_size=1, max_size=5, unique=True),
    only_a=st.lists(_ids, max_size=4, unique=True),
    only_b=st.lists(_ids, max_size=4, unique=True),
)
def test_two_uploads_with_one_key_join_on_their_pseudonyms(
    shared: list[str], only_a: list[str], only_b: list[str]
) -> None:
    """Sources recorded apart join on pseudonymised case ids exactly as on the originals."""
    a_ids = list(dict.fromkeys([*shared, *only_a]))
    b_ids = list(dict.fromkeys([*shared, *only_b]))

    def log(ids: list[str], activity: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "case:concept:name": ids,
                "concept:name": [activity] * len(ids),
                "time:timestamp": pd.date_range("2024-01-01", periods=len(ids), freq="h", tz="UTC"),
            }
        )

    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, log(a_ids, "A"), name="a", privacy=CHOICES)
        kp.ingest_log(store, log(b_ids, "B"), name="b", privacy=CHOICES)
        events = store.read_events()
    sources = dict(zip(events["case_id"], events["source_id"], strict=False))
    first = set(events.loc[events["source_id"] == 1, "case_id"])
    second = set(events.loc[events["source_id"] == 2, "case_id"])
    assert len(first & second) == len(set(a_ids) & set(b_ids))
    assert first & second == {pseudonym(c, key=KEY, prefix="c-") for c in set(a_ids) & set(b_ids)}
    assert sources  # both recorded


def test_another_key_gives_other_pseudonyms(tmp_path: Path) -> None:
    log = make_log(cases=3, seed=5)
    with kp.open_store(":memory:") as store:
        one = kp.ingest_log(store, log, name="one", privacy=kp.PrivacyChoices(key=b"k" * 32))
        other = kp.ingest_log(
            store, log.assign(cost=0), name="other", privacy=kp.PrivacyChoices(key=b"q" * 32)
        )
        events = store.read_events()
    ids = events.groupby("source_id")["case_id"].apply(set)
    assert ids[one.source.source_id].isdisjoint(ids[other.source.source_id])
    assert (
        one.source.details["privacy"]["key_fingerprint"]
        != other.source.details["privacy"]["key_fingerprint"]
    )


# -- a real log: the same analysis up to renaming --------------------------------------


@pytest.mark.real_logs
def test_a_real_log_analyses_the_same_up_to_renaming(tmp_path: Path) -> None:
    """receipt.csv (CoSeLoG WABO): recorded with and without pseudonymisation, the process
    map, the variants and the blockers are the same once names are mapped."""
    path = shared_log("receipt.csv")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path, name="plain", privacy="off")
        coded = kp.ingest_log(store, path, name="coded", privacy=CHOICES)
        plain_events, coded_events = (
            kp.load_events(store, sources=[1]),
            kp.load_events(store, sources=[2]),
        )
        stored = store.read_events(sources=[2])
        raw = store.read_events(sources=[1])
    assert coded.source.details["privacy"]["pseudonymised"]
    assert stored["case_id"].str.fullmatch(r"c-[0-9a-f]{20}").all()
    assert stored["resource"].dropna().str.fullmatch(r"r-[0-9a-f]{20}").all()
    # Renaming, one to one: every raw case and resource has exactly one pseudonym.
    assert (
        stored["case_id"] == raw["case_id"].map(lambda c: pseudonym(c, key=KEY, prefix="c-"))
    ).all()
    pairs = pd.DataFrame({"raw": raw["resource"], "coded": stored["resource"]}).dropna()
    assert pairs.drop_duplicates().groupby("raw").size().eq(1).all()
    assert pairs.drop_duplicates().groupby("coded").size().eq(1).all()

    plain_map, coded_map = kp.discover_map(plain_events), kp.discover_map(coded_events)
    assert plain_map.to_frame().equals(coded_map.to_frame())
    assert kp.list_variants(plain_events).equals(kp.list_variants(coded_events))
    rename = dict(zip(pairs["raw"], pairs["coded"], strict=True))
    plain_found = kp.find_blockers(kp.split_waiting(plain_events)).to_frame()
    coded_found = kp.find_blockers(kp.split_waiting(coded_events)).to_frame()
    assert len(plain_found) == len(coded_found) > 0
    text_columns = [c for c in plain_found.columns if not is_numeric_dtype(plain_found[c])]
    renamed = plain_found.copy()
    for column in text_columns:
        renamed[column] = renamed[column].map(
            lambda v: rename.get(v, v) if isinstance(v, str) else v
        )
    pd.testing.assert_frame_equal(
        renamed.drop(columns=text_columns), coded_found.drop(columns=text_columns)
    )
    assert list(renamed["activity"]) == list(coded_found["activity"])
