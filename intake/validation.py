"""Checking what channels send before anything is stored.

Every problem is reported with the field it concerns; nothing is half-accepted.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from intake.models import IncomingReport

API_CHANNELS = ("sms", "web", "12345", "110", "inspector", "12319")
FIELDS = {"channel", "external_id", "text", "received_at", "caller", "address", "street", "code", "lng", "lat"}
MAX_BODY_BYTES = 64 * 1024
_CODE = re.compile(r"^\d{5}$")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with the input."""

    field: str
    message: str

    def as_dict(self) -> dict:
        """JSON form."""
        return {"field": self.field, "message": self.message}


class InvalidInput(Exception):
    """The input was refused; `errors` lists every problem found."""

    def __init__(self, errors: list[FieldError], status: int = 400):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
        self.status = status


def decode_json_body(body: bytes) -> object:
    """Bytes -> JSON value; raises InvalidInput for oversized, non-UTF-8 or malformed bodies."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput([FieldError("body", f"request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")], 413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput([FieldError("body", f"request body is not valid UTF-8 (byte {e.start})")])
    if not text.strip():
        raise InvalidInput([FieldError("body", "request body is empty; send a JSON object")])
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput([FieldError("body", f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}")])


def parse_time(value, field: str, tz: ZoneInfo, errors: list) -> dt.datetime | None:
    """ISO 8601 -> aware datetime; a time without offset is read in the deployment's zone."""
    if not isinstance(value, str):
        errors.append(FieldError(field, "must be an ISO 8601 date-time string"))
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.append(FieldError(field, f"not an ISO 8601 date-time: {value[:40]!r}"))
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return t


def parse_report(data: object, *, now: dt.datetime, tz: ZoneInfo, max_text_chars: int,
                 known_streets=None, known_codes=None, extra_allowed: frozenset = frozenset()) -> IncomingReport:
    """Validate one report object (the API's and replay's contract); raises InvalidInput."""
    if not isinstance(data, dict):
        raise InvalidInput([FieldError("body", f"expected a JSON object, got {type(data).__name__}")])
    errors: list[FieldError] = []
    for k in sorted(set(data) - FIELDS - extra_allowed):
        errors.append(FieldError(k, "unknown field"))

    def opt_str(name, limit):
        v = data.get(name)
        if v is None:
            return None
        if not isinstance(v, str):
            errors.append(FieldError(name, f"must be a string, got {type(v).__name__}"))
            return None
        v = v.strip()
        if len(v) > limit:
            errors.append(FieldError(name, f"is {len(v)} characters; the limit is {limit}"))
            return None
        return v or None

    channel = data.get("channel")
    if channel is None:
        errors.append(FieldError("channel", "is required"))
    elif not isinstance(channel, str) or channel not in API_CHANNELS:
        errors.append(FieldError("channel", f"unknown channel {channel!r}; one of {', '.join(API_CHANNELS)}"))
    external_id = data.get("external_id")
    if external_id is None:
        errors.append(FieldError("external_id", "is required"))
    elif not isinstance(external_id, str) or not external_id.strip():
        errors.append(FieldError("external_id", "must be a non-empty string"))
    elif len(external_id) > 128:
        errors.append(FieldError("external_id", "is longer than 128 characters"))
    text = data.get("text")
    if text is None:
        errors.append(FieldError("text", "is required"))
    elif not isinstance(text, str):
        errors.append(FieldError("text", f"must be a string, got {type(text).__name__}"))
    elif not text.strip():
        errors.append(FieldError("text", "is empty"))
    elif len(text) > max_text_chars:
        errors.append(FieldError("text", f"is {len(text)} characters; the limit is {max_text_chars}"))
    elif _CTRL.search(text):
        errors.append(FieldError("text", "contains control characters"))
    received_at = now
    if data.get("received_at") is not None:
        received_at = parse_time(data["received_at"], "received_at", tz, errors) or now
    caller = opt_str("caller", 64)
    address = opt_str("address", 500)
    street = opt_str("street", 64)
    if street and known_streets is not None and street not in known_streets:
        errors.append(FieldError("street", f"unknown street/town {street!r}"))
    code = data.get("code")
    if code is not None:
        if not isinstance(code, str) or not _CODE.match(code):
            errors.append(FieldError("code", "must be a five-digit matter code string such as \"06042\""))
            code = None
        elif known_codes is not None and code not in known_codes:
            errors.append(FieldError("code", f"{code} is not a matter code of GB/T 47678.5-2026"))
            code = None
    lng, lat = data.get("lng"), data.get("lat")
    for name, v, lo, hi in (("lng", lng, -180, 180), ("lat", lat, -90, 90)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                              or not lo <= v <= hi):
            errors.append(FieldError(name, f"must be a number between {lo} and {hi}"))
    if (lng is None) != (lat is None):
        errors.append(FieldError("lng" if lng is None else "lat", "lng and lat come together"))
    if errors:
        raise InvalidInput(errors)
    return IncomingReport(channel=channel, external_id=external_id.strip(), text=text.strip(),
                          received_at=received_at, caller=caller, address=address, street=street, code=code,
                          lng=float(lng) if lng is not None else None, lat=float(lat) if lat is not None else None)
