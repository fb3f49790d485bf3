"""`hotline replay`: the contract other tools rely on, deterministic by the stream's own clock."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.intake.nodes import ROOT

STREAM = [
    {"id": "r1", "received_at": "2026-11-02T08:00:00+08:00", "channel": "12345", "external_id": "wo-1",
     "text": "市民来电反映：华山中路人行道上一个井盖松动翘起，踩上去晃得厉害，请尽快处理。"},
    {"id": "r2", "received_at": "2026-11-02T09:30:00+08:00", "channel": "sms", "external_id": "sms-2",
     "text": "华山路人行道上的井盖翘起来了 走路差点绊倒"},
    {"id": "r3", "received_at": "2026-11-02T10:00:00+08:00", "channel": "web", "external_id": "web-3",
     "text": "公司拖欠我们工资三个月了，老板跑了，请帮忙讨薪。"},
    "this is not json",
    {"id": "r4", "received_at": "2026-11-02T10:30:00+08:00", "channel": "fax", "external_id": "f-4", "text": "路灯不亮"},
    {"id": "a1", "received_at": "2026-11-03T16:00:00+08:00", "action": "close", "report": "r1"},
    {"id": "a2", "received_at": "2026-11-03T16:05:00+08:00", "action": "close", "report": "r404"},
    {"id": "r5", "received_at": "2026-11-06T08:00:00+08:00", "channel": "sms", "external_id": "sms-5",
     "text": "华山中路人行道那个井盖又翘起来了 上次修过的 又松了"},
]


def write_stream(path):
    """The stream as JSON Lines (one deliberately broken line)."""
    with open(path, "w", encoding="utf-8") as f:
        for item in STREAM:
            f.write((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n")


def replay(path, db_url):
    """Run the real command; returns the output lines parsed."""
    out = subprocess.run([sys.executable, "-m", "intake.cli", "replay", str(path), "--db", db_url],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_replay_contract_outcomes_and_determinism(tmp_path, db_url):
    """One line out per line in, same order; merges, scope, rejects, closes, recurrence; same again on a new DB."""
    src = tmp_path / "stream.jsonl"
    write_stream(src)
    out = replay(src, db_url)
    assert len(out) == len(STREAM)
    assert [o["id"] for o in out] == ["r1", "r2", "r3", None, "r4", "a1", "a2", "r5"]
    for o in out:
        assert set(o) == {"id", "outcome", "case_id", "duplicate_of", "reasons"}
    r1, r2, r3, bad, r4, a1, a2, r5 = out
    assert r1["outcome"] == "opened"
    assert r2["outcome"] == "merged" and r2["case_id"] == r1["case_id"] == r2["duplicate_of"]
    assert r3["outcome"] == "out_of_scope" and r3["case_id"] is None
    assert bad["outcome"] == "rejected" and "JSON" in " ".join(bad["reasons"])
    assert r4["outcome"] == "rejected" and any("channel" in r for r in r4["reasons"])
    assert a1["outcome"] == "closed" and a1["case_id"] == r1["case_id"]
    assert a2["outcome"] == "rejected" and any("r404" in r for r in a2["reasons"])
    assert r5["outcome"] == "opened" and r5["case_id"] != r1["case_id"], "a problem back after close is a new case"
    again = replay(src, db_url.replace("hotline.sqlite", "again.sqlite")) if db_url.startswith("sqlite") else None
    if again is not None:
        assert again == out, "the stream's times are the clock: a replay is deterministic"


def test_replaying_the_same_stream_twice_creates_nothing_new(tmp_path, db_url):
    """Replay is idempotent on (channel, external_id): the second run answers the same and adds no case."""
    src = tmp_path / "stream.jsonl"
    write_stream(src)
    first = replay(src, db_url)
    second = replay(src, db_url)
    opened = [o for o in first if o["outcome"] in ("opened", "merged", "out_of_scope")]
    again = {o["id"]: o for o in second}
    for o in opened:
        assert again[o["id"]]["case_id"] == o["case_id"]
