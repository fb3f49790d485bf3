"""The classification audit in the database: the review queue, append-only reviews, accuracy rows.

Every classification the machine stored (report_decisions) can be reviewed: an operator confirms or
corrects it at intake, a shift chief or auditor overrides it in an audit. Each review is a new row of
classification_reviews (never updated); the newest row of a report is its final code. A review that
changes the code of the report that opened a case also changes the case's code, through a
'code_corrected' event in the case's append-only history, in the same transaction.

Every method runs on the DB pool (`def thd(conn): ...; return self.db.do(thd)`) and returns frozen
dataclasses. `accuracy_summary` is pure: it turns reviewed decisions into the accuracy report.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import sqlalchemy as sa

from intake.db import schema as t

# Review kinds: an operator's at intake, and a supervisor's audit.
CONFIRM = "confirm"
CORRECT = "correct"
OVERRIDE = "override"
# Roles whose reviews are audits (an operator may not undo them); admin counts as a supervisor.
SUPERVISOR_ROLES = frozenset({"shift_chief", "auditor", "admin"})
# How accuracy may be grouped. code: the final (reviewed) code, so per-code accuracy is the
# machine's recall of that matter; machine_code: the code the machine proposed (its precision).
GROUPINGS = ("code", "machine_code", "channel", "operator", "model_version")
# The key used for "not city management" wherever a code would stand (groups, confusion pairs).
OUT_OF_SCOPE_KEY = "out_of_scope"
# A decision with neither a code nor out of scope (an empty text the machine could not classify).
NO_CODE_KEY = "none"


class ReviewRefused(Exception):
    """A review that cannot be recorded as asked: the field at fault and an HTTP status."""

    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Classification:
    """A classification as reviews see it: a matter code, or out of scope with the agency."""

    code: str | None
    out_of_scope: bool
    agency: str | None = None

    @property
    def key(self) -> str:
        """The code, or 'out_of_scope' / 'none': what accuracy compares and groups by."""
        if self.out_of_scope:
            return OUT_OF_SCOPE_KEY
        return self.code or NO_CODE_KEY

    def same_as(self, other: "Classification") -> bool:
        """True when a review would change nothing (code, scope and, out of scope, the agency)."""
        return (self.code, self.out_of_scope, self.agency if self.out_of_scope else None) == \
            (other.code, other.out_of_scope, other.agency if other.out_of_scope else None)


@dataclass(frozen=True)
class Review:
    """One row of the append-only review trail."""

    id: int
    report_id: int
    kind: str
    user_id: int
    reviewer: str
    role: str
    at: dt.datetime
    model_version: str
    old: Classification
    new: Classification
    reason: str | None
    case_id: int | None


@dataclass(frozen=True)
class QueueItem:
    """A report waiting for review, with what the machine proposed and why it is in the queue."""

    report_id: int
    channel: str
    external_id: str
    text: str
    caller: str | None
    received_at: dt.datetime
    proposed: Classification
    confidence: float
    abstain: bool
    candidates: tuple[dict, ...]
    model_version: str
    reasons: tuple[str, ...]
    below_threshold: bool
    flagged: bool
    audit_sampled: bool
    case_id: int | None
    case_number: str | None


@dataclass(frozen=True)
class ReviewOutcome:
    """What a review did: the new row, and whether (and why not) the case's code changed."""

    review: Review
    case_id: int | None
    case_number: str | None
    case_updated: bool
    case_note: str | None


@dataclass(frozen=True)
class ReviewTrail:
    """A report's machine classification and every review of it, oldest first."""

    report_id: int
    channel: str
    model_version: str
    machine: Classification
    confidence: float
    reviews: tuple[Review, ...]

    @property
    def final(self) -> Classification:
        """The classification that stands: the newest review's, else the machine's."""
        return self.reviews[-1].new if self.reviews else self.machine


@dataclass(frozen=True)
class ReviewedDecision:
    """A reviewed report reduced to what accuracy and the corrections export need."""

    report_id: int
    channel: str
    text: str
    decided_at: dt.datetime
    model_version: str
    machine: Classification
    final: Classification
    confidence: float
    below_threshold: bool
    audit_sampled: bool
    first_reviewer: str
    first_review: Classification
    reviews: int
    street: str | None
    emergency: bool


class AuditStore:
    """Typed access to reviews through a runner (DBThreadPool or SyncRunner)."""

    def __init__(self, db):
        self.db = db

    def queue(self, threshold: float, limit: int = 50, offset: int = 0, channel: str | None = None):
        """(total, items): decisions needing review and not yet reviewed, newest first.

        Needing review was decided at intake: needs_review (the machine abstained below the
        configured review threshold, or the duplicate check asks a person) or audit_sampled (the
        configured random sample of the rest). Both columns are indexed; `threshold` only labels
        why an item is queued.
        """
        def thd(conn):
            d = t.report_decisions
            reviewed = sa.exists().where(t.classification_reviews.c.report_id == d.c.report_id)
            conds = [sa.or_(d.c.needs_review.is_(True), d.c.audit_sampled.is_(True)), ~reviewed]
            if channel:
                conds.append(t.reports.c.channel == channel)
            where = sa.and_(*conds)
            base = sa.select(sa.func.count()).select_from(d.join(t.reports, t.reports.c.id == d.c.report_id))
            total = conn.execute(base.where(where)).scalar_one()
            rows = conn.execute(
                sa.select(t.reports.c.id, t.reports.c.channel, t.reports.c.external_id, t.reports.c.text,
                          t.reports.c.caller, t.reports.c.received_at, d.c.code, d.c.out_of_scope, d.c.agency,
                          d.c.confidence, d.c.abstain, d.c.candidates, d.c.model_version,
                          d.c.classification_reasons, d.c.needs_review, d.c.audit_sampled, d.c.case_id,
                          t.cases.c.number)
                .select_from(d.join(t.reports, t.reports.c.id == d.c.report_id)
                             .outerjoin(t.cases, t.cases.c.id == d.c.case_id))
                .where(where)
                .order_by(d.c.decided_at.desc(), d.c.report_id.desc())
                .limit(limit).offset(offset)).mappings().all()
            items = [QueueItem(
                report_id=r["id"], channel=r["channel"], external_id=r["external_id"], text=r["text"],
                caller=r["caller"], received_at=r["received_at"],
                proposed=Classification(r["code"], bool(r["out_of_scope"]), r["agency"]),
                confidence=float(r["confidence"]), abstain=bool(r["abstain"]),
                candidates=tuple(r["candidates"] or ())[:3], model_version=r["model_version"],
                reasons=tuple(r["classification_reasons"] or ()),
                below_threshold=bool(r["abstain"]) or float(r["confidence"]) < threshold,
                flagged=bool(r["needs_review"]), audit_sampled=bool(r["audit_sampled"]),
                case_id=r["case_id"], case_number=r["number"])
                for r in rows]
            return total, items
        return self.db.do(thd)

    def review(self, report_id: int, new: Classification, reason: str | None, *, user_id: int,
               reviewer: str, role: str, actor: str, at: dt.datetime):
        """Append a review of a report's classification; a ReviewOutcome.

        The kind follows from the role and whether the code changes: an operator confirms or
        corrects, a supervisor confirms or overrides. A change needs a reason. An operator may not
        change what a supervisor's audit decided (409). When the code changes and the report opened
        a case that still carries the old code, the case gets the new code through a
        'code_corrected' event. Raises ReviewRefused (field, message, status).
        """
        def thd(conn):
            d = t.report_decisions
            # Lock the decision row so two reviews of one report are serialised: each sees the
            # other's row as its "old" classification (SQLite's BEGIN IMMEDIATE already does).
            dec = conn.execute(sa.select(d.c.report_id, d.c.code, d.c.out_of_scope, d.c.agency, d.c.model_version)
                               .where(d.c.report_id == report_id).with_for_update()).mappings().first()
            if dec is None:
                exists = conn.execute(sa.select(t.reports.c.id).where(t.reports.c.id == report_id)).first()
                raise ReviewRefused("report_id", f"no report {report_id}" if exists is None else
                                    f"report {report_id} has no stored classification to review", 404)
            last = conn.execute(sa.select(t.classification_reviews)
                                .where(t.classification_reviews.c.report_id == report_id)
                                .order_by(t.classification_reviews.c.id.desc()).limit(1)).mappings().first()
            old = (_new_of(last) if last is not None
                   else Classification(dec["code"], bool(dec["out_of_scope"]), dec["agency"]))
            supervisor = role in SUPERVISOR_ROLES
            if not supervisor and conn.execute(
                    sa.select(sa.func.count()).select_from(t.classification_reviews).where(
                        t.classification_reviews.c.report_id == report_id,
                        t.classification_reviews.c.role.in_(sorted(SUPERVISOR_ROLES)))).scalar_one():
                raise ReviewRefused("report_id", f"report {report_id} was audited by a shift chief or auditor; "
                                    "an operator may not change the audited code", 409)
            changed = not old.same_as(new)
            if changed and not reason:
                raise ReviewRefused("reason", f"is required when the code changes ({old.key} -> {new.key}): "
                                    "say why the proposed code is wrong")
            kind = CONFIRM if not changed else (OVERRIDE if supervisor else CORRECT)
            case = conn.execute(
                sa.select(t.cases.c.id, t.cases.c.number, t.cases.c.code, t.case_reports.c.role)
                .join(t.case_reports, t.case_reports.c.case_id == t.cases.c.id)
                .where(t.case_reports.c.report_id == report_id)
                # The case row too: an inspector's report merging in may change its code meanwhile.
                .with_for_update(of=t.cases)).mappings().first()
            case_updated, note, changed_case = False, None, None
            if changed and case is not None:
                if case["role"] != "origin":
                    note = (f"report {report_id} joined case {case['number']} as {case['role']}; "
                            "the case keeps the code of the report that opened it")
                elif new.out_of_scope or not new.code:
                    note = (f"case {case['number']} was opened on a report now judged out of scope; "
                            "its code stays until a shift chief voids it")
                elif case["code"] != old.code:
                    note = (f"case {case['number']} now carries code {case['code']}, not the reviewed {old.key} "
                            "(changed since, e.g. by an inspector); not overwritten")
                else:
                    case_updated, changed_case = True, case["id"]
            review_id = conn.execute(t.classification_reviews.insert().values(
                report_id=report_id, kind=kind, user_id=user_id, reviewer=reviewer, role=role, at=at,
                model_version=dec["model_version"], old_code=old.code, old_out_of_scope=old.out_of_scope,
                old_agency=old.agency if old.out_of_scope else None, new_code=new.code,
                new_out_of_scope=new.out_of_scope, new_agency=new.agency if new.out_of_scope else None,
                reason=reason, case_id=changed_case)).inserted_primary_key[0]
            if case is not None and changed:
                detail = {"report_id": report_id, "review_id": review_id, "old": old.key, "new": new.key,
                          "by": actor, "reason": reason, "kind": kind, "model_version": dec["model_version"]}
                if case_updated:
                    conn.execute(t.cases.update().where(t.cases.c.id == case["id"]).values(code=new.code))
                    conn.execute(t.case_events.insert().values(case_id=case["id"], at=at, actor=actor,
                                                              kind="code_corrected", detail=detail))
                elif case["role"] == "origin" and (new.out_of_scope or not new.code):
                    # Recorded so the shift chief sees it in the case's history; voiding is theirs.
                    conn.execute(t.case_events.insert().values(case_id=case["id"], at=at, actor=actor,
                                                              kind="review_out_of_scope",
                                                              detail=dict(detail, agency=new.agency)))
            row = conn.execute(sa.select(t.classification_reviews)
                               .where(t.classification_reviews.c.id == review_id)).mappings().one()
            return ReviewOutcome(review=_review(row), case_id=case["id"] if case else None,
                                 case_number=case["number"] if case else None,
                                 case_updated=case_updated, case_note=note)
        return self.db.do(thd)

    def trail(self, report_id: int):
        """The report's machine classification and every review of it (a ReviewTrail), or None."""
        def thd(conn):
            r = conn.execute(
                sa.select(t.reports.c.channel, t.report_decisions.c.code, t.report_decisions.c.out_of_scope,
                          t.report_decisions.c.agency, t.report_decisions.c.model_version,
                          t.report_decisions.c.confidence)
                .join(t.report_decisions, t.report_decisions.c.report_id == t.reports.c.id)
                .where(t.reports.c.id == report_id)).mappings().first()
            if r is None:
                return None
            rows = conn.execute(sa.select(t.classification_reviews)
                                .where(t.classification_reviews.c.report_id == report_id)
                                .order_by(t.classification_reviews.c.id)).mappings().all()
            return ReviewTrail(report_id=report_id, channel=r["channel"], model_version=r["model_version"],
                               machine=Classification(r["code"], bool(r["out_of_scope"]), r["agency"]),
                               confidence=float(r["confidence"]), reviews=tuple(_review(x) for x in rows))
        return self.db.do(thd)

    def reviewed(self, since: dt.datetime | None = None, until: dt.datetime | None = None,
                 threshold: float = 0.0, with_text: bool = True):
        """Every reviewed report received (= decided by the machine) in [since, until), oldest
        first, as ReviewedDecision (final = the newest review). `threshold` marks the ones below
        it; without `with_text` the texts are not read (accuracy needs none)."""
        def thd(conn):
            d, rv = t.report_decisions, t.classification_reviews
            conds = [sa.exists().where(rv.c.report_id == d.c.report_id)]
            # The period goes by the report's receipt time (indexed); the decision is made then.
            if since is not None:
                conds.append(t.reports.c.received_at >= since)
            if until is not None:
                conds.append(t.reports.c.received_at < until)
            text = t.reports.c.text if with_text else sa.literal("").label("text")
            decisions = conn.execute(
                sa.select(d.c.report_id, d.c.decided_at, d.c.model_version, d.c.code, d.c.out_of_scope,
                          d.c.agency, d.c.confidence, d.c.abstain, d.c.audit_sampled, d.c.street,
                          d.c.emergency, t.reports.c.channel, text, t.reports.c.street_hint)
                .join(t.reports, t.reports.c.id == d.c.report_id)
                .where(*conds).order_by(t.reports.c.received_at, d.c.report_id)).mappings().all()
            if not decisions:
                return []
            by_report: dict[int, list] = {}
            ids = [x["report_id"] for x in decisions]
            # In slices: a bound parameter list per query stays well below every driver's limit.
            for i in range(0, len(ids), 500):
                for row in conn.execute(sa.select(rv).where(rv.c.report_id.in_(ids[i:i + 500]))
                                        .order_by(rv.c.report_id, rv.c.id)).mappings():
                    by_report.setdefault(row["report_id"], []).append(row)
            out = []
            for x in decisions:
                reviews = by_report.get(x["report_id"])
                if not reviews:
                    continue  # reviewed between the two queries' snapshots: counted next time
                first, last = reviews[0], reviews[-1]
                out.append(ReviewedDecision(
                    report_id=x["report_id"], channel=x["channel"], text=x["text"], decided_at=x["decided_at"],
                    model_version=x["model_version"],
                    machine=Classification(x["code"], bool(x["out_of_scope"]), x["agency"]),
                    final=_new_of(last), confidence=float(x["confidence"]),
                    below_threshold=bool(x["abstain"]) or float(x["confidence"]) < threshold,
                    audit_sampled=bool(x["audit_sampled"]), first_reviewer=first["reviewer"],
                    first_review=_new_of(first), reviews=len(reviews),
                    street=x["street"] or x["street_hint"], emergency=bool(x["emergency"])))
            return out
        return self.db.do(thd)


def _new_of(row) -> Classification:
    return Classification(row["new_code"], bool(row["new_out_of_scope"]), row["new_agency"])


def _review(row) -> Review:
    return Review(
        id=row["id"], report_id=row["report_id"], kind=row["kind"], user_id=row["user_id"],
        reviewer=row["reviewer"], role=row["role"], at=row["at"], model_version=row["model_version"],
        old=Classification(row["old_code"], bool(row["old_out_of_scope"]), row["old_agency"]),
        new=Classification(row["new_code"], bool(row["new_out_of_scope"]), row["new_agency"]),
        reason=row["reason"], case_id=row["case_id"])


def _rate(correct: int, total: int) -> float | None:
    return round(correct / total, 4) if total else None


def group_key(r: ReviewedDecision, by: str) -> str:
    """The group a reviewed decision falls in for one of GROUPINGS."""
    if by == "code":
        return r.final.key
    if by == "machine_code":
        return r.machine.key
    if by == "channel":
        return r.channel
    if by == "operator":
        # Who reviewed it first: at intake that is the operator who confirmed or corrected it.
        return r.first_reviewer
    if by == "model_version":
        return r.model_version
    raise ValueError(f"unknown grouping {by!r}; one of {', '.join(GROUPINGS)}")


def accuracy_summary(rows: Sequence[ReviewedDecision], by: str) -> dict:
    """Accuracy of the machine over reviewed decisions: the machine's classification equals the
    final reviewed one (code, or out of scope). Pure.

    Returns overall and per-group counts (reviewed, correct, accuracy), the confusion pairs
    (machine -> final, most frequent first), and the accuracy on the random audit sample of
    confident decisions (the unbiased estimate for decisions nobody is asked to look at). Grouped
    by operator, each group also says how often the operator's own code survived a later audit.
    """
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; one of {', '.join(GROUPINGS)}")
    groups: dict[str, list[int]] = {}
    audited: dict[str, list[int]] = {}
    confusion: Counter = Counter()
    sample = [0, 0]
    correct_total = 0
    for r in rows:
        ok = r.machine.key == r.final.key
        correct_total += ok
        g = groups.setdefault(group_key(r, by), [0, 0])
        g[0] += 1
        g[1] += ok
        if not ok:
            confusion[(r.machine.key, r.final.key)] += 1
        if r.audit_sampled and not r.below_threshold:
            sample[0] += 1
            sample[1] += ok
        if by == "operator" and r.reviews > 1:
            a = audited.setdefault(r.first_reviewer, [0, 0])
            a[0] += 1
            a[1] += r.first_review.key == r.final.key
    out_groups = []
    for key, (n, k) in sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0])):
        item = {"key": key, "reviewed": n, "correct": k, "accuracy": _rate(k, n)}
        if by == "operator":
            a_n, a_k = audited.get(key, (0, 0))
            item["audited_later"] = a_n
            item["upheld"] = a_k
            item["upheld_rate"] = _rate(a_k, a_n)
        out_groups.append(item)
    return {
        "overall": {"reviewed": len(rows), "correct": correct_total, "accuracy": _rate(correct_total, len(rows))},
        "groups": out_groups,
        "confusion": [{"machine": m, "final": f, "count": c}
                      for (m, f), c in sorted(confusion.items(), key=lambda kv: (-kv[1], kv[0]))],
        "confident_sample": {"reviewed": sample[0], "correct": sample[1], "accuracy": _rate(sample[1], sample[0])},
    }

