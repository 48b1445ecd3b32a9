"""Deterministic synthetic logs for the benchmarks: gzip XES, a Dutch CSV export, Parquet.

All follow the same small case-handling process (12 activities, about 20
events a case, loops and rework) and are fully determined by their size and
seed (and, for Parquet, the number of the first case). Files are written
once to ``benchmarks/data/`` and reused; the file name carries every
parameter (and a format version), so a changed generator never reuses a
stale file. Run ``python -m benchmarks.generate`` to build them
without benchmarking.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Final
from xml.sax.saxutils import quoteattr

__all__ = ["DATA_DIR", "csv_log", "parquet_log", "xes_log"]

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
VERSION: Final = 1  # bump when the output of a generator changes
SEED: Final = 2024

_EPOCH_DAY: Final = date(2024, 1, 1)
_SPAN_DAYS: Final = 330  # cases start within the first 330 days of 2024

# The process: 0 opens every case, 11 closes it, 1-10 follow these successors.
_SUCCESSORS: Final = {
    0: (1, 1, 3),
    1: (2,),
    2: (3, 4),
    3: (4, 6),
    4: (5,),
    5: (4, 6, 3),
    6: (7, 3),
    7: (8,),
    8: (9, 10),
    9: (10, 4, 3),
    10: (3, 6, 7),
}

_XES_ACTIVITIES: Final = (
    "Register request",
    "Plan intake",
    "Hold intake",
    "Start investigation",
    "Request information",
    "Receive information",
    "Draft advice",
    "Decide",
    "Send decision",
    "Inform client",
    "Receive objection",
    "Close case",
)
_CHANNELS: Final = ("web", "phone", "desk", "mail", "app")

# Dutch names with the accented letters a Windows-1252 export carries.
_CSV_ACTIVITIES: Final = (
    "Melding ontvangen",
    "Intake gepland",
    "Intake uitgevoerd",
    "Onderzoek gestart",
    "Informatie opgevraagd",
    "Informatie ontvangen",
    "Advies opgesteld",
    "Besluit genomen",
    "Beschikking verzonden",
    "Cliënt geïnformeerd",
    "Bezwaar ontvangen",
    "Zaak beëindigd",
)
_SURNAMES: Final = (
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "Janssen",
    "Özdemir",
    "Müller",
    "Çelik",
)
_INITIALS: Final = ("A.", "B.", "C.", "E.", "F.", "H.", "I.", "J.", "L.", "M.", "N.", "R.")
_TEAMS: Final = (
    "Wijkteam Noord",
    "Wijkteam Oost",
    "Wijkteam Zuid",
    "Wijkteam West",
    "Team Schuldhulp",
    "Team Jeugd",
    "Team Wmo",
    "Team Participatie",
)
_NOTES: Final = (
    "",
    "",
    "",
    "",
    "Cliënt gebeld; geen gehoor",
    "Afspraak verzet",
    "Stukken compleet",
    "Eigen bijdrage € 21,40 per maand",
    "Doorverwezen naar wijkteam",
    "Zie notitie d.d. vorige week",
    'Cliënt wil "zo snel mogelijk" duidelijkheid',
    "Huisbezoek afgelegd",
    "Tolk geregeld",
    "Beëindigd op verzoek",
    "Aanvraag geïntrokken; cliënt verhuisd",
)


def _trace(rng: random.Random, length: int) -> list[int]:
    """Activity indices of one case: open, a walk through the process, close."""
    steps = [0]
    while len(steps) < length - 1:
        steps.append(rng.choice(_SUCCESSORS[steps[-1]]))
    steps.append(11)
    return steps[:length]


def _days(fmt: str) -> list[str]:
    return [(_EPOCH_DAY + timedelta(days=d)).strftime(fmt) for d in range(_SPAN_DAYS + 400)]


def _times(rng: random.Random, count: int) -> list[int]:
    """Increasing seconds since 2024-01-01 00:00 (local) for one case."""
    now = rng.randrange(_SPAN_DAYS * 86_400)
    out = []
    for _ in range(count):
        out.append(now)
        # Minutes to days between steps; now and then a long wait.
        now += rng.randint(60, 4 * 3_600) if rng.random() < 0.6 else rng.randint(3_600, 10 * 86_400)
    return out


def _clock(seconds: int) -> str:
    rest = seconds % 86_400
    return f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"


def _publish(tmp: Path, final: Path) -> Path:
    os.replace(tmp, final)
    return final


_XES_HEAD: Final = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
\t<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<global scope="trace">
\t\t<string key="concept:name" value="__INVALID__"/>
\t</global>
\t<global scope="event">
\t\t<string key="concept:name" value="__INVALID__"/>
\t\t<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
\t</global>
\t<classifier name="Activity classifier" keys="concept:name lifecycle:transition"/>
\t<string key="concept:name" value="knelpunt benchmark log"/>
"""


def xes_log(events: int, *, seed: int = SEED, folder: Path = DATA_DIR) -> Path:
    """A gzip XES log of exactly ``events`` events (cached); returns its path.

    pm4py's standard keys: trace ``concept:name``; event ``concept:name``,
    ``time:timestamp`` (``+01:00`` offset, milliseconds), ``org:resource``,
    ``lifecycle:transition``; plus a string (``channel``) and an int
    (``amount``) attribute. Cases have 15-25 events (20 on average).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synthetic-{events}-s{seed}-v{VERSION}.xes.gz"
    if path.exists():
        return path
    rng = random.Random(seed)
    tab3 = "\t\t\t"
    activity_lines = [
        f'{tab3}<string key="concept:name" value={quoteattr(a)}/>\n' for a in _XES_ACTIVITIES
    ]
    resource_lines = [
        f'{tab3}<string key="org:resource" value="User_{i:03d}"/>\n' for i in range(1, 61)
    ]
    channel_lines = [f'{tab3}<string key="channel" value="{c}"/>\n' for c in _CHANNELS]
    lifecycle_line = f'{tab3}<string key="lifecycle:transition" value="complete"/>\n'
    days = _days("%Y-%m-%d")
    tmp = path.with_name(path.name + ".tmp")
    written = case = 0
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6, newline="\n") as out:
        out.write(_XES_HEAD)
        while written < events:
            case += 1
            length = min(rng.randint(15, 25), events - written)
            parts = [f'\t<trace>\n\t\t<string key="concept:name" value="case-{case:07d}"/>\n']
            for activity, seconds in zip(_trace(rng, length), _times(rng, length), strict=True):
                stamp = (
                    f"{days[seconds // 86_400]}T{_clock(seconds)}.{rng.randrange(1000):03d}+01:00"
                )
                parts.append("\t\t<event>\n")
                parts.append(activity_lines[activity])
                parts.append(rng.choice(resource_lines))
                parts.append(lifecycle_line)
                parts.append(f'{tab3}<date key="time:timestamp" value="{stamp}"/>\n')
                parts.append(rng.choice(channel_lines))
                parts.append(f'{tab3}<int key="amount" value="{rng.randint(0, 25_000)}"/>\n')
                parts.append("\t\t</event>\n")
            parts.append("\t</trace>\n")
            out.write("".join(parts))
            written += length
        out.write("</log>\n")
    return _publish(tmp, path)


CSV_COLUMNS: Final = ("Zaaknummer", "Activiteit", "Datum", "Medewerker", "Team", "Toelichting")


def csv_log(events: int, *, seed: int = SEED, folder: Path = DATA_DIR) -> Path:
    """A Dutch CSV export of exactly ``events`` rows (cached); returns its path.

    Semicolon-delimited, Windows-1252, CRLF line ends as Excel writes them,
    dates ``31-12-2024 14:05:33`` (Europe/Amsterdam wall time), columns
    Zaaknummer;Activiteit;Datum;Medewerker;Team;Toelichting; some remarks
    hold a quoted semicolon, accented letters or a euro sign.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synthetic-{events}-s{seed}-v{VERSION}.csv"
    if path.exists():
        return path
    rng = random.Random(seed + 1)
    staff = [f"{i} {s}" for s in _SURNAMES for i in _INITIALS[:3]]
    days = _days("%d-%m-%Y")
    tmp = path.with_name(path.name + ".tmp")
    written = case = 0
    with tmp.open("wb") as raw:
        text = io.TextIOWrapper(raw, encoding="cp1252", newline="")
        writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        while written < events:
            case += 1
            length = min(rng.randint(15, 25), events - written)
            number = f"Z-2024-{case:06d}"
            team = rng.choice(_TEAMS)
            writer.writerows(
                (
                    number,
                    _CSV_ACTIVITIES[activity],
                    f"{days[seconds // 86_400]} {_clock(seconds)}",
                    rng.choice(staff),
                    team,
                    rng.choice(_NOTES),
                )
                for activity, seconds in zip(_trace(rng, length), _times(rng, length), strict=True)
            )
            written += length
        text.flush()
        text.detach()
    return _publish(tmp, path)


PARQUET_COLUMNS: Final = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "lifecycle:transition",
)
_PARQUET_ROWS: Final = 1_000_000  # rows per row group (and per generated batch)
_EPOCH_US: Final = 1_704_067_200_000_000  # 2024-01-01 00:00 UTC in microseconds


def parquet_log(
    events: int, *, seed: int = SEED, first_case: int = 1, folder: Path = DATA_DIR
) -> Path:
    """A Parquet log of exactly ``events`` events in pm4py's columns (cached); returns its path.

    Columns: ``case:concept:name`` (``case-00000001``, numbered from
    ``first_case``, so a second file of new cases can be appended to the
    same store), ``concept:name`` (the XES log's activity names),
    ``time:timestamp`` (UTC, microsecond resolution, millisecond values),
    ``org:resource`` (``User_001`` … ``User_060``), ``lifecycle:transition``
    (``complete``). Cases have 15-25 events (20 on average) and are written
    whole and in order, one row group per million rows. The random stream is
    ``seed + 2`` (XES uses ``seed``, CSV ``seed + 1``), then shifted by
    ``first_case``, so an appended file is not a copy of the first one.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    suffix = "" if first_case == 1 else f"-from{first_case}"
    path = folder / f"synthetic-{events}-s{seed}{suffix}-v{VERSION}.parquet"
    if path.exists():
        return path
    rng = random.Random(seed + 2 + 7_919 * (first_case - 1))
    activities = pa.array(_XES_ACTIVITIES, pa.string())
    resources = pa.array([f"User_{i:03d}" for i in range(1, 61)], pa.string())
    schema = pa.schema(
        [
            pa.field(PARQUET_COLUMNS[0], pa.string()),
            pa.field(PARQUET_COLUMNS[1], pa.string()),
            pa.field(PARQUET_COLUMNS[2], pa.timestamp("us", tz="UTC")),
            pa.field(PARQUET_COLUMNS[3], pa.string()),
            pa.field(PARQUET_COLUMNS[4], pa.string()),
        ]
    )
    tmp = path.with_name(path.name + ".tmp")
    columns: tuple[list[str], list[int], list[int], list[int]] = ([], [], [], [])
    cases, steps, stamps, who = columns
    written = 0
    case = first_case - 1

    def flush(writer: pq.ParquetWriter, rows: int) -> None:
        table = pa.table(
            [
                pa.array(cases[:rows], pa.string()),
                activities.take(pa.array(steps[:rows], pa.int32())),
                pa.array(stamps[:rows], pa.int64()).cast(schema.field(2).type),
                resources.take(pa.array(who[:rows], pa.int32())),
                pa.array(["complete"] * rows, pa.string()),
            ],
            schema=schema,
        )
        writer.write_table(table, row_group_size=_PARQUET_ROWS)
        for column in columns:
            del column[:rows]

    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        while written < events:
            case += 1
            length = min(rng.randint(15, 25), events - written)
            cases += [f"case-{case:08d}"] * length
            steps += _trace(rng, length)
            stamps += [
                _EPOCH_US + seconds * 1_000_000 + rng.randrange(1000) * 1_000
                for seconds in _times(rng, length)
            ]
            who += [rng.randrange(60) for _ in range(length)]
            written += length
            if len(steps) >= _PARQUET_ROWS:
                flush(writer, _PARQUET_ROWS)
        if steps:
            flush(writer, len(steps))
    return _publish(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xes", type=int, action="append", default=[], metavar="EVENTS")
    parser.add_argument("--csv", type=int, action="append", default=[], metavar="EVENTS")
    parser.add_argument("--parquet", type=int, action="append", default=[], metavar="EVENTS")
    args = parser.parse_args(argv)
    for events in args.xes:
        print(xes_log(events))
    for events in args.csv:
        print(csv_log(events))
    for events in args.parquet:
        print(parquet_log(events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
