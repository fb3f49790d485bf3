"""Typed values that cross the intake layers: what a channel delivered, what intake answered.

Nothing from SQLAlchemy leaves the store: store methods return these frozen dataclasses.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

CHANNELS = ("sms", "web", "12345", "110", "inspector", "phone", "12319")


@dataclass(frozen=True)
class IncomingReport:
    """A validated report as a channel delivered it (never rewritten afterwards)."""

    channel: str
    external_id: str
    text: str
    received_at: dt.datetime
    caller: str | None = None
    address: str | None = None
    street: str | None = None
    code: str | None = None
    lng: float | None = None
    lat: float | None = None


@dataclass(frozen=True)
class DecisionRecord:
    """What the system decided about a report, stored beside it."""

    model_version: str
    code: str | None
    code_name: str | None
    confidence: float
    abstain: bool
    candidates: tuple[dict, ...]
    out_of_scope: bool
    agency: str | None
    emergency: bool
    classification_reasons: tuple[str, ...]
    street: str | None
    community: str | None
    grid: str | None
    places: tuple[str, ...]
    location_reasons: tuple[str, ...]
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class IntakeResult:
    """The answer to a report: the first answer, also for every retry of it."""

    report_id: int
    outcome: str  # opened | merged | out_of_scope | emergency
    case_id: int | None
    case_number: str | None
    duplicate_of: int | None
    reasons: tuple[str, ...]
    code: str | None
    confidence: float
    abstain: bool
    candidates: tuple[dict, ...]
    out_of_scope: bool
    agency: str | None
    emergency: bool
    street: str | None
    community: str | None
    grid: str | None
    department_id: str | None
    needs_review: bool
    model_version: str
    replayed: bool = False


@dataclass(frozen=True)
class CaseRow:
    """A case as the API shows it."""

    id: int
    number: str
    status: str
    code: str
    street: str | None
    community: str | None
    grid: str | None
    department_id: str | None
    level: str | None
    emergency: bool
    hot: bool
    inspector_confirmed: bool
    report_count: int
    channels: tuple[str, ...]
    recurrence_of: int | None
    opened_at: dt.datetime
    last_report_at: dt.datetime
    closed_at: dt.datetime | None
    reports: tuple[dict, ...] = field(default=())
    history: tuple[dict, ...] = field(default=())
