"""Helpers for the SMS tests: what the simulator received as texts, waiting for database states."""
from __future__ import annotations

from intake.channels.smpp import coding as C
from intake.db.sms_store import SmsStore


def texts_sent(sim, recipient: str | None = None) -> list[str]:
    """The texts the simulator accepted (concatenated parts joined by reference), in order."""
    out: list[str] = []
    pending: dict[tuple, dict] = {}
    for s in sim.accepted:
        if recipient is not None and s["to"] != recipient:
            continue
        data = s["data"]
        if s["esm_class"] & 0x40:
            udh = data[1:1 + data[0]]
            body = data[1 + data[0]:]
            ref, total, seq = udh[2], udh[3], udh[4]
            key = (s["to"], ref, total)
            parts = pending.setdefault(key, {})
            parts[seq] = body
            if len(parts) == total:
                out.append(C.decode_text(b"".join(parts[i] for i in range(1, total + 1)), s["data_coding"]))
                del pending[key]
        else:
            out.append(C.decode_text(data, s["data_coding"]))
    return out


def outbox(env, recipient=None):
    """Every outbox row (read through the DB pool)."""
    return env.run(SmsStore(env.db).outbox, recipient)


def inbound(env):
    """Every stored inbound SMS message."""
    return env.run(SmsStore(env.db).inbound_messages)


def reports(env):
    """(id, channel, external_id, text, caller) of every stored report."""
    import sqlalchemy as sa
    from intake.db import schema as t

    def thd(conn):
        return [tuple(r) for r in conn.execute(sa.select(t.reports.c.id, t.reports.c.channel, t.reports.c.external_id,
                                                         t.reports.c.text, t.reports.c.caller).order_by(t.reports.c.id))]
    return env.run(env.db.do, thd)


def ucs2(text: str) -> bytes:
    """Text as UCS-2 user data."""
    return text.encode("utf-16-be")
