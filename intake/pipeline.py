"""The intake pipeline: a validated report in, a stored decision and a case out.

    report -> (idempotency check) -> analyse on the NLP pool (classify, emergency, place)
           -> one DB transaction: intake lock, store report, candidate cases by place and time,
              duplicate decision, routing, open or merge the case, append history, store decision

Every step records why it decided what it decided. Channels (HTTP API, replay, SIP calls, SMPP)
all hand their reports to `IntakePipeline.submit`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from functools import partial
from typing import Callable

from twisted.internet import defer

from intake.models import DecisionRecord, IncomingReport, IntakeResult
from nlp.analysis import Analysis
from routing.duplicates import CaseSnapshot, ReportFacts
from routing.workflow import duplicate_status


# How long after a close a report of the same problem at the same spot is a recurrence.
RECURRENCE_DAYS = 30


def audit_sample(channel: str, external_id: str, rate: float) -> bool:
    """A deterministic random sample: the same report is always in or out (replays agree)."""
    if rate <= 0:
        return False
    h = hashlib.sha256(f"{channel}\x00{external_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2 ** 64 < rate


class IntakePipeline:
    """Turns reports into cases. Pure parts (analyser, decider, router) are passed in."""

    def __init__(self, config, analyser, decider, router, store, run_cpu: Callable[..., defer.Deferred],
                 similarity_tokens: Callable[[str], tuple] | None = None):
        self.config = config
        self.analyser = analyser
        self.decider = decider
        self.router = router
        self.store = store
        self.run_cpu = run_cpu
        if similarity_tokens is None:
            from nlp.similarity import description_tokens as similarity_tokens
        self.similarity_tokens = similarity_tokens
        self._partners: dict[str, set] = {}
        for pair in config.taxonomy.confusable:
            for a in pair:
                self._partners.setdefault(a, set()).update(pair)

    @defer.inlineCallbacks
    def submit(self, report: IncomingReport):
        """Take one report; fires with the IntakeResult (the first answer again for a retry)."""
        existing = yield self.store.find_result(report.channel, report.external_id)
        if existing is not None:
            return existing
        decision = yield self.run_cpu(self.analyse, report)
        query = self.candidate_query(report, decision)
        result = yield self.store.intake(report, decision, query, partial(self.plan, report, decision))
        return result

    def analyse(self, report: IncomingReport) -> DecisionRecord:
        """Classify and locate (CPU work: runs on the NLP pool, not the reactor)."""
        inspector = report.channel == "inspector"
        analysis: Analysis = self.analyser.analyse(
            report.text, channel=report.channel, code_hint=report.code if inspector else None,
            address=report.address, street_hint=report.street)
        c, loc = analysis.classification, analysis.location
        street, community, grid = loc.street, loc.community, loc.grid
        location_reasons = tuple(loc.reasons)
        if report.lng is not None and report.lat is not None:
            g = self.config.district.grid_at((report.lng, report.lat))
            if g is not None:
                street = self.config.district.streets[g.street_code].name
                community, grid = g.community_code, g.id
                location_reasons += (f"coordinates {report.lng:.5f},{report.lat:.5f} lie in grid {g.id}",)
            else:
                location_reasons += (f"coordinates {report.lng:.5f},{report.lat:.5f} are outside the district's grids",)
        tokens = tuple(analysis.tokens) or tuple(self.similarity_tokens(report.text))
        return DecisionRecord(
            model_version=c.model_version, code=c.code, code_name=c.name, confidence=float(c.confidence),
            abstain=bool(c.abstain), candidates=tuple({"code": k.code, "confidence": round(float(k.confidence), 4)}
                                                      for k in c.candidates),
            out_of_scope=bool(c.out_of_scope and not (inspector and report.code)), agency=c.agency,
            emergency=bool(c.emergency),
            classification_reasons=tuple(c.reasons) + tuple(f"emergency: {r}" for r in c.emergency_reasons),
            street=street, community=community, grid=grid, places=tuple(loc.places),
            location_reasons=location_reasons, tokens=tokens)

    def candidate_query(self, report: IncomingReport, d: DecisionRecord) -> dict:
        """Where the store looks for duplicate candidates: indexed place keys and a time floor."""
        widest = self.window_hours(report, d)
        grids = []
        if d.grid:
            grids = [d.grid, *sorted(self.config.district.neighbours(d.grid))]
        spots = self.spots(d)
        return {
            "grids": grids,
            "community": d.community,
            "street": d.street if not (d.grid or spots) else None,
            "places": spots,
            "since": report.received_at - dt.timedelta(hours=widest),
            "closed_since": report.received_at - dt.timedelta(days=RECURRENCE_DAYS),
        }

    def window_hours(self, report: IncomingReport, d: DecisionRecord) -> float:
        """How far back a duplicate can be: the widest window among the codes a match could have.

        A citizen's report can only match its own code, its runner-ups and their confusable partners,
        so only their windows count (a tight window keeps the lookup small). An inspector's code can
        also match a case whose runner-up it was, whatever that case's code: the widest window then.
        """
        dup = self.config.duplicates
        if report.channel == "inspector" or not d.code:
            return float(max([dup.default_window_hours, *getattr(dup, "windows_hours", {}).values()]))
        codes = {d.code, *(c["code"] for c in d.candidates)}
        codes |= {p for c in list(codes) for p in self._partners.get(c, ())}
        return max(dup.window_hours(c) for c in codes)

    def spots(self, d: DecisionRecord) -> tuple[str, ...]:
        """The named spots of a report: gazetteer places that are not whole streets or communities."""
        out = []
        for name in d.places:
            place = self.config.place_named(name)
            if place is not None and place.kind not in ("street", "community") and place.name not in out:
                out.append(place.name)
        return tuple(out)

    def plan(self, report: IncomingReport, d: DecisionRecord, rows: list[dict]) -> dict:
        """Decide merge/new/recurrence/ask and route (pure; called inside the DB transaction)."""
        dup = self.config.duplicates
        audit = audit_sample(report.channel, report.external_id, self.config.classifier.audit_sample_rate)
        if d.out_of_scope:
            return {"outcome": "out_of_scope", "reasons": (f"out of scope: belongs to {d.agency}",),
                    "needs_review": d.abstain, "audit_sampled": audit}
        inspector = report.channel == "inspector"
        # The classifier's runner-ups: a citizen's wording may sit between two codes; an inspector's
        # own code has none.
        alternatives = () if inspector else tuple(c["code"] for c in d.candidates if c["code"] != d.code)[:2]
        facts = ReportFacts(code=d.code, street=d.street, community=d.community, grid=d.grid, places=d.places,
                            tokens=d.tokens, received_at=report.received_at, caller=report.caller,
                            channel=report.channel, inspector=inspector, address=report.address,
                            alternative_codes=alternatives)
        snaps = [CaseSnapshot(
            case_id=r["id"], code=r["code"], street=r["street"], community=r["community"], grid=r["grid"],
            places=tuple(r["places"] or ()), tokens=tuple((r["tokens"] or "").split()),
            opened_at=r["opened_at"], last_report_at=r["last_report_at"],
            status=duplicate_status(r["status"]), closed_at=r["closed_at"],
            callers=tuple(r["callers"] or ()), channels=tuple(r["channels"] or ()),
            report_count=r["report_count"], inspector_confirmed=r["inspector_confirmed"],
            alternative_codes=tuple(r["alternative_codes"] or ())) for r in rows]
        dec = self.decider.decide(facts, snaps)
        outcome = dec.outcome
        plan = {"outcome": outcome, "case_id": dec.case_id, "spots": self.spots(d), "alternative_codes": alternatives, "score": dec.score, "reasons": tuple(dec.reasons),
                "recurrence_of": dec.recurrence_of, "hot_rule": (dup.hot_reports, dup.hot_days),
                "audit_sampled": audit, "needs_review": bool(d.abstain or outcome == "ask")}
        if outcome != "merge":
            a = self.router.route(d.code, d.street, d.emergency)
            plan.update(department_id=a.department_id, level=a.level, routing_reasons=tuple(a.reasons))
        elif d.emergency:
            # A report that makes an existing case an emergency: the store sends a case still
            # waiting for dispatch to the emergency chain at once (as a new emergency would be)
            # and records the alert on a case a department already works on.
            a = self.router.route(d.code, d.street, True)
            plan["emergency_route"] = {"department_id": a.department_id, "level": a.level,
                                       "reasons": tuple(a.reasons)}
        return plan


def result_json(r: IntakeResult, config=None) -> dict:
    """The API's answer for an IntakeResult."""
    taxonomy = getattr(config, "taxonomy", None)
    name = None
    if r.code and taxonomy is not None and r.code in taxonomy.matters:
        name = taxonomy.matters[r.code].name
    return {
        "report_id": r.report_id,
        "outcome": r.outcome,
        "case": None if r.case_id is None else {"id": r.case_id, "number": r.case_number},
        "duplicate_of": r.duplicate_of,
        "classification": {
            "code": r.code, "name": name, "confidence": round(r.confidence, 4), "abstain": r.abstain,
            "candidates": list(r.candidates), "out_of_scope": r.out_of_scope, "agency": r.agency,
            "emergency": r.emergency, "model_version": r.model_version},
        "location": {"street": r.street, "community": r.community, "grid": r.grid},
        "department": r.department_id,
        "needs_review": r.needs_review,
        "reasons": list(r.reasons),
        "replayed": r.replayed,
    }
