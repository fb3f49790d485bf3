"""The SMS tables on SQLite and PostgreSQL: dedup, parts that survive a restart, the queue's states,
delivery receipts, and the migration that brings the loop's outbox into the queue."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from intake.channels.smpp.gateway import read_message
from intake.db.pool import SyncRunner, make_engine, run_sync
from intake.db.sms_store import SmsStore, dedup_keys

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.timezone.utc)


def store_for(db_url):
    """A SmsStore on a fresh schema (inline runner)."""
    from intake.app import open_database
    engine = open_database(db_url)
    return SmsStore(SyncRunner(engine)), engine


def pdu(store, data, *, at=T0, ref=None, total=1, seq=1, source="13900000001", wire=None):
    """Store one UCS-2 PDU; the store's answer."""
    return run_sync(store.store_pdu(link="l", source=source, destination="12345", data_coding=8, esm_class=0,
                                    wire_data=wire if wire is not None else data, data=data, ref=ref, total=total,
                                    seq=seq, received_at=at, window_s=600, read=read_message))


def test_a_retransmission_within_the_window_finds_its_first_copy(db_url):
    """Same PDU again (even across a bucket boundary): duplicate with the first message; the same
    text long after the window is a new message."""
    store, engine = store_for(db_url)
    try:
        data = "路灯不亮".encode("utf-16-be")
        first = pdu(store, data, at=dt.datetime(2026, 11, 27, 1, 9, 59, tzinfo=dt.timezone.utc))
        assert not first["duplicate"] and first["message"]["text"] == "路灯不亮" and first["message"]["kind"] == "report"
        again = pdu(store, data, at=dt.datetime(2026, 11, 27, 1, 10, 30, tzinfo=dt.timezone.utc))
        assert again["duplicate"] and again["message"]["id"] == first["message"]["id"]
        later = pdu(store, data, at=T0 + dt.timedelta(hours=2))
        assert not later["duplicate"] and later["message"]["id"] != first["message"]["id"]
        a, b = dedup_keys("l", "1", "2", 8, 0, data, T0, 600)
        assert a != b and a.split(":")[0] == b.split(":")[0]
    finally:
        engine.dispose()


def test_parts_wait_in_the_database_and_join_in_order_after_a_restart(db_url):
    """Parts 3 and 1 stored, a new store (a restart), part 2: one message with the text in order;
    a retransmitted part afterwards is a duplicate of the joined message."""
    store, engine = store_for(db_url)
    try:
        pieces = ["第一段", "第二段", "第三段"]
        assert pdu(store, pieces[2].encode("utf-16-be"), ref=5, total=3, seq=3, wire=b"3")["message"] is None
        assert pdu(store, pieces[0].encode("utf-16-be"), ref=5, total=3, seq=1, wire=b"1")["message"] is None
        engine.dispose()
        store, engine = store_for(db_url)
        whole = pdu(store, pieces[1].encode("utf-16-be"), ref=5, total=3, seq=2, wire=b"2")["message"]
        assert whole["text"] == "第一段第二段第三段" and whole["state"] == "received"
        dup = pdu(store, pieces[0].encode("utf-16-be"), ref=5, total=3, seq=1, wire=b"1")
        assert dup["duplicate"] and dup["message"]["id"] == whole["id"]
        assert run_sync(store.unhandled_messages("l"))[0]["id"] == whole["id"]
        run_sync(store.mark_handled(whole["id"], now=T0))
        assert run_sync(store.unhandled_messages("l")) == []
    finally:
        engine.dispose()


def test_queue_claims_once_retries_later_and_delivery_receipts_settle_the_state(db_url):
    """claim_due takes a message once (sending); retry_later hides it until next_try_at;
    accepted parts are remembered; receipts for every part make it delivered, a failed one failed;
    an interrupted send is requeued at start."""
    store, engine = store_for(db_url)
    try:
        a = run_sync(store.enqueue(recipient="139", kind="reply", text="甲", now=T0))
        b = run_sync(store.enqueue(recipient="138", kind="reply", text="乙", now=T0))
        rows = run_sync(store.claim_due(T0, 10))
        assert [(r["id"], r["state"], r["attempts"]) for r in rows] == [(a, "sending", 1), (b, "sending", 1)]
        assert run_sync(store.claim_due(T0, 10)) == []
        run_sync(store.retry_later(a, "ESME_RTHROTTLED", T0 + dt.timedelta(seconds=30)))
        assert run_sync(store.claim_due(T0 + dt.timedelta(seconds=29), 10)) == []
        run_sync(store.part_accepted(a, 1, 2, "l", "X1", T0))
        (again,) = run_sync(store.claim_due(T0 + dt.timedelta(seconds=30), 10))
        assert again["attempts"] == 2 and again["accepted_parts"] == {1} and again["last_error"] == "ESME_RTHROTTLED"
        run_sync(store.part_accepted(a, 2, 2, "l", "X2", T0))
        run_sync(store.message_sent(a, "甲", T0))
        assert run_sync(store.apply_receipt("l", "X1", "DELIVRD", True, False, T0)) == a
        assert run_sync(store.outbox("139"))[0]["state"] == "sent"
        run_sync(store.apply_receipt("l", "X2", "DELIVRD", True, False, T0))
        assert run_sync(store.outbox("139"))[0]["state"] == "delivered"
        assert run_sync(store.apply_receipt("l", "nope", "DELIVRD", True, False, T0)) is None
        run_sync(store.part_accepted(b, 1, 1, "l", "Y1", T0))
        run_sync(store.message_sent(b, "乙", T0))
        run_sync(store.apply_receipt("l", "Y1", "UNDELIV", False, True, T0))
        row = run_sync(store.outbox("138"))[0]
        assert row["state"] == "failed" and "UNDELIV" in row["last_error"]
        c = run_sync(store.enqueue(recipient="137", kind="reply", text="丙", now=T0))
        run_sync(store.claim_due(T0, 10))
        assert run_sync(store.requeue_interrupted()) == 1
        assert [r["id"] for r in run_sync(store.claim_due(T0, 10))] == [c]
    finally:
        engine.dispose()


def test_upgrading_from_0006_keeps_sent_messages_sent(db_url):
    """A database of the previous version with a sent and an unsent receipt: after 0007 the sent
    one is 'sent' (the SMPP gateway will not send it again), the other 'queued'."""
    from intake.db import migrate
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0006")
        now = T0.replace(tzinfo=None)
        with engine.begin() as c:
            c.execute(sa.text(
                "INSERT INTO cases (id, number, status, code, alternative_codes, places, tokens, emergency, hot, "
                "inspector_confirmed, report_count, callers, channels, opened_at, last_report_at) VALUES "
                "(1, '2026000001', 'open', '01001', '[]', '[]', '', false, false, false, 1, '[]', '[]', :t, :t)"), {"t": now})
            for i, sent in ((1, now), (2, None)):
                c.execute(sa.text("INSERT INTO outbound_messages (id, case_id, recipient, kind, text, created_at, sent_at) "
                                  "VALUES (:i, 1, '139', 'receipt', 'x', :t, :s)"), {"i": i, "t": now, "s": sent})
        migrate.upgrade(engine)
        with engine.connect() as c:
            states = c.execute(sa.text("SELECT id, state, attempts FROM outbound_messages ORDER BY id")).all()
        assert [tuple(r) for r in states] == [(1, "sent", 0), (2, "queued", 0)]
    finally:
        engine.dispose()
