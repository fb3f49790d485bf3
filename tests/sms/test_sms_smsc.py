"""The SMPP client over real TCP on 127.0.0.1 against SMSC simulators: a well-behaved one, one that
never answers, one that throttles, one that drops the connection mid-window, one that retransmits
deliver_sm. Each ends with every message delivered or kept, none twice."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from intake.channels.smpp import pdu as P
from intake.db.sms_store import SmsStore
from tests.sms.helpers import inbound, outbox, reports, texts_sent, ucs2

CITIZEN = "13912345678"
POTHOLE = "河海街道华山路和黄河路交叉口有个大坑，车子开过去很危险，请尽快修补"


def enqueue(env, n, prefix="测试消息"):
    """n replies waiting in the outbox, to n different numbers; their ids."""
    store = SmsStore(env.db)
    now = dt.datetime.fromtimestamp(env.clock.seconds(), tz=dt.timezone.utc)
    return [env.run(store.enqueue, recipient=f"1390000{i:04d}", kind="reply", text=f"{prefix}{i}", now=now)
            for i in range(n)]


def test_well_behaved_smsc_citizen_text_becomes_a_report_and_the_receipt_goes_out_once(sms_env):
    """A citizen's Chinese text becomes one report on channel sms (caller and text as sent), the
    deliver_sm_resp comes after it is stored, the receipt with the case number goes out once
    (UCS-2, in two concatenated parts for this longer template), and the SMSC's delivery receipts
    for both parts mark it delivered."""
    env = sms_env
    sim, port = env.simulator("good")
    long_receipt = "【新北区城市管理】您反映的问题已收到，案件编号{number}。我们将尽快派遣处置，办结后短信告知结果；回复“查询{number}”可查询办理进度。"
    gw = env.gateway(env.settings(port, templates={"receipt": long_receipt}))
    status = env.run(sim.deliver, CITIZEN, ucs2(POTHOLE))
    assert status == P.ESME_ROK
    rows = reports(env)
    assert [(r[1], r[3], r[4]) for r in rows] == [("sms", POTHOLE, CITIZEN)]
    env.run(sim.wait_submits, 2)
    env.run(gw.kick)
    (receipt,) = texts_sent(sim, CITIZEN)
    assert "案件编号2026" in receipt and all(s["data_coding"] == 8 for s in sim.accepted)
    assert receipt.startswith("【新北区城市管理】您反映的问题已收到") and receipt.endswith("办理进度。")
    assert len(sim.accepted) == 2 and all(s["from"] == "12345" for s in sim.accepted)
    msgs = outbox(env, CITIZEN)
    assert [(m["kind"], m["state"], m["attempts"]) for m in msgs] == [("receipt", "sent", 1)]
    for s in sim.accepted:
        assert env.run(sim.deliver_receipt, s["id"]) == P.ESME_ROK
    assert outbox(env, CITIZEN)[0]["state"] == "delivered"
    assert len(reports(env)) == 1   # receipts are not reports


def test_silent_smsc_keeps_every_message_queued_and_reconnects_with_backoff(sms_env):
    """An SMSC that accepts TCP but never answers: each bind times out on the clock and the link
    reconnects with growing pauses; queued messages stay queued (kept, no attempt spent); once the
    SMSC answers, each goes out exactly once."""
    env = sms_env
    sim, port = env.simulator("silent")
    ids = enqueue(env, 3)
    gw = env.gateway(env.settings(port, response_timeout_s=5, reconnect_initial_s=1, reconnect_max_s=4))
    link = gw.links[0]
    session = link.sessions[0]
    for n in range(1, 5):   # bind -> 5 s of silence -> closed -> backoff 1, 2, 4, 4 s -> bind again
        env.run(sim.wait_received, "bind_transceiver", n)
        proto = session.proto
        env.advance(5)
        env.run(lambda: proto.closed)
        assert session.connects == n
        env.advance(session.delay)
    assert session.delay == 4   # capped at reconnect_max_s
    assert not sim.accepted
    assert [(m["state"], m["attempts"]) for m in outbox(env)] == [("queued", 0)] * 3
    sim.behaviour = "good"
    env.run(sim.wait_received, "bind_transceiver", 5)
    proto = session.proto
    env.advance(5)
    env.run(lambda: proto.closed)
    env.advance(session.delay)
    env.run(link.when_ready)
    env.run(gw.kick)
    env.run(sim.wait_submits, 3)
    env.run(gw.kick)
    assert sorted(s["to"] for s in sim.accepted) == sorted(f"1390000{i:04d}" for i in range(3))
    assert [m["state"] for m in outbox(env)] == ["sent"] * 3 and len(ids) == 3


def test_throttling_smsc_gets_each_message_once_after_backing_off(sms_env):
    """ESME_RTHROTTLED pauses the link and requeues the message with a later next_try; after the
    pause every message is accepted exactly once, and throttling spends no attempt budget."""
    env = sms_env
    sim, port = env.simulator("throttle", throttle_count=3)
    enqueue(env, 5)
    gw = env.gateway(env.settings(port, throttle_pause_s=2, reconnect_max_s=4, window=1, queue={"max_attempts": 2}))
    env.run(gw.links[0].when_ready)
    env.run(gw.kick)
    for _ in range(40):
        if len(sim.accepted) >= 5:
            break
        env.advance(1)
        env.run(gw.kick)
    assert sim.throttled == 3
    counts = Counter(s["to"] for s in sim.accepted)
    assert len(counts) == 5 and set(counts.values()) == {1}
    assert {m["state"] for m in outbox(env)} == {"sent"}
    assert texts_sent(sim, "13900000004") == ["测试消息4"]


def test_smsc_dropping_the_connection_mid_window_loses_nothing_and_sends_nothing_twice(sms_env):
    """The SMSC accepts two submits, then holds a window's worth unanswered and drops the TCP
    connection: the unanswered ones are retried on the next session, each message accepted once."""
    env = sms_env
    sim, port = env.simulator("drop", drop_after=2, hold=3)
    enqueue(env, 7)
    gw = env.gateway(env.settings(port, window=4, reconnect_initial_s=1))
    env.run(gw.links[0].when_ready)
    env.run(gw.kick)
    assert sim.dropped and len(sim.accepted) == 2
    states = Counter(m["state"] for m in outbox(env))
    assert states["sent"] == 2 and states["queued"] == 5
    for _ in range(10):
        if len(sim.accepted) >= 7:
            break
        env.advance(2)
        env.run(gw.links[0].when_ready)
        env.run(gw.kick)
    counts = Counter(s["to"] for s in sim.accepted)
    assert len(counts) == 7 and set(counts.values()) == {1}
    assert {m["state"] for m in outbox(env)} == {"sent"}
    assert len(sim.binds) == 2


def test_retransmitted_deliver_sm_creates_one_report_each(sms_env):
    """An SMSC that sends every deliver_sm four times (same sequence, new sequence, after the
    answer): one stored message, one report and one receipt per citizen text."""
    env = sms_env
    sim, port = env.simulator("retransmit", copies=4)
    gw = env.gateway(env.settings(port))
    texts = ["三井街道通江路人行道上垃圾桶满了没人清理", "薛家镇顺园路路灯不亮已经三天了", POTHOLE]
    for i, text in enumerate(texts):
        assert env.run(sim.deliver, f"1381111000{i}", ucs2(text)) == P.ESME_ROK
    env.run(gw.kick)
    assert [r[3] for r in reports(env)] == texts
    assert len(inbound(env)) == 3
    assert set(sim.deliver_resps) == {P.ESME_ROK} and len(sim.deliver_resps) == 3 * 5
    receipts = [m for m in outbox(env) if m["kind"] == "receipt"]
    assert len(receipts) == 3


def test_pair_bind_receives_on_the_receiver_and_sends_on_the_transmitter(sms_env):
    """bind: pair opens a receiver and a transmitter session; a text arrives on the one, the
    receipt leaves on the other; shutdown unbinds both cleanly."""
    env = sms_env
    sim, port = env.simulator("good")
    gw = env.gateway(env.settings(port, bind="pair"))
    assert env.run(sim.deliver, CITIZEN, ucs2(POTHOLE)) == P.ESME_ROK
    env.run(sim.wait_submits, 1)
    assert "案件编号" in texts_sent(sim, CITIZEN)[0]
    assert sorted(sim.binds) == ["bind_receiver", "bind_transmitter"]
    env.stop_gateway(gw)
    assert sim.unbinds == 2


def test_long_message_in_parts_udh_and_sar_is_joined_before_intake_even_across_a_restart(sms_env):
    """A three-part UCS-2 message with a UDH, and a two-part one with sar_ parameters, each become
    one report with the whole text; parts stored before a restart are joined after it."""
    env = sms_env
    sim, port = env.simulator("good")
    gw = env.gateway(env.settings(port))
    long_text = "龙虎塘街道" + "某小区门口的道路被挖开后一直没有恢复，" * 7 + "请相关部门尽快处理。"
    data = ucs2(long_text)
    chunks = [data[i:i + 134] for i in range(0, len(data), 134)]
    assert len(chunks) == 3
    udh = [bytes([5, 0, 3, 0x2A, 3, i + 1]) for i in range(3)]
    assert env.run(sim.deliver, CITIZEN, udh[0] + chunks[0], esm_class=0x40) == P.ESME_ROK
    assert env.run(sim.deliver, CITIZEN, udh[2] + chunks[2], esm_class=0x40) == P.ESME_ROK
    assert reports(env) == []
    env.stop_gateway(gw)
    gw2 = env.gateway(env.settings(port))
    assert env.run(sim.deliver, CITIZEN, udh[1] + chunks[1], esm_class=0x40) == P.ESME_ROK
    second = "春江镇" + "河道里漂着很多垃圾" * 3
    half = len(ucs2(second)) // 2 // 2 * 2
    for seq, piece in ((1, ucs2(second)[:half]), (2, ucs2(second)[half:])):
        tlvs = {P.TLV_SAR_MSG_REF_NUM: (777).to_bytes(2, "big"), P.TLV_SAR_TOTAL_SEGMENTS: bytes([2]),
                P.TLV_SAR_SEGMENT_SEQNUM: bytes([seq])}
        assert env.run(sim.deliver, "13822223333", piece, tlvs=tlvs) == P.ESME_ROK
    assert [r[3] for r in reports(env)] == [long_text, second]
    env.run(gw2.kick)


def test_encodings_decode_and_an_undecodable_message_is_kept_raw(sms_env):
    """GSM 7-bit, Latin-1 and UCS-2 texts arrive as the citizen wrote them; user data that is not
    valid UCS-2 is stored raw with an error, answered (so the SMSC stops retrying) and no report."""
    env = sms_env
    sim, port = env.simulator("good")
    env.gateway(env.settings(port))
    gsm = "Street lamp broken at Huashan Rd {No.5} cost 5€"
    from intake.channels.smpp.coding import gsm_encode
    assert env.run(sim.deliver, "13800000001", gsm_encode(gsm), data_coding=0) == P.ESME_ROK
    assert env.run(sim.deliver, "13800000002", "Café près du marché: poubelle pleine".encode("latin-1"),
                   data_coding=3) == P.ESME_ROK
    assert env.run(sim.deliver, "13800000003", ucs2("新桥镇锦绣路占道经营"), data_coding=8) == P.ESME_ROK
    assert env.run(sim.deliver, "13800000004", b"\x4e\x2d\x65", data_coding=8) == P.ESME_ROK
    texts = [r[3] for r in reports(env)]
    assert texts == [gsm, "Café près du marché: poubelle pleine", "新桥镇锦绣路占道经营"]
    bad = [m for m in inbound(env) if m["source"] == "13800000004"][0]
    assert bad["kind"] == "undecodable" and bad["text"] is None and bad["raw"] == b"\x4e\x2d\x65"
    assert "UCS-2" in bad["error"] and "odd" in bad["error"]


def test_clean_unbind_on_shutdown_and_queued_messages_survive_a_restart(sms_env):
    """Stopping the gateway unbinds; messages queued while it is down are sent by the next one."""
    env = sms_env
    sim, port = env.simulator("good")
    gw = env.gateway(env.settings(port))
    env.run(gw.links[0].when_ready)
    env.stop_gateway(gw)
    assert sim.unbinds == 1
    enqueue(env, 2)
    gw2 = env.gateway(env.settings(port))
    env.run(gw2.links[0].when_ready)
    env.run(gw2.kick)
    env.run(sim.wait_submits, 2)
    assert len(sim.accepted) == 2
