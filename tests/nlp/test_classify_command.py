"""The `hotline classify` contract: JSON Lines in, one JSON line out per line, bad lines reported."""
import argparse
import io
import json

from intake.commands import classify


def run_classify(monkeypatch, model_path, lines):
    """Run the command on `lines` and return (exit status, parsed output lines)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    parser = argparse.ArgumentParser()
    classify.add_arguments(parser)
    status = classify.run(parser.parse_args(["--model", str(model_path)]))
    return status, [json.loads(l) for l in out.getvalue().splitlines()]


def test_contract_fields_order_and_bad_lines(monkeypatch, model_path):
    """Every input line gets its answer in order; bad lines get an error and the run goes on."""
    lines = [
        json.dumps({"id": "a", "text": "喂 那个 高铁站门口的垃圾桶满了 垃圾溢出来了", "channel": "phone"}, ensure_ascii=False),
        "this is not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "text": 42}),
        json.dumps([1, 2]),
        json.dumps({"id": 7, "text": "老板拖欠工资三个月了"}, ensure_ascii=False),
        json.dumps({"id": "d", "text": "太湖东路燃气井盖那里一股很大的煤气味"}, ensure_ascii=False),
    ]
    status, out = run_classify(monkeypatch, model_path, lines)
    assert status == 0 and len(out) == len(lines)
    first = out[0]
    assert set(first) == {"id", "code", "name", "confidence", "abstain", "candidates", "out_of_scope", "emergency",
                          "street", "community", "grid", "model_version"}
    assert first["id"] == "a" and first["code"] == "06042" and first["street"] == "龙虎塘街道"
    assert len(first["candidates"]) == 3 and set(first["candidates"][0]) == {"code", "confidence"}
    assert "error" in out[1] and "id" not in out[1]
    assert out[2] == {"id": "b", "error": "missing field: text"}
    assert out[3]["id"] == "c" and "text must be a string" in out[3]["error"]
    assert "error" in out[4]
    assert out[5]["id"] == 7 and out[5]["out_of_scope"] and out[5]["code"] is None
    assert out[6]["emergency"] and out[6]["code"] is not None


def test_missing_model_fails_clearly(monkeypatch, tmp_path, capsys):
    """A missing model is exit 1 with a message naming the fix, not a traceback."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    parser = argparse.ArgumentParser()
    classify.add_arguments(parser)
    assert classify.run(parser.parse_args(["--model", str(tmp_path / "none.pkl")])) == 1
    assert "hotline train" in capsys.readouterr().err


def test_answers_each_line_before_the_next_arrives(model_path):
    """Output is flushed per line: a caller can read an answer while stdin is still open."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "classify", "--model", str(model_path)],
                            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, encoding="utf-8")
    try:
        proc.stdin.write(json.dumps({"id": 1, "text": "路灯不亮了"}, ensure_ascii=False) + "\n")
        proc.stdin.flush()
        import select
        ready, _, _ = select.select([proc.stdout], [], [], 60)  # no answer in time = not flushed
        assert ready, "no output while stdin was still open"
        first = json.loads(proc.stdout.readline())
        assert first["id"] == 1 and first["code"]
        proc.stdin.write("{bad\n")
        proc.stdin.close()
        assert "error" in json.loads(proc.stdout.readline())
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
