"""Pseudonymisation on the command line: the defaults, the choices, the report."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.privacy import key_fingerprint, load_key, pseudonym

runner = CliRunner()


def _export(path: Path) -> Path:
    pd.DataFrame(
        {
            "Zaak": ["Z-1", "Z-1", "Z-2"],
            "Stap": ["Melding", "Besluit", "Melding"],
            "Datum": ["03-03-2025 09:00", "04-03-2025 10:00", "05-03-2025 11:00"],
            "Medewerker": ["Anouk Visser", "Bram Smit", "Anouk Visser"],
            "Telefoon": ["06-12345678", "06-12345678", "06-87654321"],
            "Postcode": ["1234 AB", "1234 AB", "3512 JK"],
            "Regeling": ["Wmo", "Wmo", "Jeugdwet"],
        }
    ).to_csv(path, sep=";", index=False)
    return path


def _recorded(store: str) -> tuple[pd.DataFrame, kp.Source]:
    with kp.open_store(store) as opened:
        return opened.read_events(), opened.sources()[-1]


def test_ingest_pseudonymises_by_default_with_the_key_file(tmp_path: Path) -> None:
    csv, store, key_file = _export(tmp_path / "e.csv"), str(tmp_path / "k.db"), tmp_path / "k.key"
    result = runner.invoke(
        app, ["ingest", str(csv), "--store", store, "--key-file", str(key_file), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = load_key(key_file)
    events, source = _recorded(store)
    assert set(events["case_id"]) == {pseudonym(c, key=key, prefix="c-") for c in ("Z-1", "Z-2")}
    assert set(events["resource"]) == {
        pseudonym(r, key=key, prefix="r-") for r in ("Anouk Visser", "Bram Smit")
    }
    attributes = [json.loads(a) for a in events["attributes"]]
    assert [sorted(a) for a in attributes] == [["Regeling"]] * 3  # phone, postcode dropped
    assert source.details["privacy"]["key_fingerprint"] == key_fingerprint(key)
    # `knelpunt pseudonym` names the same professional alike, e.g. for a profile's teams.
    shown = runner.invoke(app, ["pseudonym", "Anouk Visser", "--key-file", str(key_file)])
    assert shown.stdout.split() == [
        "Anouk",
        "Visser",
        pseudonym("Anouk Visser", key=key, prefix="r-"),
    ]


def test_choices_per_column_and_their_record(tmp_path: Path) -> None:
    csv, store = _export(tmp_path / "e.csv"), str(tmp_path / "k.db")
    result = runner.invoke(
        app,
        ["ingest", str(csv), "--store", store, "--keep", "Postcode", "--pseudonymise",
         "Regeling", "--keep", "Medewerker"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "'Postcode' holds postcodes or addresses and is kept as you chose" in result.stdout
    events, source = _recorded(store)
    attributes = [json.loads(a) for a in events["attributes"]]
    assert {a["Postcode"] for a in attributes} == {"1234 AB", "3512 JK"}
    assert all(a["Regeling"].startswith("p-") for a in attributes)
    assert set(events["resource"]) == {"Anouk Visser", "Bram Smit"}
    assert sorted(source.details["privacy"]["kept"]) == ["Medewerker", "Postcode"]


def test_no_pseudonymise_warns_and_records_as_is(tmp_path: Path) -> None:
    csv, store = _export(tmp_path / "e.csv"), str(tmp_path / "k.db")
    result = runner.invoke(app, ["ingest", str(csv), "--store", store, "--no-pseudonymise"])
    assert result.exit_code == 0, result.output
    assert "warning: pseudonymisation is off" in result.stderr
    events, source = _recorded(store)
    assert set(events["case_id"]) == {"Z-1", "Z-2"}
    assert source.details["privacy"]["pseudonymised"] is False


def test_a_choice_that_cannot_apply_exits_with_the_fix(tmp_path: Path) -> None:
    csv, store = _export(tmp_path / "e.csv"), str(tmp_path / "k.db")
    dropped = runner.invoke(app, ["ingest", str(csv), "--store", store, "--drop", "Zaak"])
    assert dropped.exit_code == 3
    assert "'Zaak' is mapped as the case_id, so it cannot be dropped" in dropped.stderr
    twice = runner.invoke(
        app, ["ingest", str(csv), "--store", store, "--drop", "Telefoon", "--keep", "Telefoon"]
    )
    assert twice.exit_code == 3
    assert "both as drop and as keep" in twice.stderr
    with kp.open_store(store) as opened:
        assert opened.sources() == []


def test_the_profile_holds_the_choices(tmp_path: Path) -> None:
    profile = tmp_path / "klant.yaml"
    profile.write_text(
        "name: Klant\nprivacy:\n  columns:\n    Postcode: keep\n    Regeling: drop\n"
    )
    csv, store = _export(tmp_path / "e.csv"), str(tmp_path / "k.db")
    result = runner.invoke(
        app, ["ingest", str(csv), "--store", store, "--profile", str(profile), "--drop", "Postcode"]
    )
    assert result.exit_code == 0, result.output
    events, source = _recorded(store)
    assert all(json.loads(a) == {} for a in events["attributes"].fillna("{}"))  # all dropped
    assert source.details["privacy"]["columns"]["Postcode"]["action"] == "drop"


def test_privacy_shows_what_is_found_and_records_nothing(tmp_path: Path) -> None:
    csv = _export(tmp_path / "e.csv")
    result = runner.invoke(app, ["privacy", str(csv), "--keep", "Postcode", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    rows = {
        r["column"]: (r["kind"], r["matched"], r["action"], r["chosen"]) for r in shown["columns"]
    }
    assert rows == {
        "Zaak": ("case_id", None, "pseudonymise", False),
        "Medewerker": ("resource", None, "pseudonymise", False),
        "Telefoon": ("phone", 3, "drop", False),
        "Postcode": ("address", 3, "keep", True),
    }
    assert "06-12345678" not in result.stdout
    table = runner.invoke(app, ["privacy", str(csv)])
    assert "Telefoon" in table.stdout
    assert "drop (default)" in table.stdout
