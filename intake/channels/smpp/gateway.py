"""The SMS gateway: SMPP links joined to intake, the closed loop's outbox and the survey.

    deliver_sm -> store the PDU (a retransmission finds its first copy; parts wait for the rest)
               -> whole message: decode (kept raw with the error when it cannot be)
               -> a report through IntakePipeline.submit | a status query answered | a survey
                  answer recorded on the case (LoopStore.record_satisfaction)
               -> deliver_sm_resp, only now
    outbox (outbound_messages) -> claim due rows -> texts from the templates -> submit_sm per part
               -> sent (the survey follows a result) | retried with backoff | failed
    delivery receipt -> the part's state -> the message delivered or failed

The outbox is looked at right after each intake, when a session binds, and every `poll_s` of the
injected clock (the loop writes results from the HTTP API without telling the gateway).
"""
from __future__ import annotations

import collections
import datetime as dt
from zoneinfo import ZoneInfo

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python import failure

from intake.channels.smpp import coding as C
from intake.channels.smpp import pdu as P
from intake.channels.smpp.link import LinkPaused, SMPPLink
from intake.channels.smpp.protocol import ResponseTimeout, SessionClosed
from intake.channels.smpp.replies import intent_of
from intake.db.loop_store import SATISFACTION_ANSWERS, CaseNotFound, LoopStore
from intake.db.sms_store import SmsStore, status_label
from intake.models import IncomingReport
from intake.sms_config import SmsSettings
from routing import workflow as wf

log = Logger()


def read_message(raw: bytes, data_coding: int, error: str | None = None) -> tuple:
    """(text, error, kind) of a whole message's user data; undecodable data keeps its error."""
    if error is None:
        try:
            text = C.decode_text(raw, data_coding)
        except C.UndecodableText as e:
            error = str(e)
    if error is not None:
        return None, error, "undecodable"
    return text, None, intent_of(text).kind


class SmsGateway(service.MultiService):
    """The SMPP links of sms.yaml, their inbound handling and the outbox they send from."""

    name = "sms-gateway"

    def __init__(self, settings: SmsSettings, pipeline, db, clock, reactor=None, timezone: str = "Asia/Shanghai"):
        super().__init__()
        self.settings = settings
        self.pipeline = pipeline
        self.sms = SmsStore(db)
        self.loop = LoopStore(db)
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        self.links = [SMPPLink(ls, reactor if reactor is not None else clock, clock, self.deliver, self.kick)
                      for ls in settings.enabled_links]
        for link in self.links:
            link.setServiceParent(self)
        self._handling: dict[int, list] = {}
        # Messages handled lately: a retransmission read as unhandled just before its first copy
        # finished is not handled twice (the database row says so too, a moment later).
        self._recent: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._pumping = False
        self._again = False
        self._poll: task.LoopingCall | None = None
        self._pump_done: defer.Deferred | None = None
        self.sent_count = 0
        self._to_mark: list[dict] = []
        self._marking: defer.Deferred | None = None

    def now(self) -> dt.datetime:
        """The injected clock's time."""
        return dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)

    # -- service -------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def startService(self):
        """Requeue sends a stop interrupted, connect the links, handle messages stored but not
        handled before the stop, and start polling the outbox."""
        n = yield self.sms.requeue_interrupted()
        if n:
            log.info("SMS gateway: {n} message(s) interrupted while sending are queued again", n=n)
        super().startService()
        for link in self.links:
            pending = yield self.sms.unhandled_messages(link.settings.name)
            for msg in pending:
                try:
                    yield self._handle_once(link, msg)
                except Exception:  # noqa: BLE001 - logged; the message stays 'received' for the next start
                    log.failure("SMS gateway: stored message {id} could not be handled", id=msg["id"])
        self._poll = task.LoopingCall(self.kick)
        self._poll.clock = self.clock
        self._poll.start(self.settings.queue.poll_s, now=False)

    @defer.inlineCallbacks
    def stopService(self):
        """Stop polling, unbind every link (answers in flight are waited for by the links), then
        write the last batch of handled marks."""
        if self._poll is not None and self._poll.running:
            self._poll.stop()
        self.running = 0   # no new pump from here on
        yield super().stopService()
        # The pump in flight ends quickly now: its submits fail with the closed sessions and go
        # back to the queue; a batch it claimed meanwhile is released untouched.
        if self._pumping and self._pump_done is not None:
            done = defer.Deferred()
            self._pump_done.addBoth(lambda r: (done.callback(None), r)[1])
            yield done
        while self._marking is not None:
            yield self._marking

    # -- inbound -------------------------------------------------------------------------------
    @defer.inlineCallbacks
    def deliver(self, link: SMPPLink, pdu: P.PDU):
        """One deliver_sm; fires with the status for deliver_sm_resp once it is stored and handled."""
        if C.is_delivery_receipt(pdu):
            yield self._receipt(link, pdu)
            return P.ESME_ROK
        error = None
        wire = pdu.tlvs.get(P.TLV_MESSAGE_PAYLOAD) or bytes(pdu.get("short_message") or b"")
        try:
            part = C.message_parts(pdu)
        except C.UndecodableText as e:
            part, error = C.MessagePart(wire), f"concatenation header: {e}"
        dc = pdu.get("data_coding", 0)
        out = yield self.sms.store_pdu(
            link=link.settings.name, source=pdu.get("source_addr", ""), destination=pdu.get("destination_addr", ""),
            data_coding=dc, esm_class=pdu.get("esm_class", 0), wire_data=wire, data=part.data, ref=part.ref,
            total=part.total, seq=part.seq, received_at=self.now(), window_s=self.settings.dedup_window_s,
            read=lambda raw, coding: read_message(raw, coding, error))
        msg = out["message"]
        if msg is None or msg["state"] == "done":
            return P.ESME_ROK   # a part waiting for the others, or a retransmission of a handled message
        yield self._handle_once(link, msg)
        return P.ESME_ROK

    def _handle_once(self, link, msg) -> defer.Deferred:
        """Handle a stored message; a retransmission that arrives while its first copy is being
        handled waits for that one (and gets its outcome) instead of handling it twice."""
        if msg["id"] in self._recent:
            return defer.succeed(None)
        waiters = self._handling.get(msg["id"])
        if waiters is not None:
            d = defer.Deferred()
            waiters.append(d)
            return d
        self._handling[msg["id"]] = []
        d = self._handle(link, msg)

        def done(r):
            if not isinstance(r, failure.Failure):
                self._recent[msg["id"]] = None
                while len(self._recent) > 10000:
                    self._recent.popitem(last=False)
            for w in self._handling.pop(msg["id"], []):
                if isinstance(r, failure.Failure):
                    w.errback(r)
                else:
                    w.callback(None)
            return r
        d.addBoth(done)
        return d

    @defer.inlineCallbacks
    def _handle(self, link, msg):
        now = self.now()
        source, text = msg["source"], msg["text"]
        if msg["kind"] == "undecodable":
            log.warn("SMS {id} from {src} kept undecoded: {err}", id=msg["id"], src=source, err=msg["error"])
            yield self.sms.mark_handled(msg["id"], now=now)
            return
        intent = intent_of(text)
        t = self.settings.templates
        case_id = report_id = None
        if intent.kind == "report":
            report = IncomingReport(channel="sms", external_id=f"smpp-{link.settings.name}-{msg['id']}", text=text,
                                    received_at=msg["received_at"], caller=source)
            result = yield self.pipeline.submit(report)
            # Marked in batches (group commit): a mark lost to a crash only means the report is
            # submitted again at the next start, and intake answers that from the stored report.
            self._mark_later(msg["id"], result.report_id, result.case_id)
            self.kick()
            return
        elif intent.kind == "query":
            case = yield self.sms.case_status(intent.number)
            if case is None:
                reply = self.settings.render("unknown_case", number=intent.number)
            else:
                case_id = case["id"]
                reply = self.status_text(case)
            yield self.sms.enqueue(recipient=source, kind="reply", text=reply, now=now, case_id=case_id)
        elif intent.kind == "survey":
            label = SATISFACTION_ANSWERS[intent.answer]
            target = yield self.sms.survey_case_for(source)
            reply = None
            if target is not None:
                try:
                    yield self.loop.record_satisfaction(target["case_id"], intent.answer, None, f"sms:{source}", now)
                    case_id = target["case_id"]
                    reply = self.settings.render("survey_thanks", number=target["number"], answer=label)
                except (wf.Refused, CaseNotFound) as e:
                    log.info("survey answer from {src} not recorded: {why}", src=source, why=str(e))
            if reply is None:
                reply = self.settings.render("survey_unexpected", answer=text.strip()[:20])
            yield self.sms.enqueue(recipient=source, kind="reply", text=reply, now=now, case_id=case_id)
        else:
            yield self.sms.enqueue(recipient=source, kind="reply", text=t["help"], now=now)
        yield self.sms.mark_handled(msg["id"], now=now, report_id=report_id, case_id=case_id)
        self.kick()

    def _mark_later(self, message_id, report_id, case_id):
        self._to_mark.append(dict(id=message_id, report_id=report_id, case_id=case_id))
        if not self._marking:
            self._flush_marks()

    def _flush_marks(self):
        if not self._to_mark:
            self._marking = None
            return None
        batch, self._to_mark = self._to_mark, []
        self._marking = self.sms.mark_many(batch, self.now())
        self._marking.addErrback(lambda f: log.failure("SMS gateway: marking {n} message(s) handled failed "
                                                       "(they are handled again at the next start)", f, n=len(batch)))
        self._marking.addCallback(lambda _: self._flush_marks())
        return self._marking

    def status_text(self, case: dict) -> str:
        """The answer to a status query, from the templates."""
        label = status_label(case["status"])
        updated = case["updated"].astimezone(self.tz).strftime("%m月%d日%H:%M") if case["updated"] else "—"
        if case["status"] in wf.FINAL:
            return self.settings.render("status_closed", number=case["number"], status=label,
                                        note=case["note"] or "已处理", updated=updated)
        return self.settings.render("status", number=case["number"], status=label, updated=updated)

    @defer.inlineCallbacks
    def _receipt(self, link, pdu):
        try:
            r = C.parse_receipt(pdu)
        except C.UndecodableText as e:
            log.warn("SMPP link {link}: unreadable delivery receipt: {e}", link=link.settings.name, e=str(e))
            return
        oid = yield self.sms.apply_receipt(link.settings.name, r.message_id, r.state, r.state in C.FINAL_OK,
                                           r.state in C.FINAL_FAILED, self.now())
        if oid is None:
            log.info("SMPP link {link}: receipt for unknown message id {mid}", link=link.settings.name, mid=r.message_id)

    # -- outbound ------------------------------------------------------------------------------
    def kick(self, *_):
        """Look at the outbox now (coalesced: one pump runs at a time and goes round again)."""
        if not self.running:
            return defer.succeed(None)
        if self._pumping:
            self._again = True
            return self._pump_done
        self._pumping = True
        self._pump_done = self._pump()
        self._pump_done.addErrback(lambda f: log.failure("SMS outbox pump failed", f))
        return self._pump_done

    @defer.inlineCallbacks
    def _pump(self):
        try:
            while self.running:
                self._again = False
                link = next((l for l in self.links if l.transmitter is not None), None)
                if link is None:
                    return
                rows = yield self.sms.claim_due(self.now(), self.settings.queue.batch)
                if rows and not self.running:
                    yield self.sms.release([r["id"] for r in rows])
                    return
                log.debug("SMS outbox: {n} message(s) claimed for link {link} ({gw})", n=len(rows),
                          link=link.settings.name, gw=id(self))
                if rows:
                    yield defer.DeferredList([self._send(link, r) for r in rows], consumeErrors=True)
                elif not self._again:
                    return
        finally:
            self._pumping = False

    def render(self, row: dict) -> tuple[str, dict | None]:
        """(text to send, follow-up message or None) of an outbox row: receipts and results from
        the templates with the case's number and note; the survey follows a closed case's result."""
        case = row.get("case")
        if case is None or row["kind"] not in ("receipt", "result"):
            return row["text"], None
        if row["kind"] == "receipt":
            return self.settings.render("receipt", number=case["number"]), None
        if case["status"] == wf.CLOSED:
            text = self.settings.render("result", number=case["number"], note=case["note"] or "已处理")
            return text, {"kind": "survey", "text": self.settings.render("survey", number=case["number"])}
        return self.settings.render("rejected", number=case["number"], note=case["note"] or "不属于受理范围"), None

    @defer.inlineCallbacks
    def _send(self, link: SMPPLink, row: dict):
        q = self.settings.queue
        try:
            text, follow_up = self.render(row)
            parts = C.encode_parts(text, row["id"] & 0xFF, q.max_parts)
        except (ValueError, KeyError) as e:
            yield self.sms.retry_later(row["id"], f"cannot be sent: {e}", None, final=True)
            return
        for p in parts:
            if p.seq in row["accepted_parts"]:
                continue   # accepted before a retry: never sent twice
            pdu = P.PDU(P.SUBMIT_SM, params={
                "source_addr": link.settings.short_number, "destination_addr": row["recipient"],
                "esm_class": p.esm_class, "data_coding": p.data_coding, "registered_delivery": 1,
                "short_message": p.data})
            try:
                resp = yield link.submit(pdu)
            except LinkPaused as e:
                yield self.sms.retry_later(row["id"], str(e), self.now() + dt.timedelta(
                    seconds=e.until - self.clock.seconds()))
                return
            except (SessionClosed, ResponseTimeout) as e:
                yield self._retry(row, f"{type(e).__name__}: {e}")
                return
            if resp.status != P.ESME_ROK:
                why = f"{P.status_name(resp.status)} for part {p.seq} of {p.total}"
                if resp.status == P.ESME_RTHROTTLED:
                    yield self.sms.retry_later(row["id"], why, self.now() + dt.timedelta(
                        seconds=max(link.limiter.paused_until - self.clock.seconds(), link.settings.throttle_pause_s)))
                elif resp.command_id == P.GENERIC_NACK or resp.status in P.TRANSIENT_STATUSES:
                    yield self._retry(row, why)
                else:
                    yield self.sms.retry_later(row["id"], why, None, final=True)
                return
            accepted = (p.seq, p.total, link.settings.name, str(resp.get("message_id") or ""))
            if p.seq < p.total:
                # Remembered at once: a retry after a failure never sends an accepted part again.
                yield self.sms.part_accepted(row["id"], *accepted, self.now())
        # The last part is recorded with the state change, in one transaction.
        yield self.sms.message_sent(row["id"], text, self.now(), follow_up, last_part=accepted)
        self.sent_count += 1
        if follow_up:
            self._again = True

    def _retry(self, row, why: str) -> defer.Deferred:
        log.info("SMS {id} to {to} not sent (attempt {n}): {why}", id=row["id"], to=row["recipient"],
                 n=row["attempts"], why=why)
        q = self.settings.queue
        attempts = row["attempts"]  # already counted when the row was claimed
        delay = min(q.retry_initial_s * 2 ** (attempts - 1), q.retry_max_s)
        return self.sms.retry_later(row["id"], why, self.now() + dt.timedelta(seconds=delay),
                                    final=attempts >= q.max_attempts)


def register(router, *, config, db, pipeline, clock, **_):
    """API_MODULES entry point: the SMS gateway as a Service when sms.yaml enables a link."""
    from intake.sms_config import sms_of
    settings = sms_of(config)
    if not settings.enabled_links:
        return None
    return SmsGateway(settings, pipeline, db, clock, reactor=clock, timezone=config.service.timezone)
