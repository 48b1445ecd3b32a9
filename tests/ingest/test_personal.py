"""Detecting personal data per column: each detector's hits and the look-alikes it leaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from knelpunt.ingest.personal import elfproef, mask, scan_column, scan_values


def _kinds(values: list[object], column: str = "Kolom") -> set[str]:
    return {f.kind for f in scan_values(pd.Series(values), column)}


def _valid_bsn(body: int) -> str:
    """A nine-digit number that passes the eleven-test, from its first eight digits."""
    digits = f"{body:08d}"
    total = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True))
    check = total % 11
    return digits + str(check) if check < 10 else ""


class TestElfproef:
    """The eleven-test of a BSN."""

    @pytest.mark.parametrize(
        "number", ["111222333", "123456782", "999999990", "12345672", "1234.56.782", "123 456 782"]
    )
    def test_valid_numbers_pass(self, number: str) -> None:
        assert elfproef(number)

    @pytest.mark.parametrize(
        "number",
        ["123456789", "111222334", "000000000", "1234567", "1234567890", "12345678a", "", "abc"],
    )
    def test_invalid_numbers_fail(self, number: str) -> None:
        assert not elfproef(number)

    @given(st.integers(min_value=1, max_value=99_999_999))
    def test_the_check_digit_decides(self, body: int) -> None:
        """Of the ten possible last digits exactly the computed one passes (if any)."""
        valid = _valid_bsn(body)
        passing = [d for d in range(10) if elfproef(f"{body:08d}{d}")]
        assert passing == ([int(valid[-1])] if valid else [])

    def test_about_one_in_eleven_random_numbers_pass(self) -> None:
        rng = np.random.default_rng(1)
        numbers = rng.integers(100_000_000, 999_999_999, 20_000)
        share = np.mean([elfproef(str(n)) for n in numbers])
        assert 0.08 < share < 0.10


class TestBsn:
    """BSNs as whole values by share, after the word BSN in a text one is enough."""

    def test_a_column_of_bsns(self) -> None:
        found = scan_column(pd.Series(["111222333", "123456782", "999999990"]), "Klant")
        assert found is not None
        assert (found.kind, found.matched, found.rows, found.by_name) == ("bsn", 3, 3, False)

    def test_numbers_stored_as_integers_lose_no_leading_zero_check(self) -> None:
        """Excel and Parquet keep a BSN as a number; 012345672 becomes 12345672."""
        assert _kinds([12345672, 111222333, 123456782]) == {"bsn"}
        assert _kinds([12345672.0, 111222333.0]) == {"bsn"}

    def test_random_nine_digit_ids_are_not_bsns(self) -> None:
        """One in eleven passes by chance: a column of ids stays below half."""
        rng = np.random.default_rng(7)
        ids = [str(n) for n in rng.integers(100_000_000, 999_999_999, 2000)]
        assert "bsn" not in _kinds(ids, "Dossiernummer")

    def test_a_name_hint_lowers_the_bar(self) -> None:
        """Under the name BSN a column with typos and gaps still counts."""
        values = ["111222333", "123456789", "123456782", "onbekend", "n.v.t."]
        assert "bsn" not in _kinds(values, "Nummer")
        assert _kinds(values, "BSN cliënt") == {"bsn"}

    def test_after_the_word_bsn_in_a_text(self) -> None:
        notes = ["Gebeld, BSN 111222333 gecontroleerd", "geen bijzonderheden", "ok"]
        assert "bsn" in _kinds(notes, "Toelichting")
        assert "bsn" not in _kinds(["factuur 111222333 betaald", "ok"], "Toelichting")


class TestContacts:
    """E-mail addresses and Dutch phone numbers, whole or inside a text."""

    @pytest.mark.parametrize(
        "value", ["an.devries@gemeente.nl", "mail naar b.jansen+zorg@example.org svp"]
    )
    def test_email(self, value: str) -> None:
        assert "email" in _kinds([value, "ok"])

    @pytest.mark.parametrize("value", ["e-mail", "via mail", "@gemeente", "a@b"])
    def test_not_email(self, value: str) -> None:
        assert "email" not in _kinds([value])

    @pytest.mark.parametrize(
        "value",
        ["06-12345678", "0612345678", "+31 6 12345678", "0031612345678", "020-1234567",
         "(010) 123 45 67", "bel terug op 06 123 456 78"],
    )  # fmt: skip
    def test_phone(self, value: str) -> None:
        assert "phone" in _kinds([value])

    @pytest.mark.parametrize(
        "value", ["0800-1234567", "0900-1234567", "12345678", "2024-01-31", "0000012345", "+3161"]
    )
    def test_not_phone(self, value: str) -> None:
        assert "phone" not in _kinds([value])


class TestAddress:
    """Postcodes with or without house number; in text only in capitals."""

    @pytest.mark.parametrize(
        "value",
        ["1234 AB", "1234AB 12", "2511 cv, 10-2", "3512 JK 4a", "Kerkstraat 1, 3512 JK Utrecht"],
    )
    def test_postcode(self, value: str) -> None:
        assert "address" in _kinds([value])

    @pytest.mark.parametrize(
        "value", ["in 2024 en 2025", "0123 AB", "1234", "12345 AB", "Wmo 2015 art 2"]
    )
    def test_not_postcode(self, value: str) -> None:
        assert "address" not in _kinds([value])

    def test_an_address_column_by_its_name(self) -> None:
        assert _kinds(["Kerkstraat 1", "Dorpsweg 22a"], "Adres") == {"address"}
        assert _kinds(["12", "14a", "3"], "Huisnummer") == {"address"}
        assert "address" not in _kinds(["Kerkstraat 1", "Dorpsweg 22a"], "Locatie")


class TestNames:
    """Names of people by a first-name dictionary and their shape."""

    @pytest.mark.parametrize(
        "values",
        [
            ["Jan de Vries", "Fatima el Amrani", "Piet van der Berg", "Anouk Jansen"],
            ["J. de Vries", "A.B. Jansen", "P. Bakker", "M. van Dijk"],
            ["Jansen, P.", "Vries, Jan de", "Bakker, Anna", "Dijk, M. van"],
        ],
    )
    def test_names_by_their_values(self, values: list[str]) -> None:
        assert _kinds(values, "Betrokkene") == {"name"}

    @pytest.mark.parametrize(
        "values",
        [
            ["Wijkteam Noord", "Sociaal Team", "Wmo-loket", "Jeugd"],
            ["Melding Ontvangen", "Intake Gepland", "Besluit Genomen", "Afgewezen"],
            ["Open", "Gesloten", "In Behandeling", "Toegekend"],
            ["Amsterdam", "Den Haag", "Rotterdam", "Utrecht"],
            ["Huishoudelijke Ondersteuning", "Begeleiding Individueel", "Vervoer"],
        ],
    )
    def test_not_names(self, values: list[str]) -> None:
        assert "name" not in _kinds(values, "Omschrijving")

    def test_a_name_column_by_its_heading(self) -> None:
        """Surnames alone, and first names alone, only under a heading that says so."""
        surnames = ["Jansen", "de Vries", "Bakker", "van Dijk"]
        assert _kinds(surnames, "Achternaam") == {"name"}
        assert "name" not in _kinds(surnames, "Wijk")
        first = ["Anouk", "Bram", "Chris", "Dewi"]
        assert _kinds(first, "Voornaam") == {"name"}
        assert "name" not in _kinds(first, "Kleur")


class TestBirthDates:
    """Dates of birth: by the column's name and dates from 1900 until today."""

    def test_birth_dates(self) -> None:
        found = scan_column(pd.Series(["12-04-1980", "01-01-1955", "31-12-2001"]), "Geb. datum")
        assert found is not None
        assert (found.kind, found.matched) == ("birth_date", 3)
        dates = pd.Series(pd.to_datetime(["1980-04-12", "1955-01-01"]))
        assert _kinds(list(dates), "Geboortedatum") == {"birth_date"}

    def test_blank_values_between_the_dates(self) -> None:
        """Blanks (a CSV read as text holds them as "") are no values: the dates are
        found among them, the example taken from a date."""
        found = scan_column(pd.Series(["", "12-04-1980", "  ", "01-06-1972"]), "Geboortedatum")
        assert found is not None
        assert (found.kind, found.rows, found.matched) == ("birth_date", 2, 2)
        assert found.example.startswith("1")

    def test_other_dates_are_not(self) -> None:
        assert _kinds(["12-04-1980", "01-01-1955"], "Startdatum") == set()
        assert _kinds(["12-04-2090", "01-01-2095", "1-1-2099"], "Geboortedatum") == set()


class TestPeopleByColumnName:
    """Codes that name a professional or a client are known by the column's name."""

    @pytest.mark.parametrize(
        ("column", "kind"),
        [
            ("case:Responsible_actor", "resource"),
            ("monitoringResource", "resource"),
            ("Behandelaar", "resource"),
            ("case:creator", "resource"),
            ("Klantnummer", "person_id"),
            ("customer", "person_id"),
            ("Cliënt ID", "person_id"),
        ],
    )
    def test_named_as_a_person(self, column: str, kind: str) -> None:
        assert _kinds(["560464", "560521", "4901428"], column) == {kind}

    @pytest.mark.parametrize(
        "column", ["responsible_section", "Behandelend team", "org:group", "Regeling", "Product"]
    )
    def test_not_a_person(self, column: str) -> None:
        assert _kinds(["560464", "560521", "4901428"], column) == set()

    def test_an_empty_sample_still_counts_by_name(self) -> None:
        """A sparse XES attribute may have no value in the first rows."""
        found = scan_column(pd.Series([None, None], dtype=object), "matricola")
        assert found is not None
        assert (found.kind, found.rows) == ("resource", 0)


def test_masks_hide_all_but_the_first_character_of_each_word() -> None:
    assert mask("Jan de Vries") == "J•• d• V••••"
    assert mask("06-12345678") == "0•-1•••••••"
    for value in ("111222333", "an@gemeente.nl", "1234 AB 12"):
        hidden = mask(value)
        assert len(hidden) == len(value)
        assert value not in hidden


def test_empty_and_clean_columns_find_nothing() -> None:
    assert scan_values(pd.Series([None, "", "  "]), "Naam") == []
    assert scan_column(pd.Series([1.5, 2.25, 3.0]), "Bedrag") is None
    assert scan_column(pd.Series(pd.to_datetime(["2024-01-01"])), "Datum") is None
