"""SMS intake throughput: citizens' messages per second through SMPP to stored reports, beside the
HTTP API's reports per second, same server process, same machine, same run.

    .venv/bin/python bench/bench_sms.py [--messages 400] [--window 8] [--seconds 10] [--connections 8]

One `hotline serve` on SQLite with a config whose sms.yaml enables a link to this script's SMSC
(a minimal SMPP server on 127.0.0.1). Phase 1: the SMSC sends --messages different deliver_sm with
at most --window unanswered, and times until every deliver_sm_resp is back (the service answers
only after the report is stored); it also accepts the receipts the service sends meanwhile, as a
carrier would. Phase 2: wrk posts reports to the HTTP API for --seconds with --connections.
Prints both rates and their ratio. Not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_intake import start, wrk  # noqa: E402
from intake.channels.smpp import pdu as P  # noqa: E402

TEXTS = [
    "三井菜场门口的垃圾桶满了，垃圾都溢出来了",
    "华山路人行道上的井盖翘起来了 走路差点绊倒",
    "常州北站南广场路灯晚上不亮",
    "薛家吾悦广场门口好多小摊摆到马路上卖早点",
    "锦江路那个工地灰好大 车一过全是土",
    "万达广场东门外共享单车乱停堵住人行道",
    "辽河路上一棵大树被风刮倒横在路中间",
    "公司拖欠工资三个月未发，请求帮助",
]


def bench_smsc():
    """A minimal SMSC: accepts the bind and every submit_sm, sends deliver_sm on demand in a window."""
    from twisted.internet import defer, protocol

    class Conn(protocol.Protocol):
        """The service's session as the SMSC sees it."""

        def connectionMade(self):
            """Remember the connection (one transceiver)."""
            self.buf = b""
            self.seq = itertools.count(1)
            self.waiting = {}
            self.factory.conn = self

        def dataReceived(self, data):
            """Answer bind, submits, keep-alives; match deliver_sm_resp to its deliver_sm."""
            self.buf += data
            while True:
                n = P.frame_length(self.buf)
                if n is None or len(self.buf) < n:
                    return
                pdu, self.buf = P.decode(self.buf[:n]), self.buf[n:]
                if pdu.command_id == P.BIND_TRANSCEIVER:
                    self.transport.write(P.encode(P.response_to(pdu, system_id="BENCH")))
                    self.factory.bound.callback(self)
                elif pdu.command_id == P.SUBMIT_SM:
                    self.factory.submits += 1
                    self.transport.write(P.encode(P.response_to(pdu, message_id=f"b{self.factory.submits}")))
                elif pdu.command_id in (P.ENQUIRE_LINK, P.UNBIND):
                    self.transport.write(P.encode(P.response_to(pdu)))
                elif pdu.command_id == P.DELIVER_SM | P.RESP:
                    self.waiting.pop(pdu.sequence).callback(pdu.status)

        def deliver(self, source, text):
            """One citizen's UCS-2 message; fires with the service's deliver_sm_resp status."""
            seq = next(self.seq)
            d = defer.Deferred()
            self.waiting[seq] = d
            self.transport.write(P.encode(P.PDU(P.DELIVER_SM, seq, params={
                "source_addr": source, "destination_addr": "12345", "data_coding": 8,
                "short_message": text.encode("utf-16-be")})))
            return d

    class SMSC(protocol.ServerFactory):
        """Counts receipts submitted; `bound` fires when the service has bound."""

        protocol = Conn

        def __init__(self):
            self.bound = defer.Deferred()
            self.submits = 0
            self.conn = None

        @defer.inlineCallbacks
        def blast(self, n, window):
            """n different messages with at most `window` unanswered; (seconds, statuses)."""
            conn = self.conn
            sem = defer.DeferredSemaphore(window)
            statuses = []

            def one(i):
                text = f"{TEXTS[i % len(TEXTS)]}（编号{i}）"
                return conn.deliver(f"139{i:08d}", text).addCallback(statuses.append)
            t0 = time.perf_counter()
            yield defer.gatherResults([sem.run(one, i) for i in range(n)])
            return time.perf_counter() - t0, statuses
    return SMSC()


def blocking(reactor, fn, *a, timeout=600):
    """fn on the reactor thread; wait for its Deferred's result here (bounded)."""
    from twisted.internet import defer
    done, box = threading.Event(), []

    def run():
        defer.maybeDeferred(fn, *a).addBoth(lambda r: (box.append(r), done.set()))
    reactor.callFromThread(run)
    if not done.wait(timeout):
        raise TimeoutError(f"{fn} did not finish in {timeout}s")
    from twisted.python.failure import Failure
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def main() -> int:
    """Start the SMSC and the service, run both phases, print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=400)
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    from twisted.internet import reactor
    threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True).start()
    smsc = bench_smsc()
    port = blocking(reactor, lambda: reactor.listenTCP(0, smsc, interface="127.0.0.1")).getHost().port
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config"
        shutil.copytree(ROOT / "config", cfg)
        (cfg / "sms.yaml").write_text(
            "links:\n  - {name: bench, host: 127.0.0.1, port: %d, system_id: bench, password: bench,\n"
            "     short_number: '12345', window: %d, submit_rate: 10000}\n" % (port, max(args.window, 10)),
            encoding="utf-8")
        db = f"sqlite:///{tmp}/bench.sqlite"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        token = subprocess.run([sys.executable, "-m", "intake.cli", "token", "create", "--user", "bench", "--role",
                                "channel", "--db", db], cwd=ROOT, capture_output=True, text=True, check=True,
                               env=env).stdout.strip()
        proc, base = start([sys.executable, "-m", "intake.cli", "serve", "--port", "0", "--db", db, "--config",
                            str(cfg), "--no-phones"], tmp)
        try:
            blocking(reactor, lambda: smsc.bound, timeout=60)
            elapsed, statuses = blocking(reactor, smsc.blast, args.messages, args.window)
            ok = sum(1 for s in statuses if s == P.ESME_ROK)
            smpp_rate = args.messages / elapsed
            http = wrk(base + "/api/v1/reports", args.seconds, args.connections, token)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(f"{'path':36} {'reports/s':>10} {'notes'}")
    print(f"{'SMPP deliver_sm -> stored report':36} {smpp_rate:10.1f} {args.messages} messages, window {args.window}, "
          f"{ok} answered ESME_ROK, {smsc.submits} receipts submitted meanwhile")
    print(f"{'HTTP POST /api/v1/reports':36} {http['rps']:10.1f} wrk -c{args.connections} {args.seconds}s, "
          f"p50 {http['p50']}, p99 {http['p99']}, non-2xx {http['non2xx']}")
    print(f"ratio SMPP/HTTP: {smpp_rate / http['rps']:.3f}")
    if ok != args.messages or http["non2xx"]:
        print("INVALID RUN: some messages or requests were not accepted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
