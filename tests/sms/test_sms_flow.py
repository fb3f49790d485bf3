"""A citizen's whole conversation over SMPP: the text becomes a case, the receipt names its number,
a status query by SMS is answered, the result and the survey come when the case is closed, and
the survey answer is recorded on the case."""
from __future__ import annotations

import datetime as dt

from intake.channels.smpp import pdu as P
from intake.db.loop_store import LoopStore
from tests.sms.helpers import inbound, outbox, reports, texts_sent, ucs2

CITIZEN = "13987654321"
TEXT = "三井街道通江中路人行道上的垃圾桶满了，垃圾堆在地上好几天没人清运，气味很大"


def say(env, sim, gw, text, who=CITIZEN):
    """The citizen texts the short number; returns the new texts the citizen then receives."""
    before = len(texts_sent(sim, who))
    assert env.run(sim.deliver, who, ucs2(text)) == P.ESME_ROK
    env.run(gw.kick)
    return texts_sent(sim, who)[before:]


def close_case(env, number, note):
    """Walk the case through the loop to closed: accept, register, dispatch, start, finish, verify, close."""
    loop = LoopStore(env.db)
    case, _ = env.run(loop.case_with_history, number)
    dept = case["department_id"]
    now = dt.datetime.fromtimestamp(env.clock.seconds(), tz=dt.timezone.utc)
    steps = [("accept", "operator", None, {}), ("register", "shift_chief", None, {}),
             ("dispatch", "dispatcher", None, {"department": dept}), ("start", "department", dept, {}),
             ("finish", "department", dept, {"note": note}), ("verify", "inspector", None, {"result": "pass"}),
             ("close", "shift_chief", None, {})]
    for action, role, own, params in steps:
        env.run(loop.act, number, action, role=role, actor=f"test-{role}", actor_department=own, params=params, now=now)
    return case["id"]


def satisfaction(env, case_id):
    """The recorded answer of a case, or None."""
    import sqlalchemy as sa
    from intake.db import schema as t

    def thd(conn):
        return conn.execute(sa.select(t.case_satisfaction.c.answer, t.case_satisfaction.c.recorded_by)
                            .where(t.case_satisfaction.c.case_id == case_id)).first()
    return env.run(env.db.do, thd)


def test_citizen_reports_queries_gets_the_result_and_answers_the_survey_by_sms(sms_env):
    """Report -> receipt with the number; 查询 number -> status; close -> result and survey;
    "1" -> 满意 recorded on the case and thanked; every text went out once."""
    env = sms_env
    sim, port = env.simulator("good")
    gw = env.gateway(env.settings(port))
    env.run(gw.links[0].when_ready)

    (receipt,) = say(env, sim, gw, TEXT)
    (report,) = reports(env)
    assert report[1:] == ("sms", report[2], TEXT, CITIZEN)
    number = receipt.split("案件编号")[1][:10]
    assert number.isdigit() and number.startswith("2026")

    (status,) = say(env, sim, gw, f"查询 {number}")
    assert number in status and "待受理" in status

    (status_bare,) = say(env, sim, gw, number)
    assert status_bare == status

    case_id = close_case(env, number, "垃圾已清运，垃圾桶已清洗")
    env.run(gw.kick)
    result, survey = texts_sent(sim, CITIZEN)[3:]
    assert "已办结" in result and "垃圾已清运，垃圾桶已清洗" in result and number in result
    assert "1 满意" in survey and "3 不满意" in survey

    (thanks,) = say(env, sim, gw, "1")
    assert "满意" in thanks and number in thanks
    assert tuple(satisfaction(env, case_id)) == ("satisfied", f"sms:{CITIZEN}")

    (closed_status,) = say(env, sim, gw, f"查询{number}")
    assert "已结案" in closed_status and "垃圾已清运" in closed_status

    assert len(reports(env)) == 1   # the queries and the answer are not reports
    kinds = [m["kind"] for m in outbox(env, CITIZEN)]
    assert kinds == ["receipt", "reply", "reply", "result", "survey", "reply", "reply"]
    assert [m["state"] for m in outbox(env, CITIZEN)] == ["sent"] * 7
    assert len(sim.accepted) == len({s["id"] for s in sim.accepted})
    assert [m["kind"] for m in inbound(env)] == ["report", "query", "query", "survey", "query"]


def test_unknown_number_and_an_unexpected_survey_answer_get_a_helpful_reply(sms_env):
    """A query for a case that does not exist says so; a "2" with no survey waiting records
    nothing and says why; a bare "查询" gets the help text."""
    env = sms_env
    sim, port = env.simulator("good")
    gw = env.gateway(env.settings(port))
    env.run(gw.links[0].when_ready)
    (unknown,) = say(env, sim, gw, "查询 2026999999")
    assert "未查到案件编号2026999999" in unknown
    (unexpected,) = say(env, sim, gw, "2")
    assert "没有等待您评价的案件" in unexpected
    (help_text,) = say(env, sim, gw, "查询")
    assert "10位案件编号" in help_text
    assert reports(env) == []
    assert [m["case_id"] for m in outbox(env)] == [None, None, None]
