"""`hotline demo` sends its sample day through the real HTTP API and prints a sensible summary."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.intake.nodes import ROOT


def test_demo_sends_the_sample_day_and_summarises(tmp_path):
    """All sample reports are accepted (201); outcomes of every kind and per-street rows are printed."""
    sample = ROOT / "intake" / "samples" / "demo-day.jsonl"
    lines = [json.loads(x) for x in sample.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(lines) >= 50
    assert {"sms", "web", "12345", "110", "inspector", "12319"} <= {x["channel"] for x in lines}
    out = subprocess.run([sys.executable, "-m", "intake.cli", "demo", "--exit", "--port", "0",
                          "--db", f"sqlite:///{tmp_path / 'demo.sqlite'}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"HTTP statuses: 201 x{len(lines)}" in text
    counts = {k: int(v) for k, v in re.findall(r"^(opened|merged|out_of_scope|emergency)\s+(\d+)", text, re.M)}
    assert sum(counts.values()) == len(lines)
    assert all(counts[k] > 0 for k in ("opened", "merged", "out_of_scope", "emergency")), counts
    assert "三井街道" in text and "区应急指挥中心" in text
    assert "demo-operator" in text and "Bearer" in text
    # The console's address and the people who can sign in to it, with their passwords.
    assert "/console/" in text and re.search(r"demo-auditor\s+auditor\s+\S{8,}", text)
