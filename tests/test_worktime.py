"""Working time against hand-computed cases: weekends, Dutch holidays, daylight saving."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knelpunt.errors import CalendarError
from knelpunt.worktime import WorkCalendar, read_calendar, working_seconds

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = WorkCalendar.office_hours()  # Mon-Fri 09:00-17:00, Dutch holidays


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)  # type: ignore[misc]


def hours(start: datetime, end: datetime, calendar: WorkCalendar = OFFICE) -> float:
    return float(working_seconds(start, end, calendar=calendar)) / 3600


def test_a_weekend_does_not_count() -> None:
    # Friday 16:00 -> Monday 10:00: one hour on Friday, one on Monday.
    assert hours(at(2024, 6, 7, 16), at(2024, 6, 10, 10)) == 2.0


def test_kings_day_is_closed() -> None:
    # King's Day 2023 is Thursday 27 April: Wed 15-17 (2 h) + Fri 9-11 (2 h).
    assert hours(at(2023, 4, 26, 15), at(2023, 4, 28, 11)) == 4.0


def test_easter_is_closed() -> None:
    # Good Friday 29 March and Easter Monday 1 April 2024 are closed:
    # Thursday 16-17 (1 h) + Tuesday 9-10 (1 h).
    assert hours(at(2024, 3, 28, 16), at(2024, 4, 2, 10)) == 2.0


def test_liberation_day_only_in_lustrum_years() -> None:
    assert hours(at(2025, 5, 5, 9), at(2025, 5, 5, 17)) == 0.0  # Monday, 2025 is a lustrum
    assert hours(at(2023, 5, 5, 9), at(2023, 5, 5, 17)) == 8.0  # Friday, an ordinary day


def test_daylight_saving_does_not_leak_into_office_hours() -> None:
    # Clocks go back on Sunday 27 October 2024; Friday 16:00 -> Monday 10:00 is 2 h.
    assert hours(at(2024, 10, 25, 16), at(2024, 10, 28, 10)) == 2.0
    # A seven-day schedule without holidays over the spring change (Sunday
    # 31 March 2024, 02:00 -> 03:00): Saturday 16-17 and Sunday 09-10.
    every_day = WorkCalendar(hours=(((540, 1020),),) * 7, holidays=None)
    assert hours(at(2024, 3, 30, 16), at(2024, 3, 31, 10), every_day) == 2.0


def test_a_round_the_clock_day_has_23_or_25_hours_when_clocks_change() -> None:
    always = WorkCalendar.always()
    assert hours(at(2024, 3, 30, 12), at(2024, 3, 31, 12), always) == 23.0
    assert hours(at(2024, 10, 26, 12), at(2024, 10, 27, 12), always) == 25.0
    assert hours(at(2024, 6, 1, 12), at(2024, 6, 2, 12), always) == 24.0


def test_weekend_holiday_and_dst_in_one_wait() -> None:
    # Thursday 28 March 2024 10:00 -> Tuesday 2 April 2024 11:30 crosses Good
    # Friday, the weekend, the spring clock change and Easter Monday:
    # Thursday 10-17 (7 h) + Tuesday 9-11:30 (2.5 h).
    start, end = at(2024, 3, 28, 10), datetime(2024, 4, 2, 11, 30, tzinfo=AMS)
    assert hours(start, end) == 9.5
    # In calendar time it is 5 days 1.5 h on the wall clock, less the hour skipped.
    assert hours(start, end, WorkCalendar.always()) == 121.5 - 1


def test_split_hours_and_closed_days() -> None:
    calendar = WorkCalendar.from_mapping(
        {
            "hours": {"mon": "09:00-12:30, 13:00-17:00", "fri": "09:00-12:00"},
            "holidays": None,
            "closed": [date(2024, 6, 21)],  # a Friday
        }
    )
    assert hours(at(2024, 6, 10, 12), at(2024, 6, 10, 14), calendar) == 1.5  # lunch break
    assert hours(at(2024, 6, 10, 9), at(2024, 6, 17, 9), calendar) == 7.5 + 3.0
    assert hours(at(2024, 6, 10, 9), at(2024, 6, 24, 9), calendar) == 2 * 7.5 + 3.0  # 21st shut


def test_outside_hours_and_inside_one_span() -> None:
    assert hours(at(2024, 6, 8, 10), at(2024, 6, 9, 15)) == 0.0  # a weekend
    assert hours(at(2024, 6, 10, 18), at(2024, 6, 11, 8)) == 0.0  # a night
    assert hours(datetime(2024, 6, 10, 9, 15, tzinfo=AMS), at(2024, 6, 10, 11)) == 1.75


def test_arrays_and_negative_durations() -> None:
    # Monday 10 June 2024 06:00 and 14:00 UTC are 08:00 and 16:00 in Amsterdam.
    start = np.array([1_717_999_200_000_000, 1_718_028_000_000_000])
    end = start + 3_600_000_000
    assert working_seconds(start, end, calendar=OFFICE).tolist() == [0.0, 3600.0]  # type: ignore[union-attr]
    assert hours(at(2024, 6, 10, 11), at(2024, 6, 10, 10)) == -1.0


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"hours": {"mon": "9-17"}}, "09:00-17:00"),
        ({"hours": {"maandag": "09:00-17:00"}}, "Unknown weekday"),
        ({"hours": {"mon": "17:00-09:00"}}, "not valid"),
        ({"hours": {"mon": "09:00-13:00, 12:00-17:00"}}, "not valid"),
        ({"holidays": "XX"}, "No public holidays"),
        ({"timezone": "Europe/Amsterdamm"}, "Unknown time zone"),
        ({"closed": ["29-12-2025"]}, "2025-12-29"),
        ({"hour": {}}, "Unknown key"),
    ],
)
def test_a_bad_calendar_says_what_to_write(spec: dict[str, object], says: str) -> None:
    with pytest.raises(CalendarError, match=says):
        WorkCalendar.from_mapping(spec)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(CalendarError, match="aware"):
        working_seconds(datetime(2024, 1, 1), at(2024, 1, 2), calendar=OFFICE)


moments = st.integers(1_577_836_800_000_000, 1_735_689_600_000_000)  # 2020-2025


@settings(max_examples=200, deadline=None)
@given(moments, moments, moments)
def test_working_time_adds_up_and_never_exceeds_calendar_time(a: int, b: int, c: int) -> None:
    a, b, c = sorted((a, b, c))
    t = np.array([a, b, c])
    clock = OFFICE.clock(a, c)
    wa, wb, wc = clock.read(t).tolist()
    assert 0 <= wb - wa <= b - a
    assert (wc - wa) == (wb - wa) + (wc - wb)
    always = WorkCalendar.always().clock(a, c).read(t)
    assert (always[2] - always[0]) == c - a


def test_office_hours_constructor() -> None:
    four_days = WorkCalendar.office_hours(start=time(8, 30), end=time(16), weekdays=4)
    assert four_days.hours[3] == ((510, 960),)
    assert four_days.hours[4] == ()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 5 * 365 * 8 * 3600 * 1_000_000))
def test_instant_is_the_inverse_of_read(working_us: int) -> None:
    low = 1_577_836_800_000_000  # 2020-01-01
    clock = OFFICE.clock(low, low + 10 * 365 * 86_400_000_000)
    at = clock.instant(np.array([working_us]))
    assert clock.read(at).tolist() == [working_us]


def test_a_calendar_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("calendar:\n  hours:\n    mon: 08:30-16:30\n  holidays: NL\n")
    assert read_calendar(path).hours[0] == ((510, 990),)
    path.write_text("calendar:\n  hours: {mon: '09:00-17:00'\n")
    with pytest.raises(CalendarError, match=r"profile.yaml, line 3, column 1: not valid YAML"):
        read_calendar(path)
    with pytest.raises(CalendarError, match="cannot read"):
        read_calendar(tmp_path / "missing.yaml")
