"""The phone part of `hotline demo`: a private kamailio, three SIPp calls, where each call ended.

When config/lines.yaml exists and scripts/setup-telephony.sh installed the tools (kamailio,
SIPp, pyVoIP, the prompts), the demo starts kamailio on a free 127.0.0.1 port, points the
demo's lines at it (on free SIP ports, recordings next to the demo database), and, once the
lines registered, places one call to each line with bundled audio (intake/samples/calls/*.ulaw,
espeak-ng Mandarin) and a DTMF menu key. It then prints where each call ended: with engine
`none` the manual transcription queue, with the call ids and the URL an operator transcribes
them at. Without the tools it says so and the demo runs without phones.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

CALL_AUDIO = Path(__file__).resolve().parent.parent / "samples" / "calls"
DTMF = "/usr/share/sip-tester/dtmf_2833_{}.pcap"
# (line's hotline, menu key, caller's number): 1 = report a problem, 0 = leave a message.
CALLS = (("12345", "1", "13912340001"), ("12319", "0", "13912340002"), ("110", "1", "13912340003"))


def _missing_prerequisites(lines) -> str | None:
    """Why phone calls cannot be placed here, or None."""
    from telephony.localsip import ToolMissing, require_tools
    try:
        require_tools("kamailio", "sipp")
    except ToolMissing as e:
        return str(e)
    try:
        import pyVoIP  # noqa: F401
    except ImportError:
        return "pyVoIP is not installed: run scripts/setup-telephony.sh (pip extra .[telephony])"
    if not all(os.path.exists(DTMF.format(k)) for _, k, _ in CALLS):
        return "SIPp's DTMF captures are missing (/usr/share/sip-tester): reinstall sip-tester"
    from telephony.prompts import PromptError, PromptSet
    for lc in lines.lines:
        try:
            PromptSet(lc.prompts_dir or lines.prompts_dir, lc.hotline, lc.language)
        except PromptError as e:
            return str(e)
    return None


class PhoneDemo:
    """A private kamailio and the demo's lines pointed at it."""

    def __init__(self, lines, workdir: str):
        from telephony.config import SipServer
        from telephony.localsip import Kamailio, free_udp_port
        self.workdir = workdir
        self.kamailio = Kamailio(os.path.join(workdir, "kamailio"), free_udp_port())
        self.kamailio.check_config()
        self.kamailio.start()
        server = SipServer("127.0.0.1", self.kamailio.port)
        recordings = os.path.abspath("hotline-demo-recordings")
        shutil.rmtree(recordings, ignore_errors=True)
        self.lines = dataclasses.replace(
            lines, lines=tuple(dataclasses.replace(lc, server=server, sip_port=free_udp_port())
                               for lc in lines.lines),
            recordings=dataclasses.replace(lines.recordings, directory=recordings))

    def stop(self) -> None:
        """Stop kamailio and remove its folder."""
        self.kamailio.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self, reactor, phone, base: str, operator_token: str, timeout_s: float = 120.0):
        """Wait for the lines, place the calls, wait until every call is stored; a Deferred
        firing with the text to print."""
        from twisted.internet import defer, task, threads

        from telephony.localsip import Sipp, uac_scenario
        telephony = phone.telephony
        lines = {lc.hotline: lc for lc in self.lines.lines}

        def place(_):
            jobs = []
            for i, (hotline, key, caller) in enumerate(CALLS):
                if hotline not in lines:
                    continue
                audio = CALL_AUDIO / f"{hotline}.ulaw"
                seconds = audio.stat().st_size / 8000
                xml = uac_scenario(dtmf_pcaps=(DTMF.format(key),), audio=str(audio), caller=caller,
                                   pause_after_ms=int((seconds + 10) * 1000))
                d = os.path.join(self.workdir, f"sipp-{i}")
                os.makedirs(d, exist_ok=True)
                sipp = Sipp(d, self.kamailio.port)
                jobs.append(threads.deferToThread(sipp.run, xml, lines[hotline].username, name="caller",
                                                  timeout_s=seconds + 40))
            return defer.DeferredList(jobs, consumeErrors=True).addCallback(lambda _: len(jobs))

        @defer.inlineCallbacks
        def stored(n):
            waited = 0.0
            while True:
                total, rows = yield phone.calls.list(limit=50)
                done = [r for r in rows if r["state"] != "in_progress"]
                if (len(done) >= n and not phone.sink.live) or waited > timeout_s:
                    full = yield defer.gatherResults([phone.calls.get(r["id"]) for r in done])
                    return full
                yield task.deferLater(reactor, 0.5, lambda: None)
                waited += 0.5

        def show(rows):
            return render(rows, base, operator_token, telephony.engine.name, self.kamailio.port)

        def failed(f):
            return (f"phone calls skipped: the demo's lines did not register with the private kamailio: "
                    f"{getattr(f.value, 'subFailure', f).getErrorMessage()}")
        d = telephony.when_ready()
        d.addCallback(place).addCallback(stored).addCallbacks(show, failed)
        return d


def render(rows: list[dict], base: str, operator_token: str, engine: str, port: int) -> str:
    """Where each call ended, as a table, and how to transcribe the queued ones."""
    from intake.commands.demo import _table
    from intake.http.api import mask_phone
    out = [f"phone calls: {len(rows)} SIPp calls through a private kamailio on 127.0.0.1:{port} "
           f"(ASR engine {engine})"]
    table, queued = [], []
    for r in sorted(rows, key=lambda r: r["id"]):
        if r["intake_status"] == "reported":
            where = f"case {r.get('case_number') or '?'} (report {r['report_id']})"
        elif r["intake_status"] in ("awaiting_transcription", "intake_failed"):
            where = "manual transcription queue"
            queued.append(r)
        elif r["intake_status"] == "awaiting_asr":
            where = "waiting for the ASR pool"
        else:
            where = "no report (" + r["state"] + ")"
        table.append([r["id"], r["line"], mask_phone(r["caller"]), r["dtmf"] or "-", r["state"],
                      f"{r['duration_s']:.1f} s", where])
    out.append(_table(table, ["call", "line", "caller", "keys", "state", "recording", "ended in"]))
    if queued:
        out.append(f"\n{len(queued)} call(s) wait for an operator to transcribe them "
                   f"(no speech model is configured: see telephony/README.md to install one):")
        out.append(f"  queue:       {base}/api/v1/calls?waiting=true")
        for r in queued:
            out.append(f"  call {r['id']}:      POST {base}/api/v1/calls/{r['id']}/transcript   "
                       f"(recording: {base}/api/v1/calls/{r['id']}/recording)")
        r = queued[0]
        out.append(f"  for example: curl -X POST -H 'Authorization: Bearer {operator_token}' "
                   f"-H 'Content-Type: application/json' -d '{{\"text\": \"三井街道华山路路灯坏了\"}}' "
                   f"{base}/api/v1/calls/{r['id']}/transcript")
    return "\n".join(out)


def prepare(config):
    """(config to run the demo with, PhoneDemo or None, a note to print)."""
    from intake.phone_config import demo_lines_of, lines_of, with_lines, without_phones
    lines = lines_of(config) or demo_lines_of(config)
    if lines is None:
        return config, None, "phone calls: no config/lines.yaml or lines.demo.yaml: no calls placed"
    from intake.http.calls_api import resolve_paths
    lines = resolve_paths(lines, Path(config.directory).resolve().parent)
    why = _missing_prerequisites(lines)
    if why:
        return without_phones(config), None, f"phone calls skipped: {why}"
    workdir = tempfile.mkdtemp(prefix="hotline-demo-sip-")
    try:
        demo = PhoneDemo(lines, workdir)
    except Exception as e:  # noqa: BLE001 - the demo goes on without phones, saying why
        shutil.rmtree(workdir, ignore_errors=True)
        return without_phones(config), None, f"phone calls skipped: kamailio did not start: {e}"
    return with_lines(config, demo.lines), demo, ""
