"""Phone calls into intake: the app's side of telephony.interfaces.ICallSink.

    call_started        -> a `calls` row (state in_progress) and the live call kept in memory
    partial_transcript  -> kept in memory, published to subscribers (the event stream)
    call_finished       -> the row completed FIRST (recording, state, transcript...), then, when
                           there is a transcript, an IncomingReport through the same pipeline as a
                           text report; the report is linked to the call; fires with the case
                           number the caller hears
    transcript_ready    -> a call that waited for a busy ASR pool: its transcript, then the pipeline
    case_status(number) -> a short Chinese status sentence the caller hears
    submit_transcript   -> an operator's transcription of a queued call (POST .../transcript)

Channel: a call becomes a report of the hotline's own channel ('12345', '12319', '110'), the same
channel those hotlines' platforms use over HTTP, so classification, the case's first state and the
channel statistics treat a call exactly like a typed report from that hotline; a line of another
number uses the generic 'phone' channel. external_id is the SIP Call-ID (intake is idempotent on
it), received_at the moment the call was answered, caller the number from the SIP headers.

Nothing here may lose a call: the row is written before the pipeline runs, a pipeline failure is
recorded on the row (intake_failed) and leaves the call in the operators' queue, and a failure to
write the row is logged with every field of the record (the WAV stays on disk).

All methods run on the reactor thread (the telephony layer's SinkBridge sees to it).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Callable

from twisted.internet import defer
from twisted.python.failure import Failure
from zope.interface import implementer

from intake.db import call_store as cs
from intake.models import CHANNELS, IncomingReport
from routing import workflow as wf
from telephony import interfaces as ti
from telephony.interfaces import ICallSink

log = logging.getLogger(__name__)

STATE_IN_PROGRESS = "in_progress"   # a row written at answer time (not a telephony end state)
IN_CALL = "in_call"                 # its intake_status

# End states after which the caller described something: a report is expected from these.
DESCRIBED = (ti.STATE_COMPLETED, ti.STATE_HANGUP_IN_RECORDING)
# These end states may or may not carry a description: it depends on how far the menu got.
MAYBE_DESCRIBED = (ti.STATE_RTP_TIMEOUT, ti.STATE_FAILED)
DESCRIBING_MENUS = (ti.MENU_REPORT, ti.MENU_OPERATOR)


def channel_for(hotline: str) -> str:
    """The report channel of a call to `hotline` (its own channel, else 'phone')."""
    return hotline if hotline in CHANNELS and hotline.isdigit() else "phone"


def expects_report(state: str, menu: str) -> bool:
    """Whether a call ending in `state` after menu choice `menu` should become a report."""
    if menu == ti.MENU_STATUS:
        return False
    if state in DESCRIBED:
        return True
    return state in MAYBE_DESCRIBED and menu in DESCRIBING_MENUS


def status_sentence(number: str, status: str | None) -> str | None:
    """What the caller hears for case `number` in `status` (None: no such case)."""
    if status is None:
        return None
    words = wf.STATES.get(status, status)
    spoken = " ".join(number)   # why: espeak reads a digit string as one large number otherwise
    if status == wf.CLOSED:
        return f"编号为 {spoken} 的案件已经办结，感谢您的监督。"
    if status in (wf.REJECTED, wf.VOIDED):
        return f"编号为 {spoken} 的案件{words}。如有疑问请转人工。"
    return f"编号为 {spoken} 的案件目前状态是：{words}。我们会尽快处理。"


@dataclass
class LiveCall:
    """A call in progress: what is known about it and who listens to it."""
    info: ti.CallInfo
    row_id: int | None = None
    partial: str = ""
    partials: int = 0
    subscribers: list = field(default_factory=list)


def _utc(ts: float) -> dt.datetime:
    return cs.utc(ts)


@implementer(ICallSink)
class IntakeSink:
    """The intake app's ICallSink over a CallStore and the IntakePipeline."""

    def __init__(self, calls: cs.CallStore, pipeline, clock, *, max_text_chars: int = 4000):
        self.calls = calls
        self.pipeline = pipeline
        self.clock = clock
        self.max_text_chars = max_text_chars
        self.live: dict[str, LiveCall] = {}
        self._tails: dict[str, defer.Deferred] = {}
        self._early: dict[str, object] = {}     # late transcripts that overtook call_finished

    # -- helpers ----------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The injected clock as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)

    def _serial(self, key: str, fn: Callable, *args) -> defer.Deferred:
        """Run fn(*args) after every earlier step for the same call finished (a late transcript
        must not overtake the row being written)."""
        prev = self._tails.get(key) or defer.succeed(None)
        result = defer.Deferred()

        def run(_):
            d = defer.maybeDeferred(fn, *args)
            d.addBoth(lambda r: result.errback(r) if isinstance(r, Failure) else result.callback(r))
            return d.addErrback(lambda _f: None)
        tail = prev.addBoth(run)
        self._tails[key] = tail

        def forget(_):
            if self._tails.get(key) is tail:
                del self._tails[key]
        tail.addBoth(forget)
        return result

    def _publish(self, sip_call_id: str, event: str, data: dict) -> None:
        live = self.live.get(sip_call_id)
        for fn in list(live.subscribers if live else ()):
            try:
                fn(event, data)
            except Exception:   # noqa: BLE001 - one broken listener must not stop the call
                log.exception("call event subscriber failed")

    def subscribe(self, sip_call_id: str, fn: Callable[[str, dict], None]):
        """Listen to a live call's events: fn('partial', {...}) as the transcript grows, then
        fn('final', {...}) once. Returns a function that unsubscribes, or None when the call is
        not live (the caller then reads the stored row)."""
        live = self.live.get(sip_call_id)
        if live is None:
            return None
        live.subscribers.append(fn)
        if live.partial:
            fn("partial", {"text": live.partial, "seq": live.partials})

        def unsubscribe():
            if fn in live.subscribers:
                live.subscribers.remove(fn)
        return unsubscribe

    def live_calls(self) -> list[dict]:
        """The calls in progress (for the API)."""
        return [{"call_id": c.info.call_id, "id": c.row_id, "line": c.info.line, "hotline": c.info.hotline,
                 "caller": c.info.caller, "started_at": _utc(c.info.started_at), "partial": c.partial}
                for c in self.live.values()]

    # -- ICallSink --------------------------------------------------------------------------
    def call_started(self, call_info):
        """Keep the live call and write its row at once (a crash mid-call leaves a trace)."""
        live = LiveCall(call_info)
        self.live[call_info.call_id] = live
        values = dict(call_id=call_info.call_id, line=call_info.line, hotline=call_info.hotline,
                      caller=(call_info.caller or None) and call_info.caller[:64],
                      started_at=_utc(call_info.started_at), ended_at=_utc(call_info.started_at),
                      wav_path="", duration_s=0.0, state=STATE_IN_PROGRESS, menu=ti.MENU_NONE,
                      asr_status="", engine="", dtmf="", frames_received=0, frames_lost=0,
                      words=[], intake_status=IN_CALL, extra={})

        def stored(row_id):
            live.row_id = row_id

        def failed(f):
            log.error("could not store the start of call %s: %s", call_info.call_id, f.getErrorMessage())
        return self._serial(call_info.call_id, self.calls.record_call, values, self.now()).addCallbacks(stored, failed)

    def partial_transcript(self, call_id, text):
        """Keep the running transcript and publish it to the call's subscribers."""
        live = self.live.get(call_id)
        if live is None or text == live.partial:
            return
        live.partial = text
        live.partials += 1
        self._publish(call_id, "partial", {"text": text, "seq": live.partials})

    def call_finished(self, record):
        """Store the call, then (with a transcript) run the pipeline; fires with the case number."""
        return self._serial(record.call_id, self._finish, record)

    def transcript_ready(self, record):
        """A transcript that came after the call: store it, then run the pipeline."""
        d = self._serial(record.call_id, self._late, record)
        d.addErrback(lambda f: log.error("late transcript of call %s not taken in: %s", record.call_id,
                                         f.getTraceback()))
        return d

    def case_status(self, number):
        """The status sentence for case `number` (None when there is no such case)."""
        number = "".join(ch for ch in str(number) if ch.isdigit())
        if not number:
            return defer.succeed(None)
        d = self.calls.case_by_number(number)
        d.addCallback(lambda found: status_sentence(number, found[0] if found else None))
        return d

    # -- the work ---------------------------------------------------------------------------
    def _values(self, record) -> dict:
        text = (record.transcript or "").strip()
        if not expects_report(record.state, record.menu):
            status = cs.NO_REPORT
        elif text:
            status = cs.AWAITING_TRANSCRIPTION     # until the pipeline answered (then: reported)
        elif record.asr_status == ti.ASR_QUEUED:
            status = cs.AWAITING_ASR
        else:
            status = cs.AWAITING_TRANSCRIPTION     # engine none, ASR failed, or it heard nothing
        extra = dict(record.extra or {})
        return dict(call_id=record.call_id, line=record.line, hotline=record.hotline,
                    caller=(record.caller or None) and record.caller[:64],
                    started_at=_utc(record.started_at), ended_at=_utc(record.ended_at),
                    wav_path=record.wav_path, duration_s=float(record.duration_s), state=record.state,
                    menu=record.menu, asr_status=record.asr_status, engine=record.engine,
                    dtmf=record.dtmf[:64], frames_received=int(record.frames_received),
                    frames_lost=int(record.frames_lost), transcript=text or None,
                    words=[list(w) for w in record.words], transcript_source="asr" if text else None,
                    intake_status=status, extra=json.loads(json.dumps(extra, default=str)))

    @defer.inlineCallbacks
    def _finish(self, record):
        values = self._values(record)
        try:
            row_id = yield self.calls.record_call(values, self.now())
        except Exception:
            # why: the database refused the row; the WAV is on disk and the log keeps the rest
            log.exception("could not store call %s; record: %s", record.call_id,
                          json.dumps(asdict(record), ensure_ascii=False, default=str))
            self._end_live(record.call_id, {"state": record.state, "stored": False})
            return None
        number, result = None, None
        if values["transcript"] and values["intake_status"] != cs.NO_REPORT:
            result = yield self._submit(row_id, record, values["transcript"])
            number = result.case_number if result is not None else None
        stored = yield self.calls.get(row_id)
        self._end_live(record.call_id, _event_body(stored))
        early = self._early.pop(record.call_id, None)
        if early is not None:
            # why: the late transcript overtook the hand-over (see _late); take it in now
            yield self._late(early)
        return number

    def _end_live(self, sip_call_id: str, body: dict) -> None:
        self._publish(sip_call_id, "final", body)
        self.live.pop(sip_call_id, None)

    @defer.inlineCallbacks
    def _late(self, record):
        values = self._values(record)
        row = yield self.calls.get(sip_call_id=record.call_id)
        if row is None:
            row_id = yield self.calls.record_call(values, self.now())
            row = yield self.calls.get(row_id)
        if row["state"] == STATE_IN_PROGRESS and record.call_id in self.live:
            # why: the late transcript can reach the reactor before call_finished does; keep it
            # for _finish, which runs next for this call
            self._early[record.call_id] = record
            return None
        if row["report_id"] is not None or not expects_report(row["state"], row["menu"]):
            return None
        text = values["transcript"]
        yield self.calls.set_transcript(row["id"], text or "", record.words, "asr", None,
                                        cs.AWAITING_TRANSCRIPTION)
        if not text:
            return None
        result = yield self._submit(row["id"], record, text)
        return result.case_number if result is not None else None

    @defer.inlineCallbacks
    def _submit(self, row_id: int, record, text: str):
        """Run the pipeline for the call; link the report; a failure is recorded, not raised."""
        report = IncomingReport(channel=channel_for(record.hotline), external_id=record.call_id[:128],
                                text=text[:self.max_text_chars], received_at=_utc(record.started_at),
                                caller=(record.caller or None) and record.caller[:64])
        try:
            result = yield self.pipeline.submit(report)
        except Exception as e:   # noqa: BLE001 - the call stays queued with the reason
            log.exception("intake of call %s failed", record.call_id)
            try:
                yield self.calls.mark_failed(row_id, f"{type(e).__name__}: {e}")
            except Exception:   # noqa: BLE001
                log.exception("could not mark call %s as failed", record.call_id)
            return None
        yield self.calls.link_report(row_id, result.report_id)
        return result

    @defer.inlineCallbacks
    def submit_transcript(self, row_id: int, text: str, by: str):
        """An operator's transcription of call `row_id`: stored, then the pipeline.

        Fires with the IntakeResult; raises CallNotFound, AlreadyReported or NotReportable."""
        row = yield self.calls.get(row_id)
        if row is None:
            raise cs.CallNotFound(f"no call {row_id}")
        if row["report_id"] is not None:
            raise AlreadyReported(row["report_id"], row.get("case_number"))
        if row["state"] == STATE_IN_PROGRESS:
            raise NotReportable("the call is still in progress")
        yield self.calls.set_transcript(row_id, text, (), "operator", by, cs.AWAITING_TRANSCRIPTION)
        report = IncomingReport(channel=channel_for(row["hotline"]), external_id=row["call_id"][:128],
                                text=text[:self.max_text_chars], received_at=row["started_at"],
                                caller=row["caller"])
        try:
            result = yield self.pipeline.submit(report)
        except Exception as e:
            yield self.calls.mark_failed(row_id, f"{type(e).__name__}: {e}")
            raise
        yield self.calls.link_report(row_id, result.report_id)
        return result


class AlreadyReported(Exception):
    """The call has a report already (an operator cannot transcribe it twice)."""

    def __init__(self, report_id: int, case_number: str | None):
        super().__init__(f"the call already made report {report_id}"
                         + (f" (case {case_number})" if case_number else ""))
        self.report_id = report_id
        self.case_number = case_number


class NotReportable(Exception):
    """The call cannot be transcribed into a report now."""


def _event_body(row: dict | None) -> dict:
    """The final event of a call's stream: where the call ended."""
    if row is None:
        return {}
    return {"id": row["id"], "state": row["state"], "intake_status": row["intake_status"],
            "asr_status": row["asr_status"], "transcript": row["transcript"], "report_id": row["report_id"],
            "case_number": row.get("case_number"), "duration_s": row["duration_s"]}


final_event = _event_body
