"""Working time: office hours per weekday, public holidays, a time zone.

A municipality does not work at weekends, at night or on King's Day, so a
wait from Friday 16:00 to Monday 10:00 is two working hours, not 66 calendar
hours. A :class:`WorkCalendar` says when work happens; :class:`WorkClock`
turns instants into *working seconds since an origin*, so a working duration
is the difference of two clock readings::

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> ams = ZoneInfo("Europe/Amsterdam")
    >>> friday = datetime(2024, 4, 26, 16, 0, tzinfo=ams)    # King's Day is Saturday 27th
    >>> monday = datetime(2024, 4, 29, 10, 0, tzinfo=ams)
    >>> working_seconds(friday, monday, calendar=WorkCalendar.office_hours()) / 3600
    2.0

Office hours are local wall-clock times in the calendar's time zone (by
default Europe/Amsterdam), so they follow daylight saving: 09:00–17:00 is
eight working hours on the Sunday clocks change, too, and a 24-hour schedule
has a 23-hour day in March and a 25-hour day in October. Public holidays come
from the maintained ``holidays`` library (for the Netherlands: New Year,
Easter, King's Day, Liberation Day in lustrum years, Ascension, Whit Monday,
Christmas); extra closed days (a collective day off) can be added.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from knelpunt.errors import CalendarError

__all__ = [
    "WEEKDAYS",
    "WorkCalendar",
    "WorkClock",
    "load_yaml",
    "read_calendar",
    "working_seconds",
]

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_US_PER_MINUTE: Final = 60_000_000
_US_PER_DAY: Final = 86_400_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NO_HOLIDAYS: Final = frozenset({"", "~", "null", "none", "no", "false"})
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

# Minutes after local midnight: (open, close), close up to 24:00.
Hours = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """When work happens.

    Attributes:
        hours: for each weekday, Monday first, the open spans as minutes after
            local midnight, e.g. ``((540, 1020),)`` for 09:00–17:00.
        holidays: the country whose public holidays are closed days (a code
            the ``holidays`` library knows, e.g. ``"NL"``), or None.
        closed: extra closed days.
        timezone: the IANA zone the hours are in.
    """

    hours: tuple[Hours, ...]
    holidays: str | None = "NL"
    closed: frozenset[date] = field(default_factory=frozenset)
    timezone: str = "Europe/Amsterdam"

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise CalendarError(
                f"A working calendar needs hours for 7 weekdays, got {len(self.hours)}."
            )
        for day, spans in zip(WEEKDAYS, self.hours, strict=True):
            end = 0
            for start, stop in sorted(spans):
                if not 0 <= start < stop <= 24 * 60 or start < end:
                    raise CalendarError(
                        f"The working hours on {day} are not valid: {_show(spans)}. "
                        "Give spans like 09:00-12:30 that do not overlap, within 00:00-24:00."
                    )
                end = stop
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder of zones
            raise CalendarError(
                f"Unknown time zone {self.timezone!r} in the working calendar. "
                "Use an IANA name such as 'Europe/Amsterdam'."
            ) from None
        if self.holidays is not None:
            _holidays_between(self.holidays, 2000, 2000)  # fails early on an unknown country

    @classmethod
    def office_hours(
        cls,
        *,
        start: time = time(9),
        end: time = time(17),
        weekdays: int = 5,
        holidays: str | None = "NL",
        closed: Iterable[date] = (),
        timezone: str = "Europe/Amsterdam",
    ) -> WorkCalendar:
        """The same hours on the first ``weekdays`` days of the week (Monday first)."""
        span = ((start.hour * 60 + start.minute, end.hour * 60 + end.minute),)
        hours = tuple(span if i < weekdays else () for i in range(7))
        return cls(hours=hours, holidays=holidays, closed=frozenset(closed), timezone=timezone)

    @classmethod
    def always(cls, *, timezone: str = "Europe/Amsterdam") -> WorkCalendar:
        """Every hour of every day: working time equals calendar time."""
        return cls(hours=(((0, 24 * 60),),) * 7, holidays=None, timezone=timezone)

    @classmethod
    def from_mapping(cls, spec: Mapping[str, object]) -> WorkCalendar:
        """A calendar from a profile's ``calendar:`` section.

        Example (as YAML)::

            hours: {mon: "09:00-12:30, 13:00-17:00", tue: "09:00-17:00", fri: "09:00-12:00"}
            holidays: NL          # or null (also: none, no)
            closed: [2025-12-29, 2025-12-30]
            timezone: Europe/Amsterdam

        Days left out of ``hours`` are closed.
        """
        unknown = set(spec) - {"hours", "holidays", "closed", "timezone"}
        if unknown:
            raise CalendarError(
                f"Unknown key(s) in the working calendar: {', '.join(sorted(unknown))}. "
                "Use hours, holidays, closed and timezone."
            )
        given = spec.get("hours", {})
        if not isinstance(given, Mapping):
            raise CalendarError("The calendar's 'hours' must map weekdays to spans.")
        days = {str(k).lower()[:3]: v for k, v in given.items()}
        wrong = set(days) - set(WEEKDAYS)
        if wrong:
            raise CalendarError(
                f"Unknown weekday(s) in the calendar's hours: {', '.join(sorted(wrong))}. "
                f"Use {', '.join(WEEKDAYS)}."
            )
        hours = tuple(_parse_spans(day, days.get(day)) for day in WEEKDAYS)
        closed = spec.get("closed") or []
        if not isinstance(closed, Sequence) or isinstance(closed, str):
            raise CalendarError("The calendar's 'closed' must be a list of dates.")
        holidays = spec.get("holidays", "NL")
        if isinstance(holidays, str) and holidays.strip().casefold() in _NO_HOLIDAYS:
            holidays = None
        return cls(
            hours=hours,
            holidays=None if holidays is None or holidays is False else str(holidays),
            closed=frozenset(_parse_date(d) for d in closed),
            timezone=str(spec.get("timezone", "Europe/Amsterdam")),
        )

    def closed_days(self, first: date, last: date) -> list[date]:
        """The public holidays and extra closed days from ``first`` to ``last``, sorted.

        Example:
            >>> calendar = WorkCalendar.office_hours()
            >>> calendar.closed_days(date(2025, 12, 20), date(2025, 12, 31))
            [datetime.date(2025, 12, 25), datetime.date(2025, 12, 26)]
        """
        shut = set(self.closed)
        if self.holidays is not None:
            shut |= _holidays_between(self.holidays, first.year, last.year)
        return sorted(day for day in shut if first <= day <= last)

    @property
    def weekmask(self) -> str:
        """The weekdays with working hours, Monday first, as NumPy's busday functions
        take them (``"1111100"`` for Monday to Friday)."""
        return "".join("1" if spans else "0" for spans in self.hours)

    def clock(self, low_us: int, high_us: int) -> WorkClock:
        """A clock that reads working time for instants between ``low_us`` and ``high_us``."""
        return WorkClock.build(self, low_us, high_us)


@dataclass(frozen=True, slots=True, eq=False)
class WorkClock:
    """Working microseconds since an origin, for instants in a range of days.

    Attributes:
        opens, closes: the working spans in the range, in UTC microseconds, sorted.
        before: working microseconds before each span's start (since the origin).
    """

    opens: np.ndarray
    closes: np.ndarray
    before: np.ndarray

    @classmethod
    def build(cls, calendar: WorkCalendar, low_us: int, high_us: int) -> WorkClock:
        """Every working span on the local days from ``low_us`` to ``high_us``."""
        zone = ZoneInfo(calendar.timezone)
        first = _local_day(low_us, zone) - np.timedelta64(1, "D")
        last = _local_day(high_us, zone) + np.timedelta64(2, "D")
        days = np.arange(first, last, dtype="datetime64[D]")
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        shut = set(calendar.closed)
        if calendar.holidays is not None:
            years = days.astype("datetime64[Y]").astype(np.int64) + 1970
            shut |= _holidays_between(calendar.holidays, int(years.min()), int(years.max()))
        is_open = ~np.isin(days, np.array(sorted(shut), dtype="datetime64[D]"))
        opens: list[np.ndarray] = []
        closes: list[np.ndarray] = []
        for day_number, spans in enumerate(calendar.hours):
            on = days[is_open & (weekday == day_number)]
            for start, stop in spans:
                opens.append(_utc_us(on, start, calendar.timezone))
                closes.append(_utc_us(on, stop, calendar.timezone))
        open_us = np.concatenate(opens) if opens else np.empty(0, np.int64)
        close_us = np.concatenate(closes) if closes else np.empty(0, np.int64)
        order = np.argsort(open_us, kind="stable")
        open_us, close_us = open_us[order], close_us[order]
        before = np.zeros(len(open_us), dtype=np.int64)
        np.cumsum((close_us - open_us)[:-1], out=before[1:])
        return cls(opens=open_us, closes=close_us, before=before)

    def read(self, time_us: np.ndarray) -> np.ndarray:
        """Working microseconds since the origin at each instant (non-decreasing in time)."""
        time_us = np.asarray(time_us, dtype=np.int64)
        if len(self.opens) == 0:
            return np.zeros(time_us.shape, dtype=np.int64)
        span = np.searchsorted(self.opens, time_us, side="right") - 1
        inside = np.clip(span, 0, None)
        into = np.minimum(time_us - self.opens[inside], self.closes[inside] - self.opens[inside])
        return np.where(span >= 0, self.before[inside] + np.clip(into, 0, None), 0)

    def instant(self, working_us: np.ndarray) -> np.ndarray:
        """The UTC microseconds at which the clock reads ``working_us`` (the inverse of
        :meth:`read`; a reading at the end of a working span gives its close, 17:00
        rather than 09:00 the next working day)."""
        working_us = np.asarray(working_us, dtype=np.int64)
        if len(self.opens) == 0:
            raise CalendarError("The working calendar has no working hours at all.")
        span = np.clip(np.searchsorted(self.before, working_us, side="left") - 1, 0, None)
        return np.asarray(self.opens[span] + (working_us - self.before[span]), dtype=np.int64)


def read_calendar(path: str | Path) -> WorkCalendar:
    """A calendar from a YAML file (see :meth:`WorkCalendar.from_mapping`), or from a
    profile whose ``calendar:`` section holds it."""
    path = Path(path)
    spec, _ = load_yaml(path, error=CalendarError)
    if isinstance(spec, Mapping) and isinstance(spec.get("calendar"), Mapping):
        spec = spec["calendar"]
    if not isinstance(spec, Mapping):
        raise CalendarError(f"{path}: a calendar file holds a mapping with 'hours', ...")
    try:
        return WorkCalendar.from_mapping(spec)
    except CalendarError as error:
        raise CalendarError(f"{path}: {error}") from None


# The largest profile or scenario file read (the shipped ones are a few kB).
_MOST_YAML: Final = 4 << 20


@lru_cache(maxsize=4)
def yaml_loader(base: type[Any]) -> type[Any]:
    """``base`` (a PyYAML loader class) refusing aliases (``*name``).

    An alias repeats another part of the file without copying it, so a few lines
    of nested aliases stand for billions of values (YAML's "billion laughs"), which
    anything that walks the result would visit; the files knelpunt reads never need
    them, so they are refused where they stand.
    """
    import yaml

    class NoAliases(base):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "an alias (*name) repeats another part of the file, which knelpunt does "
                    "not take; write the part out where it is used",
                    mark,
                )
            return super().compose_node(parent, index)

    return NoAliases


def load_yaml(path: Path, *, error: type[Exception]) -> tuple[object, object]:
    """A YAML file as text values (no YAML 1.1 surprises: ``no`` stays "no", ``0123``
    stays "0123"), and its node tree for line numbers. Repeated keys are refused.

    Raises:
        error: the file cannot be read, is not YAML, or repeats a key.
    """
    import yaml

    try:
        with path.open("rb") as handle:
            raw = handle.read(_MOST_YAML + 1)
        if len(raw) > _MOST_YAML:
            raise error(
                f"{path}: larger than {_MOST_YAML >> 20} MB, far larger than any profile or "
                "scenario; check that this is the right file."
            )
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{path}: cannot read the file ({problem}).") from None
    try:
        loader = yaml_loader(yaml.BaseLoader)
        root = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # only str, list, dict
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        line = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(
            f"{path}{line}: not valid YAML ({getattr(problem, 'problem', problem)}). "
            "Fix the file; the shipped profiles (knelpunt profile check generiek) show the form."
        ) from None
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if key.value in seen:
                    mark = key.start_mark
                    raise error(
                        f"{path}, line {mark.line + 1}, column {mark.column + 1}: "
                        f"{key.value!r} is given twice here; the second would silently replace "
                        "the first. Merge the two into one."
                    )
                seen.add(key.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return data, root


def working_seconds(
    start: datetime | pd.Series | np.ndarray,
    end: datetime | pd.Series | np.ndarray,
    *,
    calendar: WorkCalendar,
) -> float | np.ndarray:
    """Working seconds from ``start`` to ``end`` (negative when ``end`` is earlier).

    Accepts aware datetimes, aware pandas Series or arrays of UTC microseconds.

    Example:
        >>> from datetime import datetime
        >>> from zoneinfo import ZoneInfo
        >>> import knelpunt as kp
        >>> office = kp.WorkCalendar.office_hours()  # Mon-Fri 09:00-17:00, Dutch holidays
        >>> ams = ZoneInfo("Europe/Amsterdam")
        >>> friday = datetime(2025, 1, 10, 16, tzinfo=ams)
        >>> monday = datetime(2025, 1, 13, 10, tzinfo=ams)
        >>> kp.working_seconds(friday, monday, calendar=office) / 3600  # not the weekend
        2.0
        >>> kp.working_seconds(datetime(2025, 5, 28, 16, tzinfo=ams),  # over Ascension Day
        ...                    datetime(2025, 5, 30, 10, tzinfo=ams), calendar=office) / 3600
        2.0
    """
    scalar = isinstance(start, datetime) and isinstance(end, datetime)
    low, high = _to_us(start), _to_us(end)
    if len(low) == 0:
        return np.empty(0)
    clock = calendar.clock(int(min(low.min(), high.min())), int(max(low.max(), high.max())))
    seconds = (clock.read(high) - clock.read(low)) / 1_000_000.0
    return float(seconds[0]) if scalar else seconds


def _to_us(value: datetime | pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise CalendarError(
                "Working time needs aware datetimes (with a time zone); "
                "attach one with .replace(tzinfo=ZoneInfo('Europe/Amsterdam'))."
            )
        return np.array([(value - _EPOCH) // timedelta(microseconds=1)], dtype=np.int64)
    if isinstance(value, pd.Series):
        utc = value.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        return np.asarray(utc.astype(np.int64).to_numpy(), dtype=np.int64)
    return np.asarray(value, dtype=np.int64)


def _local_day(time_us: int, zone: ZoneInfo) -> np.datetime64:
    local = datetime.fromtimestamp(time_us / 1_000_000, tz=zone)
    return np.datetime64(local.date(), "D")


def _utc_us(days: np.ndarray, minutes: int, timezone: str) -> np.ndarray:
    """UTC microseconds of a local wall-clock time on each day (24:00 = next midnight)."""
    if len(days) == 0:
        return np.empty(0, np.int64)
    extra, minutes = divmod(minutes, 24 * 60)
    local = days.astype("datetime64[us]") + np.timedelta64(extra, "D")
    local = local + np.timedelta64(minutes * _US_PER_MINUTE, "us")
    # The hour skipped in spring moves forward; in the doubled autumn hour the
    # first (summer-time) occurrence counts.
    aware = pd.DatetimeIndex(local).tz_localize(
        timezone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return np.asarray(aware.tz_convert("UTC").as_unit("us").asi8, dtype=np.int64)


def _holidays_between(country: str, first: int, last: int) -> set[date]:
    import holidays

    try:
        days = holidays.country_holidays(country, years=range(first, last + 1))
    except NotImplementedError:
        raise CalendarError(
            f"No public holidays are known for {country!r}. Use a country code such as "
            "'NL', or holidays: null for none."
        ) from None
    return set(days)


def _parse_spans(day: str, text: object) -> Hours:
    if text is None or text == "" or text == []:
        return ()
    parts = text if isinstance(text, list) else str(text).split(",")
    spans = []
    for part in parts:
        found = _SPAN.match(str(part))
        if found is None:
            raise CalendarError(
                f"Cannot read the working hours {part!r} on {day}. Write them as "
                "'09:00-17:00', several separated by commas."
            )
        h1, m1, h2, m2 = (int(x) for x in found.groups())
        spans.append((h1 * 60 + m1, h2 * 60 + m2))
    return tuple(spans)


def _parse_date(value: object) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CalendarError(
            f"Cannot read the closed day {value!r}; write dates as 2025-12-29."
        ) from None


def _show(spans: Hours) -> str:
    return ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans)
