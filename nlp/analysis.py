"""What the NLP layer says about one report: the shared result types.

These frozen dataclasses are the contract between `nlp` and its callers (the intake pipeline,
`hotline classify`, the audit API). Keep them stable; add fields with defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nlp.places import Location


@dataclass(frozen=True)
class Candidate:
    """One matter code the classifier considered, with its calibrated probability."""

    code: str
    confidence: float


@dataclass(frozen=True)
class Classification:
    """The classifier's decision on a text.

    code: a matter code (also for emergencies); None only when out of scope.
    abstain: confidence under the review threshold: an operator must confirm (top 3 in candidates).
    out_of_scope: not city management; `agency` says who it belongs to.
    emergency: danger to life or property now; `emergency_reasons` say what was seen.
    """

    code: str | None
    name: str | None
    confidence: float
    abstain: bool
    candidates: tuple[Candidate, ...]
    out_of_scope: bool
    agency: str | None
    emergency: bool
    model_version: str
    emergency_reasons: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Analysis:
    """Classification plus location for one report."""

    classification: Classification
    location: Location
    normalised_text: str = ""
    tokens: tuple[str, ...] = field(default=())
