"""Starting real `hotline serve` processes for tests that need a real HTTP port or several nodes."""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = [sys.executable, "-m", "intake.cli"]


class Node:
    """One `hotline serve` process; waits (bounded) for the line that says where it listens."""

    def __init__(self, db_url: str, cwd: Path, extra: list[str] | None = None, timeout: float = 60):
        self.proc = subprocess.Popen(
            [*HOTLINE, "serve", "--db", db_url, "--port", "0", "--no-phones", *(extra or [])], cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.lines: list[str] = []
        q: queue.Queue = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                self.lines.append(line)
                q.put(line)
            q.put(None)
        threading.Thread(target=pump, daemon=True).start()
        while True:
            try:
                line = q.get(timeout=timeout)
            except queue.Empty:
                self.stop()
                raise RuntimeError("node did not start in time:\n" + "".join(self.lines))
            if line is None:
                raise RuntimeError("node exited:\n" + "".join(self.lines))
            m = re.search(r"serving (http://[\d.]+:\d+)/", line)
            if m:
                self.base = m.group(1)
                return

    def post(self, body: dict, token: str | None = None) -> tuple[int, dict]:
        """POST a report to this node (with a bearer token when given)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + "/api/v1/reports", data=json.dumps(body, ensure_ascii=False).encode(),
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path: str) -> tuple[int, dict]:
        """GET a JSON resource from this node."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self) -> None:
        """Stop the process (SIGTERM, then wait)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def make_token(db_url: str, user: str, role: str) -> str:
    """A token from the real `hotline token create` command."""
    out = subprocess.run([*HOTLINE, "token", "create", "--user", user, "--role", role, "--db", db_url],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()
