"""Working time across lunch breaks, weekends, public holidays and make-up working days."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from routing.calendar import ContinuousCalendar, WorkingCalendar, parse_calendar

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def at(y, m, d, hh=0, mm=0):
    """A time in Changzhou."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture(scope="module")
def cal():
    """The bundled calendar (2026 holidays and make-up days)."""
    value, problems = parse_calendar(yaml.safe_load((ROOT / "config" / "calendar.yaml").read_text("utf-8")))
    assert problems == []
    return value


def test_a_working_day_is_seven_and_a_half_hours_and_lunch_does_not_count(cal):
    """8:30-12:00 + 13:30-17:30; 11:00 to 14:00 on a Thursday is 1 h + 0.5 h."""
    assert cal.day_seconds == 7.5 * 3600
    assert cal.elapsed(at(2026, 11, 26, 11), at(2026, 11, 26, 14)) == 1.5 * 3600
    assert cal.add_hours(at(2026, 11, 26, 11), 2) == at(2026, 11, 26, 14, 30)


def test_adding_hours_over_a_weekend(cal):
    """Friday 16:00 + 4 working hours: 1.5 h on Friday, 2.5 h on Monday morning -> Monday 11:00."""
    assert cal.add_hours(at(2026, 11, 27, 16), 4) == at(2026, 11, 30, 11)
    assert cal.elapsed(at(2026, 11, 27, 16), at(2026, 11, 30, 11)) == 4 * 3600
    assert cal.add_days(at(2026, 11, 27, 16), 1) == at(2026, 11, 30, 16)


def test_national_day_holidays_and_the_make_up_saturday(cal):
    """30 Sep 16:00 + 1 working day skips 1-7 October (holidays) and lands on Thursday 8 October;
    Saturday 10 October is a make-up working day, Sunday 11 October is not."""
    assert cal.add_days(at(2026, 9, 30, 16), 1) == at(2026, 10, 8, 16)
    assert not cal.is_working_day(dt.date(2026, 10, 5))
    assert cal.is_working_day(dt.date(2026, 10, 10)) and not cal.is_working_day(dt.date(2026, 10, 11))
    # Friday 9 October 17:00 + 2 h: half an hour on Friday, then Saturday the 10th (worked) -> 10:00.
    assert cal.add_hours(at(2026, 10, 9, 17), 2) == at(2026, 10, 10, 10)


def test_spring_festival_week_counts_nothing(cal):
    """Nothing elapses from 15 to 23 February 2026; Saturday 14 February is worked."""
    assert cal.elapsed(at(2026, 2, 15), at(2026, 2, 24)) == 0
    assert cal.is_working_day(dt.date(2026, 2, 14))
    assert cal.elapsed(at(2026, 2, 14), at(2026, 2, 15)) == 7.5 * 3600


def test_outside_working_time_nothing_elapses_and_adding_starts_at_the_next_period(cal):
    """Saturday evening to Sunday: 0; Saturday 20:00 + 1 h = Monday 9:30; + 0 = itself."""
    assert cal.elapsed(at(2026, 11, 28, 20), at(2026, 11, 29, 23)) == 0
    assert cal.add_hours(at(2026, 11, 28, 20), 1) == at(2026, 11, 30, 9, 30)
    assert cal.add(at(2026, 11, 28, 20), 0) == at(2026, 11, 28, 20)
    assert not cal.is_working_time(at(2026, 11, 26, 12, 30)) and cal.is_working_time(at(2026, 11, 26, 9))


def test_times_in_other_zones_are_converted():
    """An aware UTC time is read in the calendar's zone; a naive one is refused."""
    cal = WorkingCalendar()
    utc = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.timezone.utc)  # 9:00 in Changzhou
    assert cal.add_hours(utc, 1) == at(2026, 11, 26, 10)
    with pytest.raises(ValueError, match="aware"):
        cal.elapsed(dt.datetime(2026, 11, 26, 9), utc)


def test_continuous_calendar_counts_every_second():
    """Emergencies: Saturday night counts like any other time."""
    c = ContinuousCalendar()
    assert c.add_hours(at(2026, 11, 28, 22), 6) == at(2026, 11, 29, 4)
    assert c.elapsed(at(2026, 11, 28, 22), at(2026, 11, 29, 4)) == 6 * 3600


@pytest.mark.parametrize("raw,key,words", [
    ({"working_hours": ["08:30-12:00"], "colour": 1}, "colour", "unknown key"),
    ({"working_hours": ["8.30 to 12"]}, "working_hours[0]", "not a period"),
    ({"working_hours": ["12:00-08:30"]}, "working_hours", "ends before"),
    ({"working_hours": ["08:30-12:00"], "holidays": {"x": ["2026-02-30"]}}, "holidays.x[0]", "not a date"),
    ({"working_hours": ["08:30-12:00"], "holidays": ["2026-10-10"], "workdays": ["2026-10-10"]}, "workdays",
     "both"),
    ({"working_hours": ["08:30-12:00"], "workdays": ["2026-10-09"]}, "workdays", "weekday already"),
    ({"working_hours": ["08:30-12:00"], "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
    ({"working_hours": ["08:30-12:00"], "weekend": [0]}, "weekend", "ISO weekdays"),
    (None, "(top level)", "empty"),
])
def test_bad_calendar_files_are_reported_with_their_key(raw, key, words):
    """Every mistake names its key; nothing is half-loaded."""
    value, problems = parse_calendar(raw)
    assert value is None
    assert any(k == key and words in m for k, m in problems), problems


def test_check_config_reports_a_broken_calendar_with_file_and_key(tmp_path):
    """`load_config` (and so `hotline check-config`) names calendar.yaml and the key."""
    import shutil
    from intake.config import ConfigError, load_config
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target, ignore=shutil.ignore_patterns("tools"))
    text = (target / "calendar.yaml").read_text("utf-8").replace("2026-10-10]", "2026-10-12]")
    (target / "calendar.yaml").write_text(text, "utf-8")
    limits = (target / "time_limits.yaml").read_text("utf-8").replace("verify: 4wh", "verify: 4 weeks")
    (target / "time_limits.yaml").write_text(limits, "utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(target)
    shown = [str(p) for p in e.value.problems]
    assert any("calendar.yaml: workdays" in s and "2026-10-12" in s for s in shown), shown
    assert any("time_limits.yaml: steps.verify" in s for s in shown), shown
