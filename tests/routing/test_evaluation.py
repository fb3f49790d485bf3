"""Evaluation formulas (domain README section 5) on a constructed week with hand-computed answers.

The week of Mon 2026-11-23 (no holidays), working hours 8:30-12:00 and 13:30-17:30. Limits:
accept, register, dispatch, confirm 1wh; handle 1wd (7.5 h); verify 4wh; close 2wh.

    case 1  street A, sms        accepted 9:10, registered 9:30 chief1, dispatched 9:40 disp1 -> X,
                                 finished 11:00, verified 11:30 insp1 pass, closed 11:40 chief1;
                                 an inspector confirmed it at 9:20 (on time)
    case 2  street A, inspector  registered 11:00 chief1 (2 h after acceptance: late), voided 11:30
    case 3  street B, sms        registered 9:10 chief2, dispatched 9:20 disp1 -> X, returned 9:40,
                                 dispatched 12:00 disp2 -> Y (2 h 20 after the return: late),
                                 finished Tue 10:00, insp1 fails it 10:30 (rework), finished 14:00,
                                 insp2 passes it 17:00, closed Wed 9:00 chief2 (on time overall);
                                 confirmed at 11:00 (2 h: late)
    case 4  street B, 12345      registered 9:10 chief2, dispatched 9:20 disp2 -> Y, finished Fri
                                 10:00 (late), verified Fri 16:00 insp2 (4.5 h: late), closed 17:00
                                 chief2 (36.5 h against 16.5 h: late)
    case 5  street A, inspector  registered 10:30 chief1, dispatched 10:40 disp1 -> X, parked, resumed
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from routing.calendar import WorkingCalendar
from routing.evaluation import CaseRecord, Evaluator, rate, weighted
from routing.timelimits import TimeLimits, parse_duration

TZ = ZoneInfo("Asia/Shanghai")
D = parse_duration
LIMITS = TimeLimits(steps={"accept": D("1wh"), "register": D("1wh"), "dispatch": D("1wh"), "verify": D("4wh"),
                           "close": D("2wh"), "arbitrate": D("1wd"), "confirm": D("1wh")},
                    handle={}, default_handle=D("1wd"))
CAL = WorkingCalendar()
START = dt.datetime(2026, 11, 23, tzinfo=TZ)
END = dt.datetime(2026, 11, 30, tzinfo=TZ)


def ev(day, hh, mm, actor, kind, **detail):
    """An event on 2026-11-<day> at hh:mm in Changzhou."""
    return {"at": dt.datetime(2026, 11, day, hh, mm, tzinfo=TZ), "actor": actor, "kind": kind, "detail": detail}


def opened(day=23, hh=9, mm=0):
    """The events intake writes when it opens a case."""
    return [ev(day, hh, mm, "system", "opened"), ev(day, hh, mm, "system", "routed")]


CASES = [
    CaseRecord(1, "06042", "A", False, "sms", tuple(opened() + [
        ev(23, 9, 10, "operator:o", "accepted"),
        ev(23, 9, 20, "system", "confirmed_by_inspector"),
        ev(23, 9, 30, "chief1", "registered"),
        ev(23, 9, 40, "disp1", "dispatched", department="X"),
        ev(23, 10, 0, "dept:x", "started"),
        ev(23, 11, 0, "dept:x", "finished", note="cleared"),
        ev(23, 11, 30, "insp1", "verified", passed=True),
        ev(23, 11, 40, "chief1", "closed"),
    ])),
    CaseRecord(2, "06042", "A", False, "inspector", tuple(opened() + [
        ev(23, 9, 0, "system", "accepted"),
        ev(23, 11, 0, "chief1", "registered"),
        ev(23, 11, 30, "chief1", "voided", reason="duplicate"),
    ])),
    CaseRecord(3, "06042", "B", False, "sms", tuple(opened() + [
        ev(23, 9, 5, "operator:o", "accepted"),
        ev(23, 9, 10, "chief2", "registered"),
        ev(23, 9, 20, "disp1", "dispatched", department="X"),
        ev(23, 9, 30, "dept:x", "return_requested", reason="not ours"),
        ev(23, 9, 40, "disp1", "return_approved", department="X"),
        ev(23, 11, 0, "system", "confirmed_by_inspector"),
        ev(23, 12, 0, "disp2", "dispatched", department="Y"),
        ev(23, 13, 30, "dept:y", "started"),
        ev(24, 10, 0, "dept:y", "finished", note="done"),
        ev(24, 10, 30, "insp1", "verified", passed=False, reason="still dirty"),
        ev(24, 10, 30, "insp1", "rework", department="Y"),
        ev(24, 14, 0, "dept:y", "finished", note="done again"),
        ev(24, 17, 0, "insp2", "verified", passed=True),
        ev(25, 9, 0, "chief2", "closed"),
    ])),
    CaseRecord(4, "06042", "B", False, "12345", tuple(opened() + [
        ev(23, 9, 5, "operator:o", "accepted"),
        ev(23, 9, 10, "chief2", "registered"),
        ev(23, 9, 20, "disp2", "dispatched", department="Y"),
        ev(23, 9, 30, "dept:y", "started"),
        ev(27, 10, 0, "dept:y", "finished", note="late"),
        ev(27, 16, 0, "insp2", "verified", passed=True),
        ev(27, 17, 0, "chief2", "closed"),
    ])),
    CaseRecord(5, "06042", "A", False, "inspector", tuple(opened(23, 10, 0) + [
        ev(23, 10, 0, "system", "accepted"),
        ev(23, 10, 30, "chief1", "registered"),
        ev(23, 10, 40, "disp1", "dispatched", department="X"),
        ev(23, 11, 0, "dept:x", "started"),
        ev(23, 11, 10, "dept:x", "park_requested", reason="waiting for parts"),
        ev(23, 11, 20, "disp1", "parked"),
        ev(25, 9, 0, "disp1", "resumed"),
    ])),
]


@pytest.fixture(scope="module")
def tables():
    """The evaluation of the constructed week."""
    return Evaluator(LIMITS, CAL, START, END).evaluate(CASES)


def by_name(rows):
    """Rows of a table by their name column."""
    return {r["name"]: r for r in rows}


def test_shift_chief_formulas(tables):
    """chief1: 3 registered (2 on time, 1 voided), 1 closed on time -> 25·2/3 + 40·2/3 + 35·1 = 78.33;
    chief2: 2 registered on time, 2 closed (1 on time) -> 25 + 40 + 17.5 = 82.5."""
    c = by_name(tables["shift_chiefs"])
    assert (c["chief1"]["立案数"], c["chief1"]["按时立案数"], c["chief1"]["作废数"]) == (3, 2, 1)
    assert c["chief1"]["准确立案率"] == pytest.approx(2 / 3) and c["chief1"]["按时结案率"] == 1.0
    assert c["chief1"]["综合指标值"] == pytest.approx(78.33, abs=0.01)
    assert (c["chief2"]["结案数"], c["chief2"]["按时结案数"]) == (2, 1)
    assert c["chief2"]["综合指标值"] == pytest.approx(82.5)


def test_dispatcher_formulas(tables):
    """disp1: 3 dispatches on time, 1 returned -> 20·1 + 40·1 + 40·2/3 = 86.67;
    disp2: 2 dispatches (score 2/3), 1 on time, none returned -> 13.33 + 20 + 40 = 73.33."""
    d = by_name(tables["dispatchers"])
    assert (d["disp1"]["派遣数"], d["disp1"]["按时派遣数"], d["disp1"]["返工数"]) == (3, 3, 1)
    assert d["disp1"]["综合指标值"] == pytest.approx(86.67, abs=0.01)
    assert d["disp2"]["派遣数分值"] == pytest.approx(66.67, abs=0.01)
    assert d["disp2"]["按时派遣率"] == 0.5 and d["disp2"]["准确派遣率"] == 1.0
    assert d["disp2"]["综合指标值"] == pytest.approx(73.33, abs=0.01)


def test_centre_dispatch_and_inspection_figures(tables):
    """应派遣数 = 5 registrations + 1 approved return; 按时核实率 1/2; 漏报率 = 3 public-first of 5."""
    c = tables["centre"]
    assert c["应派遣数"] == 6 and c["派遣数"] == 5
    assert c["按时派遣率"] == pytest.approx(4 / 6) and c["准确派遣率"] == pytest.approx(4 / 6)
    assert (c["核实数"], c["按时核实数"]) == (2, 1) and c["按时核实率"] == 0.5
    assert c["漏报率"] == pytest.approx(0.6)


def test_department_formulas(tables):
    """X keeps cases 1 and 5 (case 3 was returned): 结案率 1/2; Y: 2 of 2 closed, 1 on time, 3 finishes
    (2 on time), 1 rework."""
    d = by_name(tables["departments"])
    assert (d["X"]["应结案数"], d["X"]["结案数"], d["X"]["按期结案数"]) == (2, 1, 1)
    assert d["X"]["结案率"] == 0.5 and d["X"]["按时处置率"] == 1.0 and d["X"]["返工率"] == 0.0
    assert (d["Y"]["应结案数"], d["Y"]["结案数"], d["Y"]["按期结案数"]) == (2, 2, 1)
    assert d["Y"]["按期结案率"] == 0.5
    assert d["Y"]["按时处置率"] == pytest.approx(2 / 3) and d["Y"]["返工率"] == pytest.approx(1 / 3)


def test_inspector_formulas(tables):
    """insp1: 2 verifications on time (one failed); insp2: 2, the Friday one 4.5 h after the finish."""
    i = by_name(tables["inspectors"])
    assert (i["insp1"]["核查数"], i["insp1"]["按时核查数"], i["insp1"]["核查不通过数"]) == (2, 2, 1)
    assert i["insp2"]["按时核查率"] == 0.5


def test_street_formulas(tables):
    """A: 3 registered, 2 found by inspectors, 1 closed on time -> 20·2/3 + 30/3 + 50/3 = 40;
    B: 2 registered, none by inspectors, both closed, 1 on time -> 0 + 30 + 25 = 55."""
    s = by_name(tables["streets"])
    assert s["A"]["监督举报率"] == pytest.approx(2 / 3) and s["A"]["综合指标值"] == pytest.approx(40.0)
    assert (s["B"]["立案数"], s["B"]["结案数"], s["B"]["按期结案数"]) == (2, 2, 1)
    assert s["B"]["综合指标值"] == pytest.approx(55.0)


def test_period_excludes_actions_outside_it():
    """Only actions inside [start, end) count: a period of Friday alone sees case 4's close, not case 1's."""
    friday = Evaluator(LIMITS, CAL, dt.datetime(2026, 11, 27, tzinfo=TZ), dt.datetime(2026, 11, 28, tzinfo=TZ))
    t = friday.evaluate(CASES)
    assert [(r["name"], r["结案数"]) for r in t["shift_chiefs"]] == [("chief2", 1)]
    assert t["centre"]["立案数"] == 0 and t["dispatchers"] == []


def test_rates_and_weights_handle_empty_denominators():
    """No denominator gives None, not a crash; a missing rate counts as zero in a weighted index."""
    assert rate(1, 0) is None and rate(1, 4) == 0.25
    assert weighted([(0.5, None), (0.5, None)]) is None
    assert weighted([(0.5, 1.0), (0.5, None)]) == 50.0
    with pytest.raises(ValueError):
        Evaluator(LIMITS, CAL, END, START)
