"""The closed loop's configuration files: config/calendar.yaml and config/time_limits.yaml.

Registered with intake.config when that module is imported (its last line imports this one), so
`load_config()` and `hotline check-config` validate them with every other file and report their
problems with file and key. The parsers live in the pure domain (routing.calendar,
routing.timelimits); this module only wires them in.
"""
from __future__ import annotations

from intake.config import register_section
from routing.calendar import WorkingCalendar, parse_calendar
from routing.timelimits import TimeLimits, parse_time_limits

register_section("calendar.yaml", parse_calendar)
register_section("time_limits.yaml", parse_time_limits)


def calendar_of(config) -> WorkingCalendar:
    """The validated working calendar (config/calendar.yaml)."""
    cal = config.extra.get("calendar")
    if cal is None:
        raise RuntimeError("configuration has no calendar.yaml section: load it with intake.config.load_config")
    return cal


def limits_of(config) -> TimeLimits:
    """The validated time limits (config/time_limits.yaml)."""
    limits = config.extra.get("time_limits")
    if limits is None:
        raise RuntimeError("configuration has no time_limits.yaml section: load it with intake.config.load_config")
    return limits
