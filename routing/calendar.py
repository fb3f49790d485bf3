"""Working time: when the clock of a case runs (工作时/工作日).

Time limits of the closed loop are local rules in working hours and working days. A
`WorkingCalendar` knows the daily working periods (e.g. 8:30-12:00 and 13:30-17:30), the weekend,
the public holidays and the make-up working days (调休上班) of the year, all from config/calendar.yaml.

Units: working time is counted in seconds of working time. One working day is the length of one
ordinary working day in working time (7.5 working hours with the periods above), so "1 working day"
from Friday 16:00 ends on Monday 16:00.

`ContinuousCalendar` has the same interface and counts every second: emergencies run on it (the
emergency chain works around the clock).

Pure domain code: no I/O; datetimes are aware and converted to the calendar's time zone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WorkingCalendar:
    """Working periods per working day, weekends, holidays and make-up days in one time zone.

    periods: ((start, end), ...) as datetime.time, sorted, not overlapping, within one day.
    weekend: ISO weekday numbers (6 = Saturday, 7 = Sunday).
    holidays: dates off although they are weekdays; workdays: weekend dates that are worked.
    """

    timezone: str = "Asia/Shanghai"
    periods: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(8, 30), dt.time(12, 0)),
                                                   (dt.time(13, 30), dt.time(17, 30)))
    weekend: frozenset = frozenset({6, 7})
    holidays: frozenset = frozenset()
    workdays: frozenset = frozenset()
    _tz: ZoneInfo = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not self.periods:
            raise ValueError("a working calendar needs at least one working period")
        last = None
        for start, end in self.periods:
            if not start < end:
                raise ValueError(f"working period {start}-{end} ends before it starts")
            if last is not None and start < last:
                raise ValueError(f"working period {start}-{end} overlaps the one before")
            last = end
        object.__setattr__(self, "_tz", ZoneInfo(self.timezone))

    # -- days -------------------------------------------------------------------------------
    @property
    def day_seconds(self) -> float:
        """Working seconds in one ordinary working day (the length of "1 working day")."""
        return float(sum(_secs(e) - _secs(s) for s, e in self.periods))

    def is_working_day(self, day: dt.date) -> bool:
        """A make-up day is worked; a holiday is not; otherwise weekdays are worked."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() not in self.weekend

    def _windows(self, day: dt.date):
        """The aware (start, end) working windows of one day (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [(dt.datetime.combine(day, s, self._tz), dt.datetime.combine(day, e, self._tz))
                for s, e in self.periods]

    def is_working_time(self, at: dt.datetime) -> bool:
        """True when `at` falls inside a working period of a working day."""
        local = _aware(at).astimezone(self._tz)
        return any(s <= local < e for s, e in self._windows(local.date()))

    # -- arithmetic -------------------------------------------------------------------------
    def elapsed(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds between two instants (0 when end is not after start)."""
        start, end = _aware(start).astimezone(self._tz), _aware(end).astimezone(self._tz)
        if end <= start:
            return 0.0
        total = 0.0
        day = start.date()
        while day <= end.date():
            for s, e in self._windows(day):
                lo, hi = max(s, start), min(e, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += dt.timedelta(days=1)
        return total

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant when `seconds` of working time have passed after `start`.

        Adding 0 to an instant outside working time gives that instant itself (nothing is due
        before the next working period begins, but nothing has elapsed either).
        """
        if seconds < 0:
            raise ValueError("cannot add negative working time")
        start = _aware(start).astimezone(self._tz)
        if seconds == 0:
            return start
        left = float(seconds)
        day = start.date()
        # A year of days off in a row would be a broken calendar: stop rather than loop forever.
        for _ in range(3700):
            for s, e in self._windows(day):
                lo = max(s, start)
                if e <= lo:
                    continue
                span = (e - lo).total_seconds()
                if span >= left:
                    return lo + dt.timedelta(seconds=left)
                left -= span
            day += dt.timedelta(days=1)
        raise ValueError("the working calendar has no working time in the next ten years")

    def add_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """`start` plus working hours."""
        return self.add(start, hours * 3600.0)

    def add_days(self, start: dt.datetime, days: float) -> dt.datetime:
        """`start` plus working days (each one ordinary working day of working time)."""
        return self.add(start, days * self.day_seconds)


@dataclass(frozen=True)
class ContinuousCalendar:
    """Every second counts: the emergency chain's calendar (same interface as WorkingCalendar)."""

    timezone: str = "Asia/Shanghai"

    @property
    def day_seconds(self) -> float:
        """A day is 24 hours."""
        return 86400.0

    def is_working_day(self, day: dt.date) -> bool:
        """Every day is worked."""
        return True

    def is_working_time(self, at: dt.datetime) -> bool:
        """Every instant is working time."""
        return True

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds between two instants (0 when end is not after start)."""
        return max(0.0, (_aware(end) - _aware(start)).total_seconds())

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """`start` plus seconds."""
        if seconds < 0:
            raise ValueError("cannot add negative time")
        return _aware(start) + dt.timedelta(seconds=seconds)

    def add_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """`start` plus hours."""
        return self.add(start, hours * 3600.0)

    def add_days(self, start: dt.datetime, days: float) -> dt.datetime:
        """`start` plus days."""
        return self.add(start, days * 86400.0)


def _secs(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("working time needs aware datetimes (with a time zone)")
    return at


def parse_calendar(raw, filename: str = "calendar.yaml"):
    """Parse config/calendar.yaml into a WorkingCalendar; returns (calendar or None, problems).

    problems are (key, message) pairs naming where the file is wrong; unknown keys are refused.
    """
    problems: list[tuple[str, str]] = []
    if raw is None:
        return None, [("(top level)", "the file is empty")]
    if not isinstance(raw, dict):
        return None, [("(top level)", f"must be a mapping, got {type(raw).__name__}")]
    allowed = {"timezone", "working_hours", "weekend", "holidays", "workdays"}
    for k in raw:
        if k not in allowed:
            problems.append((str(k), f"unknown key (allowed: {', '.join(sorted(allowed))})"))
    tz = raw.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(str(tz))
    except Exception:  # noqa: BLE001 - any failure means the zone is unknown
        problems.append(("timezone", f"unknown time zone {tz!r}"))
        tz = "Asia/Shanghai"
    periods = []
    hours = raw.get("working_hours")
    if not isinstance(hours, list) or not hours:
        problems.append(("working_hours", "required: a list of periods like \"08:30-12:00\""))
    else:
        for i, item in enumerate(hours):
            p = _period(item)
            if p is None:
                problems.append((f"working_hours[{i}]", f"{item!r} is not a period like \"08:30-12:00\""))
            else:
                periods.append(p)
    weekend = raw.get("weekend", [6, 7])
    if not isinstance(weekend, list) or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7
                                               for d in weekend):
        problems.append(("weekend", "must be a list of ISO weekdays 1-7 (6 = Saturday, 7 = Sunday)"))
        weekend = [6, 7]
    days = {}
    for key in ("holidays", "workdays"):
        out = set()
        value = raw.get(key, {})
        # Either a flat list of dates or a mapping name -> list of dates (one entry per holiday).
        items = []
        if isinstance(value, dict):
            for name, dates in value.items():
                if not isinstance(dates, list):
                    problems.append((f"{key}.{name}", "must be a list of dates (YYYY-MM-DD)"))
                    continue
                items.extend((f"{key}.{name}[{i}]", d) for i, d in enumerate(dates))
        elif isinstance(value, list):
            items = [(f"{key}[{i}]", d) for i, d in enumerate(value)]
        else:
            problems.append((key, "must be a list of dates or a mapping name -> list of dates"))
        for where, d in items:
            if isinstance(d, dt.datetime) or not isinstance(d, (dt.date, str)):
                problems.append((where, f"{d!r} is not a date (YYYY-MM-DD)"))
                continue
            if isinstance(d, str):
                try:
                    d = dt.date.fromisoformat(d)
                except ValueError:
                    problems.append((where, f"{d!r} is not a date (YYYY-MM-DD)"))
                    continue
            out.add(d)
        days[key] = out
    both = days["holidays"] & days["workdays"]
    for d in sorted(both):
        problems.append(("workdays", f"{d} is listed both as a holiday and as a make-up working day"))
    for d in sorted(days["workdays"]):
        if d.isoweekday() not in set(weekend):
            problems.append(("workdays", f"{d} is a weekday already; make-up days are weekend days"))
    if problems:
        return None, problems
    try:
        cal = WorkingCalendar(timezone=str(tz), periods=tuple(periods), weekend=frozenset(weekend),
                              holidays=frozenset(days["holidays"]), workdays=frozenset(days["workdays"]))
    except ValueError as e:
        return None, [("working_hours", str(e))]
    return cal, []


def _period(item):
    if not isinstance(item, str) or "-" not in item:
        return None
    a, _, b = item.partition("-")
    try:
        s, e = dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())
    except ValueError:
        return None
    return (s, e)
