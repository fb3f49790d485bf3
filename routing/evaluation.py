"""Evaluation (综合评价, 考评): the formulas of domain README section 5 over plain event records.

Every figure is counted from cases' append-only histories, so it can be recomputed for any period
and checked by hand. An action counts in the period when its event's time is in [start, end).
"On time" uses routing.timelimits on the same history (parked time excluded, extensions added).

Shift chief (值班长), per person:
    按时立案率 = 按时立案数 / 立案数
    准确立案率 = (立案数 − 作废数) / 立案数     作废数: cases this chief registered that were later voided
    按时结案率 = 按时结案数 / 结案数              按时结案: the whole case within its overall limit
    综合指标值 = 25 % 按时立案率 + 40 % 准确立案率 + 35 % 按时结案率
Dispatcher (派遣员), per person:
    按时派遣率 = 按时派遣数 / 应派遣数           应派遣数: per person the dispatches it made; the
                                                centre's row counts every case that waited for one
    准确派遣率 = (派遣数 − 返工数) / 应派遣数    返工数: this person's dispatches that came back (an
                                                approved return: the department was the wrong one)
    派遣数分值 = 100 × 派遣数 / the highest 派遣数 of the period
    综合指标值 = 20 % 派遣数分值 + 40 % 按时派遣率 + 40 % 准确派遣率
Department (专业部门): 应结案数 = cases dispatched to it in the period and not returned by it;
    结案率 = 结案数 / 应结案数; 按期结案率 = 按期结案数 / 应结案数; 按时处置率 = 按时处置数 / 处置数;
    返工率 = 返工数 / 处置数 (failed verifications of its work)
Inspector (监督员), per person: 按时核查率 = 按时核查数 / 核查数; for the centre (reports do not carry
    which inspector sent them): 按时核实率 = inspectors' confirmations of citizens' reports within the
    confirm limit / confirmations; 漏报率 = registered cases first reported by the public / 立案数
Street (区域): 立案数, 结案率 = 结案数 / 立案数, 按期结案率 = 按期结案数 / 立案数,
    监督举报率 = registered cases found by inspectors / 立案数,
    综合指标值 = 20 % 监督举报率 + 30 % 结案率 + 50 % 按期结案率 (the README names the figures,
    not the weights: these are this deployment's choice, kept here in one place)

Rates are fractions 0..1 (None when the denominator is 0); 综合指标值 is on a 0..100 scale.
Pure domain code: no I/O.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from routing.timelimits import TimeLimits, calendar_for, overall, step_timings

SHIFT_CHIEF_WEIGHTS = (0.25, 0.40, 0.35)
DISPATCHER_WEIGHTS = (0.20, 0.40, 0.40)
STREET_WEIGHTS = (0.20, 0.30, 0.50)


@dataclass(frozen=True)
class CaseRecord:
    """One case for evaluation: its facts and its history (dicts with at, actor, kind, detail)."""

    case_id: int
    code: str | None
    street: str | None
    emergency: bool
    origin_channel: str
    events: tuple[dict, ...]


def rate(num: int, den: int) -> float | None:
    """num / den, None when there is nothing to divide by."""
    return num / den if den else None


def weighted(pairs) -> float | None:
    """Σ weight × rate on a 0..100 scale; a missing rate counts as 0 (nothing done is no score),
    None when every rate is missing."""
    pairs = list(pairs)
    if all(r is None for _, r in pairs):
        return None
    return round(100.0 * sum(w * (r or 0.0) for w, r in pairs), 2)


class Evaluator:
    """Computes every table of the evaluation for one period."""

    def __init__(self, limits: TimeLimits, calendar, start: dt.datetime, end: dt.datetime):
        if end <= start:
            raise ValueError("the period must end after it starts")
        self.limits = limits
        self.calendar = calendar
        self.start = start
        self.end = end

    def _in(self, e: dict) -> bool:
        return self.start <= e["at"] < self.end

    def _steps(self, c: CaseRecord):
        """Step timings of the history as known at the period's end, keyed by (step, ended_at)."""
        events = [e for e in c.events if e["at"] < self.end]
        timings = step_timings(events, c.code, c.emergency, self.limits, self.calendar, self.end) if events else []
        return {(s.step, s.ended_at): s for s in timings if s.ended_at is not None}

    def _overall_on_time(self, c: CaseRecord, closed_at: dt.datetime) -> bool:
        events = [e for e in c.events if e["at"] <= closed_at]
        return overall(events, c.code, c.emergency, self.limits, self.calendar, closed_at).on_time

    def evaluate(self, cases: Iterable[CaseRecord]) -> dict:
        """All tables: shift_chiefs, dispatchers, departments, inspectors, streets, centre."""
        cases = list(cases)
        chiefs: dict[str, dict] = {}
        dispatchers: dict[str, dict] = {}
        depts: dict[str, dict] = {}
        inspectors: dict[str, dict] = {}
        streets: dict[str, dict] = {}
        centre = {"应派遣数": 0, "核实数": 0, "按时核实数": 0, "立案数": 0, "公众首报立案数": 0}
        for c in cases:
            steps = self._steps(c)
            events = [e for e in c.events if e["at"] < self.end]
            closed = next((e for e in events if e["kind"] == "closed"), None)
            closed_on_time = closed is not None and self._overall_on_time(c, closed["at"])
            voided = any(e["kind"] == "voided" for e in events)
            opened_at = events[0]["at"] if events else None
            current_dept, last_dispatch = None, None
            registered_in_period = False
            for i, e in enumerate(events):
                kind, actor, detail = e["kind"], e["actor"], e.get("detail") or {}
                inside = self._in(e)
                if kind == "registered":
                    if inside:
                        registered_in_period = True
                    if inside and actor != "system":
                        row = chiefs.setdefault(actor, _zero("立案数", "按时立案数", "作废数", "结案数", "按时结案数"))
                        row["立案数"] += 1
                        s = steps.get(("register", e["at"])) or steps.get(("accept", e["at"]))
                        row["按时立案数"] += 1 if s is None or s.on_time else 0
                        row["作废数"] += 1 if voided else 0
                    if inside and actor != "system":
                        # An emergency registered by intake is dispatched by it too: no dispatcher's duty.
                        centre["应派遣数"] += 1
                elif kind == "return_approved":
                    if inside:
                        centre["应派遣数"] += 1
                    if last_dispatch is not None and last_dispatch[1] == detail.get("department"):
                        row = dispatchers.get(last_dispatch[0])
                        if row is not None and last_dispatch[2]:
                            row["返工数"] += 1
                elif kind == "dispatched":
                    current_dept = detail.get("department")
                    counted = inside and actor != "system"
                    last_dispatch = (actor, current_dept, counted)
                    if counted:
                        row = dispatchers.setdefault(actor, _zero("派遣数", "按时派遣数", "返工数"))
                        row["派遣数"] += 1
                        s = steps.get(("dispatch", e["at"]))
                        row["按时派遣数"] += 1 if s is None or s.on_time else 0
                    if inside and current_dept:
                        self._dept_assigned(depts, c, events, i, current_dept, closed, closed_on_time)
                elif kind == "arbitrated":
                    current_dept = detail.get("department")
                    last_dispatch = None
                    if inside and current_dept:
                        self._dept_assigned(depts, c, events, i, current_dept, closed, closed_on_time)
                elif kind == "finished" and inside and current_dept:
                    row = depts.setdefault(current_dept, _dept_row())
                    row["处置数"] += 1
                    s = steps.get(("handle", e["at"]))
                    row["按时处置数"] += 1 if s is None or s.on_time else 0
                elif kind == "rework" and inside:
                    d = detail.get("department") or current_dept
                    if d:
                        depts.setdefault(d, _dept_row())["返工数"] += 1
                elif kind == "verified" and inside:
                    row = inspectors.setdefault(actor, _zero("核查数", "按时核查数", "核查不通过数"))
                    row["核查数"] += 1
                    s = steps.get(("verify", e["at"]))
                    row["按时核查数"] += 1 if s is None or s.on_time else 0
                    row["核查不通过数"] += 0 if detail.get("passed", True) else 1
                elif kind == "closed" and inside and actor != "system":
                    row = chiefs.setdefault(actor, _zero("立案数", "按时立案数", "作废数", "结案数", "按时结案数"))
                    row["结案数"] += 1
                    row["按时结案数"] += 1 if closed_on_time else 0
                elif kind == "confirmed_by_inspector" and inside and c.origin_channel != "inspector":
                    centre["核实数"] += 1
                    cal = calendar_for(c.emergency, self.calendar)
                    limit = self.limits.limit("confirm", c.code, c.emergency).seconds(cal)
                    centre["按时核实数"] += 1 if cal.elapsed(opened_at, e["at"]) <= limit else 0
            if registered_in_period:
                centre["立案数"] += 1
                centre["公众首报立案数"] += 0 if c.origin_channel == "inspector" else 1
                row = streets.setdefault(c.street or "(未知)", _zero("立案数", "监督发现数", "结案数", "按期结案数"))
                row["立案数"] += 1
                row["监督发现数"] += 1 if c.origin_channel == "inspector" else 0
                row["结案数"] += 1 if closed is not None else 0
                row["按期结案数"] += 1 if closed_on_time else 0
        return {
            "shift_chiefs": self._chief_rows(chiefs),
            "dispatchers": self._dispatcher_rows(dispatchers),
            "departments": self._dept_rows(depts),
            "inspectors": self._inspector_rows(inspectors),
            "streets": self._street_rows(streets),
            "centre": self._centre_row(centre, dispatchers),
        }

    @staticmethod
    def _dept_assigned(depts, c, events, i, dept, closed, closed_on_time) -> None:
        """A case given to `dept`: it must finish it unless it returns it (an approved return)."""
        later = events[i + 1:]
        returned = False
        for e in later:
            if e["kind"] in ("dispatched", "arbitrated"):
                break
            if e["kind"] == "return_approved":
                returned = True
                break
        if returned:
            return
        row = depts.setdefault(dept, _dept_row())
        row["应结案数"] += 1
        row["结案数"] += 1 if closed is not None else 0
        row["按期结案数"] += 1 if closed_on_time else 0

    @staticmethod
    def _chief_rows(chiefs):
        out = []
        for name, r in sorted(chiefs.items()):
            a = rate(r["按时立案数"], r["立案数"])
            b = rate(r["立案数"] - r["作废数"], r["立案数"])
            c = rate(r["按时结案数"], r["结案数"])
            out.append({"name": name, **r, "按时立案率": a, "准确立案率": b, "按时结案率": c,
                        "综合指标值": weighted(zip(SHIFT_CHIEF_WEIGHTS, (a, b, c)))})
        return out

    @staticmethod
    def _dispatcher_rows(dispatchers):
        top = max((r["派遣数"] for r in dispatchers.values()), default=0)
        out = []
        for name, r in sorted(dispatchers.items()):
            due = r["派遣数"]
            score = rate(r["派遣数"], top)
            a = rate(r["按时派遣数"], due)
            b = rate(r["派遣数"] - r["返工数"], due)
            out.append({"name": name, **r, "应派遣数": due, "派遣数分值": None if score is None else round(100 * score, 2),
                        "按时派遣率": a, "准确派遣率": b,
                        "综合指标值": weighted(zip(DISPATCHER_WEIGHTS, (score, a, b)))})
        return out

    @staticmethod
    def _dept_rows(depts):
        out = []
        for name, r in sorted(depts.items()):
            out.append({"name": name, **r, "结案率": rate(r["结案数"], r["应结案数"]),
                        "按期结案率": rate(r["按期结案数"], r["应结案数"]),
                        "按时处置率": rate(r["按时处置数"], r["处置数"]), "返工率": rate(r["返工数"], r["处置数"])})
        return out

    @staticmethod
    def _inspector_rows(inspectors):
        return [{"name": name, **r, "按时核查率": rate(r["按时核查数"], r["核查数"])}
                for name, r in sorted(inspectors.items())]

    @staticmethod
    def _street_rows(streets):
        out = []
        for name, r in sorted(streets.items()):
            s = rate(r["监督发现数"], r["立案数"])
            a = rate(r["结案数"], r["立案数"])
            b = rate(r["按期结案数"], r["立案数"])
            out.append({"name": name, **r, "监督举报率": s, "结案率": a, "按期结案率": b,
                        "综合指标值": weighted(zip(STREET_WEIGHTS, (s, a, b)))})
        return out

    @staticmethod
    def _centre_row(centre, dispatchers):
        made = sum(r["派遣数"] for r in dispatchers.values())
        on_time = sum(r["按时派遣数"] for r in dispatchers.values())
        returned = sum(r["返工数"] for r in dispatchers.values())
        return {**centre, "派遣数": made, "按时派遣率": rate(on_time, centre["应派遣数"]),
                "准确派遣率": rate(made - returned, centre["应派遣数"]),
                "按时核实率": rate(centre["按时核实数"], centre["核实数"]),
                "漏报率": rate(centre["公众首报立案数"], centre["立案数"])}


def _zero(*keys) -> dict:
    return {k: 0 for k in keys}


def _dept_row() -> dict:
    return _zero("应结案数", "结案数", "按期结案数", "处置数", "按时处置数", "返工数")
