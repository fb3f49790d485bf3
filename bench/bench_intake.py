"""Intake throughput: reports per second through the HTTP API end to end on SQLite, side by side
with a bare twisted.web JSON echo, same machine, same load generator (wrk), same run.

    .venv/bin/python bench/bench_intake.py [--seconds 10] [--connections 8]

Prints both rates and their ratio. Not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "post_reports.lua"


def start(cmd, cwd) -> tuple[subprocess.Popen, str]:
    """Start a server process and wait for its 'serving http://...' line."""
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    for line in p.stdout:
        m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        if m:
            # keep reading its output (access log) so the server never blocks on a full pipe
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p, m.group(1)
    raise RuntimeError("server did not start")


def wrk(url: str, seconds: int, connections: int, token: str) -> dict:
    """Run wrk with the report-posting script; requests/s, latency and non-2xx count."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA), url,
                          "--", token],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    return {"rps": rps, "non2xx": int(non2xx.group(1)) if non2xx else 0, "p50": p50, "p99": p99}


def main() -> int:
    """Both servers, one after the other, same load; print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.sqlite"
        token = subprocess.run([sys.executable, "-m", "intake.cli", "token", "create", "--user", "bench",
                                "--role", "channel", "--db", db], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
        for name, cmd in (
            ("echo (bare twisted.web)", [sys.executable, str(ROOT / "bench" / "echo_server.py"), "0"]),
            ("intake API (SQLite)", [sys.executable, "-m", "intake.cli", "serve", "--port", "0",
                                     "--db", db, "--no-phones"]),   # why: the API only, no SIP server
        ):
            proc, base = start(cmd, tmp)
            try:
                results[name] = wrk(base + "/api/v1/reports", args.seconds, args.connections, token)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print(f"{'server':28} {'req/s':>9} {'p50':>9} {'p99':>9} {'non-2xx':>8}")
    for name, r in results.items():
        print(f"{name:28} {r['rps']:9.1f} {r['p50']:>9} {r['p99']:>9} {r['non2xx']:8d}")
    bad = [name for name, r in results.items() if r["non2xx"]]
    if bad:
        print(f"INVALID RUN: error responses from {', '.join(bad)}; rates above are not comparable", file=sys.stderr)
        return 1
    echo, intake = results["echo (bare twisted.web)"], results["intake API (SQLite)"]
    print(f"ratio intake/echo: {intake['rps'] / echo['rps']:.3f} ({echo['rps'] / intake['rps']:.1f}x slower)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
