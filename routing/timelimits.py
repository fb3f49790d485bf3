"""Time limits of the closed loop and the time lights (绿灯/黄灯/红灯).

Limits are local rules (config/time_limits.yaml): one per step of the centre's own work (accept,
register, dispatch, verify, close, arbitrate, and confirm for an inspector checking a citizen's
report) and a handling limit (处置时限) per matter code or major class, the most specific entry
winning. Emergencies have their own limits in clock hours: the emergency chain works around the
clock (`ContinuousCalendar`).

The timing of a case is derived from its history alone (plain event records), so the API, the
overdue watch and the evaluation agree by construction:

- each step starts at the event that opened it (a dispatch or rework starts `handle`...);
- parking (挂账) stops the clock: parked intervals do not count;
- an approved extension (延期) adds its amount to the step's limit;
- light: green below `yellow_at` (80 %) of the limit, yellow up to 100 %, red beyond (overdue).

Units: "4wh" working hours, "2wd" working days, "6h" clock hours (emergencies only).
Pure domain code: no I/O.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from routing.calendar import ContinuousCalendar, WorkingCalendar

GREEN, YELLOW, RED, PAUSED = "green", "yellow", "red", "paused"
# Steps whose clock the centre owns; `handle` is the department's.
STEPS = ("accept", "register", "dispatch", "handle", "verify", "close", "arbitrate", "confirm")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(wh|wd|h)\s*$")


@dataclass(frozen=True)
class Duration:
    """An amount of time: working hours (wh), working days (wd) or clock hours (h)."""

    amount: float
    unit: str

    def seconds(self, calendar) -> float:
        """The amount in seconds of the calendar's working time."""
        if self.unit == "wd":
            return self.amount * calendar.day_seconds
        return self.amount * 3600.0

    def __str__(self) -> str:
        a = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{a}{self.unit}"


def parse_duration(text) -> Duration:
    """'4wh' | '1.5wd' | '6h' -> Duration; ValueError with the accepted forms otherwise."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration like \"4wh\", \"2wd\" or \"6h\"")
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a positive duration like \"4wh\", \"2wd\" or \"6h\"")
    return Duration(float(m.group(1)), m.group(2))


@dataclass(frozen=True)
class TimeLimits:
    """The limits of config/time_limits.yaml.

    steps: step -> Duration (working time) for ordinary cases.
    handle: matter code (5 digits) or major class (2 digits) -> Duration; `default_handle` otherwise.
    emergency: step -> Duration in clock hours for emergencies (missing steps fall back to `steps`).
    """

    steps: Mapping[str, Duration]
    handle: Mapping[str, Duration]
    default_handle: Duration
    emergency: Mapping[str, Duration] = field(default_factory=dict)
    yellow_at: float = 0.8

    def limit(self, step: str, code: str | None, emergency: bool) -> Duration:
        """The limit of one step for a case of matter `code`."""
        if emergency and step in self.emergency:
            return self.emergency[step]
        if step == "handle":
            if code and code in self.handle:
                return self.handle[code]
            if code and code[:2] in self.handle:
                return self.handle[code[:2]]
            return self.default_handle
        return self.steps[step]


def calendar_for(emergency: bool, calendar: WorkingCalendar):
    """The calendar a case's clock runs on: around the clock for emergencies."""
    return ContinuousCalendar(calendar.timezone) if emergency else calendar


@dataclass(frozen=True)
class StepTiming:
    """One step of a case: when it started, its limit, how much of it has been used."""

    step: str
    started_at: dt.datetime
    limit_seconds: float
    extension_seconds: float
    elapsed_seconds: float
    ended_at: dt.datetime | None
    paused: bool
    deadline: dt.datetime | None

    @property
    def ratio(self) -> float:
        """Elapsed share of the (extended) limit."""
        total = self.limit_seconds + self.extension_seconds
        return self.elapsed_seconds / total if total > 0 else 0.0

    @property
    def on_time(self) -> bool:
        """The step ended (or stands) within its limit."""
        return self.elapsed_seconds <= self.limit_seconds + self.extension_seconds

    def light(self, yellow_at: float = 0.8) -> str:
        """green / yellow / red by the share used; paused while parked."""
        r = self.ratio
        colour = GREEN if r < yellow_at else YELLOW if r <= 1.0 else RED
        return PAUSED if self.paused and colour != RED else colour


# Events that start a step, and the step they start.
STARTS = {
    "opened": "accept", "accepted": "register", "registered": "dispatch", "return_approved": "dispatch",
    "dispatched": "handle", "rework": "handle", "finished": "verify", "verified": "close",
    "arbitration": "arbitrate", "arbitrated": "handle",
}
# Events that end the running step without starting another.
ENDS = {"rejected", "voided", "closed"}


def _steps(events: Iterable[dict]):
    """(step, start event index, end event index or None) in history order."""
    events = list(events)
    out = []
    current = None
    for i, e in enumerate(events):
        kind = e["kind"]
        if kind == "opened" and i > 0:
            continue
        if kind == "verified" and not (e.get("detail") or {}).get("passed", True):
            continue  # a failed verification is followed by its rework event
        if kind in STARTS or kind in ENDS:
            if current is not None:
                out.append((current[0], current[1], i))
                current = None
            if kind in STARTS:
                current = (STARTS[kind], i)
    if current is not None:
        out.append((current[0], current[1], None))
    return out, events


def step_timings(events: Iterable[dict], code: str | None, emergency: bool, limits: TimeLimits,
                 calendar: WorkingCalendar, now: dt.datetime) -> list[StepTiming]:
    """Every step of a case's history with its timing; the last one may still run.

    events: dicts with 'at' (aware), 'kind', 'detail' in history order. Parked intervals are taken
    out of the elapsed time; approved extensions during a step extend its limit.
    """
    cal = calendar_for(emergency, calendar)
    spans, events = _steps(events)
    pauses = _pauses(events, now)
    result = []
    for step, i, j in spans:
        start = events[i]["at"]
        end = events[j]["at"] if j is not None else None
        stop = end or now
        limit = limits.limit(step, code, emergency).seconds(cal)
        ext = 0.0
        for e in events[i + 1:(j if j is not None else len(events))]:
            if e["kind"] == "extension_approved":
                try:
                    ext += parse_duration((e.get("detail") or {}).get("amount")).seconds(cal)
                except ValueError:
                    pass  # stored by the workflow after validation; a bad old row adds nothing
        elapsed = cal.elapsed(start, stop)
        for ps, pe in pauses:
            lo, hi = max(ps, start), min(pe, stop)
            if hi > lo:
                elapsed -= cal.elapsed(lo, hi)
        paused = end is None and any(ps <= now and pe >= now for ps, pe in pauses)
        deadline = None
        if end is None and not paused:
            remaining = max(0.0, limit + ext - elapsed)
            deadline = cal.add(now, remaining) if remaining > 0 else _overdue_since(cal, now, elapsed - limit - ext)
        result.append(StepTiming(step=step, started_at=start, limit_seconds=limit, extension_seconds=ext,
                                 elapsed_seconds=max(0.0, elapsed), ended_at=end, paused=paused,
                                 deadline=deadline))
    return result


def _overdue_since(cal, now: dt.datetime, over: float) -> dt.datetime:
    """The instant the step became overdue: `over` working seconds before now (approximated back)."""
    # Walk back in whole working days then hours: the calendar only adds forwards, so search.
    lo = now - dt.timedelta(days=max(1, int(over // 3600) + 30))
    hi = now
    for _ in range(60):
        mid = lo + (hi - lo) / 2
        if cal.elapsed(mid, now) > over:
            lo = mid
        else:
            hi = mid
    return hi


def _pauses(events: list[dict], now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Parked intervals: from an approved park ('parked') to the resume (or now)."""
    out, since = [], None
    for e in events:
        if e["kind"] == "parked" and since is None:
            since = e["at"]
        elif e["kind"] == "resumed" and since is not None:
            out.append((since, e["at"]))
            since = None
    if since is not None:
        out.append((since, max(now, since)))
    return out


def overall(events: Iterable[dict], code: str | None, emergency: bool, limits: TimeLimits,
            calendar: WorkingCalendar, now: dt.datetime) -> StepTiming:
    """The whole case from opening to close: the sum of all step limits that applied plus the
    approved extensions, against the working time used minus parked time.

    Repeated steps (a second dispatch after a return, a rework) add their limits again: the
    centre's own delays still show in the steps' own lights.
    """
    steps = step_timings(events, code, emergency, limits, calendar, now)
    events = list(events)
    if not steps:
        raise ValueError("a case history starts with an 'opened' event")
    cal = calendar_for(emergency, calendar)
    start = steps[0].started_at
    end_event = next((e for e in events if e["kind"] in ENDS), None)
    end = end_event["at"] if end_event else None
    stop = end or now
    # The steps that remain to be done count too: an open case is measured against the full chain.
    planned = {"accept", "register", "dispatch", "handle", "verify", "close"}
    limit = sum(s.limit_seconds for s in steps if s.step != "confirm")
    for missing in planned - {s.step for s in steps}:
        limit += limits.limit(missing, code, emergency).seconds(cal)
    ext = sum(s.extension_seconds for s in steps)
    elapsed = cal.elapsed(start, stop)
    for ps, pe in _pauses(events, now):
        lo, hi = max(ps, start), min(pe, stop)
        if hi > lo:
            elapsed -= cal.elapsed(lo, hi)
    paused = end is None and steps[-1].paused
    deadline = None
    if end is None and not paused:
        remaining = limit + ext - elapsed
        deadline = cal.add(now, remaining) if remaining > 0 else _overdue_since(cal, now, -remaining)
    return StepTiming(step="overall", started_at=start, limit_seconds=limit, extension_seconds=ext,
                      elapsed_seconds=max(0.0, elapsed), ended_at=end, paused=paused, deadline=deadline)


def parse_time_limits(raw, filename: str = "time_limits.yaml"):
    """Parse config/time_limits.yaml; returns (TimeLimits or None, [(key, message), ...])."""
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        return None, [("(top level)", "must be a mapping with steps, handle and emergency")]
    allowed = {"steps", "handle", "emergency", "yellow_at"}
    for k in raw:
        if k not in allowed:
            problems.append((str(k), f"unknown key (allowed: {', '.join(sorted(allowed))})"))

    def durations(key, value, names=None, required=()):
        out = {}
        if not isinstance(value, dict):
            problems.append((key, "must be a mapping name -> duration like \"4wh\""))
            return out
        for name, text in value.items():
            name = str(name)
            if names is not None and name not in names:
                problems.append((f"{key}.{name}", f"unknown step (one of {', '.join(names)})"))
                continue
            try:
                out[name] = parse_duration(text)
            except ValueError as e:
                problems.append((f"{key}.{name}", str(e)))
        for name in required:
            if name not in value:
                problems.append((f"{key}.{name}", "required step limit is missing"))
        return out

    centre_steps = tuple(s for s in STEPS if s != "handle")
    steps = durations("steps", raw.get("steps"), centre_steps, centre_steps)
    for name, d in steps.items():
        if d.unit == "h":
            problems.append((f"steps.{name}", "ordinary limits are in working time (wh or wd); clock hours "
                                              "(h) are for the emergency section"))
    handle = durations("handle", raw.get("handle"))
    default = handle.pop("default", None)
    if default is None and isinstance(raw.get("handle"), dict):
        problems.append(("handle.default", "required: the handling limit of matters not listed"))
    elif default is not None and default.unit == "h":
        problems.append(("handle.default", "ordinary limits are in working time (wh or wd)"))
    for name, d in handle.items():
        if not re.match(r"^\d{2}(\d{3})?$", name):
            problems.append((f"handle.{name}", "keys are matter codes (\"06010\") or major classes (\"06\"); "
                                               "quote them so leading zeros stay"))
        if d.unit == "h":
            problems.append((f"handle.{name}", "ordinary limits are in working time (wh or wd)"))
    emergency = durations("emergency", raw.get("emergency", {}), STEPS)
    for name, d in emergency.items():
        if d.unit != "h":
            problems.append((f"emergency.{name}", "emergency limits run around the clock: use clock hours (h)"))
    yellow = raw.get("yellow_at", 0.8)
    if isinstance(yellow, bool) or not isinstance(yellow, (int, float)) or not 0 < yellow < 1:
        problems.append(("yellow_at", f"must be a share between 0 and 1 (0.8 = yellow at 80 %), got {yellow!r}"))
        yellow = 0.8
    if problems:
        return None, problems
    return TimeLimits(steps=steps, handle=handle, default_handle=default, emergency=emergency,
                      yellow_at=float(yellow)), []
