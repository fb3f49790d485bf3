"""Time limits per matter and step, lights at 80 %, parking stops the clock, extensions move it."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from routing.calendar import WorkingCalendar
from routing.timelimits import overall, parse_duration, parse_time_limits, step_timings

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
CAL = WorkingCalendar()


def at(d, hh, mm=0, month=11):
    """A time in Changzhou in 2026."""
    return dt.datetime(2026, month, d, hh, mm, tzinfo=TZ)


def ev(when, kind, **detail):
    """A history event."""
    return {"at": when, "actor": "t", "kind": kind, "detail": detail}


@pytest.fixture(scope="module")
def limits():
    """The bundled config/time_limits.yaml."""
    value, problems = parse_time_limits(yaml.safe_load((ROOT / "config" / "time_limits.yaml").read_text("utf-8")))
    assert problems == []
    return value


def dispatched_at(when):
    """A garbage-overflow case (06042, 4 working hours to handle) dispatched at `when`."""
    return [ev(when, "opened"), ev(when, "accepted"), ev(when, "registered"), ev(when, "dispatched", department="x")]


def test_most_specific_limit_wins_and_emergencies_use_clock_hours(limits):
    """06042 has its own 4wh; 09006 falls to major class 09; an unlisted matter gets the default;
    an emergency's handling runs 6 clock hours."""
    assert str(limits.limit("handle", "06042", False)) == "4wh"
    assert str(limits.limit("handle", "09006", False)) == "4wh"
    assert str(limits.limit("handle", "10001", False)) == "5wd"
    assert str(limits.limit("handle", "01001", True)) == "6h"
    assert str(limits.limit("verify", "06042", False)) == "4wh"


def test_lights_turn_yellow_at_80_percent_and_red_when_overdue(limits):
    """Dispatched Thursday 9:00 with 4 working hours: 3 h used is green (75 %), 13:42 is yellow
    (3 h 12 = 80 %), 14:31 is red; the deadline is 14:30."""
    events = dispatched_at(at(26, 9))
    light = lambda now: step_timings(events, "06042", False, limits, CAL, now)[-1].light(limits.yellow_at)  # noqa
    assert light(at(26, 12)) == "green"
    assert light(at(26, 13, 42)) == "yellow"
    assert light(at(26, 14, 31)) == "red"
    assert step_timings(events, "06042", False, limits, CAL, at(26, 10))[-1].deadline == at(26, 14, 30)


def test_deadline_crosses_the_weekend(limits):
    """Dispatched Friday 16:00: 1.5 h on Friday, the rest on Monday -> due Monday 11:00."""
    s = step_timings(dispatched_at(at(27, 16)), "06042", False, limits, CAL, at(27, 16, 30))[-1]
    assert s.deadline == at(30, 11) and s.light() == "green"


def test_deadline_crosses_national_day(limits):
    """A 5-working-day matter dispatched 30 Sep 9:00 is due 13 Oct 9:00: 1-7 Oct are holidays and
    Saturday 10 Oct is worked (30 Sep, 8, 9, 10, 12 Oct = five days)."""
    from routing.calendar import parse_calendar
    cal, _ = parse_calendar(yaml.safe_load((ROOT / "config" / "calendar.yaml").read_text("utf-8")))
    events = dispatched_at(at(30, 9, month=9))
    s = step_timings(events, "10001", False, limits, cal, at(30, 9, month=9))[-1]
    assert s.deadline == at(13, 9, month=10)


def test_parking_stops_the_clock(limits):
    """Parked from Thursday 10:00 to Monday 10:00: only 1 h before and 1 h after count."""
    events = dispatched_at(at(26, 9)) + [ev(at(26, 9, 30), "park_requested"), ev(at(26, 10), "parked"),
                                         ev(at(30, 10), "resumed")]
    s = step_timings(events, "06042", False, limits, CAL, at(30, 11))[-1]
    assert s.elapsed_seconds == 2 * 3600 and s.light() == "green"
    while_parked = step_timings(events[:-1], "06042", False, limits, CAL, at(30, 9))[-1]
    assert while_parked.paused and while_parked.light() == "paused" and while_parked.deadline is None
    assert while_parked.elapsed_seconds == 1 * 3600


def test_an_approved_extension_moves_the_deadline(limits):
    """+1 working day on a 4-hour step dispatched Thursday 9:00: due Friday 14:30 instead of Thursday."""
    events = dispatched_at(at(26, 9)) + [ev(at(26, 10), "extension_requested", amount="1wd"),
                                         ev(at(26, 11), "extension_approved", amount="1wd")]
    s = step_timings(events, "06042", False, limits, CAL, at(26, 15))[-1]
    assert s.deadline == at(27, 14, 30) and s.light() == "green"
    refused = dispatched_at(at(26, 9)) + [ev(at(26, 11), "extension_refused")]
    assert step_timings(refused, "06042", False, limits, CAL, at(26, 15))[-1].light() == "red"


def test_emergency_runs_around_the_clock(limits):
    """An emergency dispatched Saturday 22:00 is due Sunday 4:00 (6 clock hours)."""
    events = dispatched_at(at(28, 22))
    s = step_timings(events, "01001", True, limits, CAL, at(28, 23))[-1]
    assert s.deadline == at(29, 4)


def test_overall_limit_adds_the_steps_and_reports_on_time(limits):
    """A case closed in 5 working hours against 1+1+1+4+4+2 = 13 h is on time; one closed a week
    later is not."""
    base = [ev(at(26, 9), "opened"), ev(at(26, 9, 10), "accepted"), ev(at(26, 9, 20), "registered"),
            ev(at(26, 9, 30), "dispatched", department="x"), ev(at(26, 11), "finished", note="ok"),
            ev(at(26, 13, 30), "verified", passed=True)]
    quick = overall(base + [ev(at(26, 14), "closed")], "06042", False, limits, CAL, at(26, 14))
    assert quick.limit_seconds == 13 * 3600 and quick.on_time
    slow = overall(base + [ev(at(3, 14, month=12), "closed")], "06042", False, limits, CAL, at(3, 14, month=12))
    assert not slow.on_time


@pytest.mark.parametrize("text", ["4wh", "1.5wd", "6h", " 2wd "])
def test_durations_parse(text):
    """The three units, decimals allowed."""
    assert parse_duration(text).amount > 0


@pytest.mark.parametrize("text", ["4", "0wh", "-1wd", "two days", 4, None, True])
def test_bad_durations_are_refused_with_the_forms_accepted(text):
    """Anything else is a ValueError naming the accepted forms."""
    with pytest.raises(ValueError, match="wh"):
        parse_duration(text)


@pytest.mark.parametrize("raw,key", [
    ({"steps": {}, "handle": {"default": "1wd"}}, "steps.accept"),
    ({"steps": {"teleport": "1wh"}, "handle": {"default": "1wd"}}, "steps.teleport"),
    ({"handle": {"6042": "1wd"}}, "handle.6042"),
    ({"handle": {"06042": "1wd"}}, "handle.default"),
    ({"handle": {"default": "6h"}}, "handle.default"),
    ({"handle": {"default": "1wd"}, "emergency": {"handle": "1wd"}}, "emergency.handle"),
    ({"handle": {"default": "1wd"}, "yellow_at": 80}, "yellow_at"),
    ({"handle": {"default": "1wd"}, "colour": "red"}, "colour"),
])
def test_bad_time_limit_files_name_the_key(raw, key):
    """Problems come back as (key, message) and no half-made value."""
    value, problems = parse_time_limits(raw)
    assert value is None and any(k == key for k, _ in problems), problems
