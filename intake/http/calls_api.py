"""Phone calls in the API, the phone channel's services, and the recordings' retention.

    GET  /api/v1/calls?state=&waiting=&limit=&offset=  calls, newest first; waiting=true: the manual
                                                       transcription queue
    GET  /api/v1/calls/{id}                            one call: state, transcript with word
                                                       confidences, its report and case
    GET  /api/v1/calls/{id}/recording                  the WAV (16-bit 8 kHz mono), audio/wav
    GET  /api/v1/calls/{id}/events                     text/event-stream: `partial` events while the
                                                       caller speaks, then one `final` event
    POST /api/v1/calls/{id}/transcript {"text"}        an operator's transcription: runs the pipeline,
                                                       answers like POST /api/v1/reports

`register` (an entry of intake.app.API_MODULES) adds the routes and returns a `PhoneService`
holding the recordings' retention sweep and, when config/lines.yaml exists and a reactor is
given, the telephony layer's TelephonyService wired to intake.channels.phone.IntakeSink.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from intake.http.params import int_arg, with_principal
from intake.auth import AuthError, require
from intake.channels.phone import AlreadyReported, IntakeSink, NotReportable, channel_for, final_event
from intake.db import call_store as cs
from intake.http.api import SEES_PHONE, mask_phone
from intake.http.router import HttpError, NotFound, RawResponse
from intake.phone_config import lines_of
from intake.pipeline import result_json
from intake.validation import FieldError, InvalidInput, decode_json_body

log = Logger()
MAX_PAGE = 200
READERS = ("operator", "shift_chief", "dispatcher", "auditor", "department")
LISTENERS = ("operator", "shift_chief", "dispatcher", "auditor")
RECORDING_READERS = ("operator", "shift_chief", "auditor")
TRANSCRIBERS = ("operator",)
KEEPALIVE_S = 15.0


def call_json(row: dict, sees_phone: bool, full: bool = True) -> dict:
    """A call as the API shows it; the caller's number masked for roles that must not see it."""
    body = {k: row[k] for k in ("id", "call_id", "line", "hotline", "started_at", "ended_at", "duration_s",
                                "state", "menu", "asr_status", "engine", "dtmf", "frames_received",
                                "frames_lost", "transcript", "transcript_source", "intake_status",
                                "report_id")}
    body["channel"] = channel_for(row["hotline"])
    body["caller"] = row["caller"] if sees_phone else mask_phone(row["caller"])
    body["waiting_for_transcription"] = row["intake_status"] in cs.WAITING
    body["recording"] = {"url": f"/api/v1/calls/{row['id']}/recording",
                         "deleted_at": row["recording_deleted_at"]} if row["wav_path"] else None
    if full:
        body["words"] = [{"word": w[0], "conf": w[1], "start": w[2], "end": w[3]} for w in row["words"]]
        body["transcribed_by"] = row["transcribed_by"]
        body["intake_error"] = row["intake_error"]
        body["case"] = None if row.get("case_id") is None else {
            "id": row["case_id"], "number": row["case_number"], "status": row["case_status"]}
        body["extra"] = row["extra"]
    return body


class CallsApi:
    """Handlers of the call routes; each checks the caller's role first."""

    def __init__(self, config, calls: cs.CallStore, sink: IntakeSink, clock, auth):
        self.config = config
        self.calls = calls
        self.sink = sink
        self.clock = clock
        self.auth = auth

    def register(self, r) -> None:
        """Add the routes."""
        r.add("GET", "/api/v1/calls", self._auth(self.list_calls))
        r.add("GET", "/api/v1/calls/{call_id}", self._auth(self.get_call))
        r.add("GET", "/api/v1/calls/{call_id}/recording", self._auth(self.get_recording))
        r.add("GET", "/api/v1/calls/{call_id}/events", self._auth(self.get_events))
        r.add("POST", "/api/v1/calls/{call_id}/transcript", self._auth(self.post_transcript))

    def _auth(self, handler):
        return with_principal(self.auth, handler)

    @defer.inlineCallbacks
    def _call(self, principal, call_id: str) -> dict:
        if not call_id.isdigit() or len(call_id) > 12:
            raise InvalidInput([FieldError("call_id", f"must be a positive integer, got {call_id[:20]!r}")])
        row = yield self.calls.get(int(call_id))
        if row is None:
            raise NotFound(f"no call {call_id}")
        if principal.role == "department" and row.get("case_department") != principal.department_id:
            raise AuthError(403, f"this call's case does not belong to {principal.department_id}")
        return row

    @defer.inlineCallbacks
    def list_calls(self, request, principal):
        """GET /api/v1/calls?state=&waiting=true|false&limit=&offset=: calls, newest first."""
        require(principal, *LISTENERS)
        args = {k.decode(): v[-1].decode("utf-8", "replace") for k, v in request.args.items()}
        errors = [FieldError(k, "unknown query parameter")
                  for k in sorted(set(args) - {"state", "waiting", "limit", "offset"})]
        limit = int_arg(args, "limit", 50, 1, MAX_PAGE, errors)
        offset = int_arg(args, "offset", 0, 0, 10 ** 9, errors)
        waiting = args.get("waiting")
        if waiting is not None and waiting not in ("true", "false"):
            errors.append(FieldError("waiting", "must be true or false"))
        if errors:
            raise InvalidInput(errors)
        statuses = None
        if waiting == "true":
            statuses = cs.WAITING
        elif waiting == "false":
            statuses = [s for s in cs.INTAKE_STATUSES if s not in cs.WAITING] + ["in_call"]
        total, rows = yield self.calls.list(state=args.get("state"), intake_status=statuses,
                                            limit=limit, offset=offset)
        nxt = offset + limit if offset + limit < total else None
        sees = principal.role in SEES_PHONE
        return 200, {"total": total, "limit": limit, "offset": offset, "next_offset": nxt,
                     "items": [call_json(r, sees, full=False) for r in rows]}

    @defer.inlineCallbacks
    def get_call(self, request, principal, call_id):
        """GET /api/v1/calls/{id}: one call with its transcript, report and case."""
        require(principal, *READERS)
        row = yield self._call(principal, call_id)
        return 200, call_json(row, principal.role in SEES_PHONE)

    @defer.inlineCallbacks
    def get_recording(self, request, principal, call_id):
        """GET /api/v1/calls/{id}/recording: the call's WAV (audio/wav)."""
        require(principal, *RECORDING_READERS)
        row = yield self._call(principal, call_id)
        if row["recording_deleted_at"] is not None:
            raise HttpError(410, f"the recording of call {row['id']} was deleted on "
                                 f"{row['recording_deleted_at'].isoformat()} (retention)")
        if not row["wav_path"]:
            raise NotFound(f"call {row['id']} has no recording yet (still in progress)")
        try:
            data = Path(row["wav_path"]).read_bytes()
        except OSError as e:
            raise NotFound(f"the recording of call {row['id']} is not readable: {e.strerror}")
        return 200, RawResponse(data, "audio/wav", {
            "Content-Disposition": f'attachment; filename="call-{row["id"]}.wav"', "Cache-Control": "no-store"})

    @defer.inlineCallbacks
    def get_events(self, request, principal, call_id):
        """GET /api/v1/calls/{id}/events: text/event-stream of partial transcripts, then a final event."""
        require(principal, *LISTENERS)
        row = yield self._call(principal, call_id)
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Accel-Buffering", b"no")   # why: a proxy must not hold events back
        state = {"done": False, "unsubscribe": None, "keepalive": None}

        def send(event: str, data: dict) -> None:
            if state["done"]:
                return
            request.write(f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
                          .encode("utf-8"))
            if event == "final":
                close()

        def close(_=None) -> None:
            if state["done"]:
                return
            state["done"] = True
            if state["unsubscribe"] is not None:
                state["unsubscribe"]()
            if state["keepalive"] is not None and state["keepalive"].running:
                state["keepalive"].stop()
            if _ is None and not getattr(request, "_disconnected", False):
                request.finish()
        request.write(f": call {row['id']}\n\n".encode())
        request.notifyFinish().addBoth(lambda _: close(_ or True))
        unsubscribe = self.sink.subscribe(row["call_id"], send) if row["state"] == "in_progress" else None
        if unsubscribe is None:
            send("final", final_event(row))
        else:
            state["unsubscribe"] = unsubscribe
            if not state["done"]:
                ka = task.LoopingCall(lambda: request.write(b": keepalive\n\n"))
                ka.clock = self.clock
                state["keepalive"] = ka
                ka.start(KEEPALIVE_S, now=False).addErrback(lambda f: None)
        return 200, RawResponse(streaming=True)

    @defer.inlineCallbacks
    def post_transcript(self, request, principal, call_id):
        """POST /api/v1/calls/{id}/transcript {"text"}: an operator's transcription opens the report."""
        require(principal, *TRANSCRIBERS)
        row = yield self._call(principal, call_id)
        data = decode_json_body(request.content.read())
        if not isinstance(data, dict):
            raise InvalidInput([FieldError("body", "expected a JSON object with text")])
        unknown = sorted(set(data) - {"text"})
        if unknown:
            raise InvalidInput([FieldError(k, "unknown field") for k in unknown])
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput([FieldError("text", "the transcript is required (non-empty text)")])
        limit = self.config.service.max_text_chars
        if len(text) > limit:
            raise InvalidInput([FieldError("text", f"at most {limit} characters, got {len(text)}")])
        try:
            result = yield self.sink.submit_transcript(row["id"], text.strip(), principal.actor)
        except AlreadyReported as e:
            raise HttpError(409, str(e))
        except NotReportable as e:
            raise HttpError(409, str(e))
        body = result_json(result, self.config)
        body["call_id"] = row["id"]
        return (200 if result.replayed else 201), body




class RecordingRetention(service.Service):
    """Deletes the WAVs of calls older than `days` (rows keep a recording_deleted_at mark),
    every `interval_s` on the injected clock."""

    def __init__(self, calls: cs.CallStore, days: int, clock, interval_s: float = 3600.0):
        self.calls = calls
        self.days = days
        self.clock = clock
        self.interval_s = interval_s
        self._loop = None
        self.removed = 0

    def sweep(self):
        """One pass: a Deferred of (files removed, rows marked)."""
        now = dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)
        d = self.calls.prune_recordings(now - dt.timedelta(days=self.days), now)

        def done(result):
            self.removed += result[0]
            if result[1]:
                log.info("retention: {n} recording(s) older than {days} days deleted", n=result[0], days=self.days)
            return result

        def failed(f):
            log.failure("retention sweep failed", f)
            return (0, 0)
        return d.addCallbacks(done, failed)

    def startService(self):
        """Sweep now and then every interval (0 days: keep forever, nothing runs)."""
        super().startService()
        if self.days > 0:
            self._loop = task.LoopingCall(self.sweep)
            self._loop.clock = self.clock
            self._loop.start(self.interval_s, now=True).addErrback(lambda f: log.failure("retention stopped", f))

    def stopService(self):
        """Stop sweeping."""
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()


class PhoneService(service.MultiService):
    """The phone channel in the service tree: retention, and the telephony layer when configured."""

    def __init__(self, calls: cs.CallStore, sink: IntakeSink, api: CallsApi):
        super().__init__()
        self.setName("phone")
        self.calls = calls
        self.sink = sink
        self.api = api
        self.telephony = None
        self.retention = None


def resolve_paths(lines, base: Path):
    """The TelephonyConfig with relative folders (recordings, prompts) made absolute against the
    deployment's root (the folder holding config/), so rows keep usable paths."""
    def absolute(p: str) -> str:
        return p if not p or os.path.isabs(p) else str((base / p).resolve())
    rec = dataclasses.replace(lines.recordings, directory=absolute(lines.recordings.directory))
    new_lines = tuple(dataclasses.replace(lc, prompts_dir=absolute(lc.prompts_dir)) for lc in lines.lines)
    return dataclasses.replace(lines, recordings=rec, prompts_dir=absolute(lines.prompts_dir), lines=new_lines)


def build_telephony(lines, sink: IntakeSink, reactor):
    """The TelephonyService for `lines` feeding `sink`. Its own mtime-based pruning is switched
    off: intake's RecordingRetention deletes the files and marks the rows."""
    from telephony.service import TelephonyService
    quiet = dataclasses.replace(lines, recordings=dataclasses.replace(lines.recordings, retention_days=0))
    return TelephonyService(quiet, sink, reactor=reactor)


def register(router, *, config, db, pipeline, clock, auth, reactor=None, **_):
    """API_MODULES entry point: the call routes, and the PhoneService for the tree (with the
    telephony lines of config/lines.yaml when a reactor is given)."""
    calls = cs.CallStore(db)
    sink = IntakeSink(calls, pipeline, clock, max_text_chars=config.service.max_text_chars)
    api = CallsApi(config, calls, sink, clock, auth)
    api.register(router)
    phone = PhoneService(calls, sink, api)
    lines = lines_of(config)
    if lines is not None:
        lines = resolve_paths(lines, Path(config.directory).resolve().parent)
        phone.lines = lines
        phone.retention = RecordingRetention(calls, lines.recordings.retention_days, clock)
        phone.retention.setServiceParent(phone)
        if reactor is not None:
            try:
                phone.telephony = build_telephony(lines, sink, reactor)
            except Exception as e:   # noqa: BLE001 - missing prompts, pyVoIP or model: say which
                from intake.app import StartupError
                raise StartupError(
                    f"cannot set up the phone lines of {Path(config.directory) / 'lines.yaml'}: {e} "
                    f"(run scripts/setup-telephony.sh, or remove lines.yaml / use --no-phones for no phones)") from e
            phone.telephony.setServiceParent(phone)
    return phone
