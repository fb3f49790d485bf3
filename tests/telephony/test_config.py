"""telephony.config.parse_lines: typed values from lines.yaml, every problem named."""
from __future__ import annotations

import os

import yaml

from telephony.config import parse_lines

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "telephony", "lines.example.yaml")


def test_example_config_is_valid():
    """The shipped example parses into three lines with the documented settings."""
    with open(EXAMPLE, encoding="utf8") as f:
        cfg, problems = parse_lines(yaml.safe_load(f), "lines.example.yaml")
    assert problems == []
    assert [l.hotline for l in cfg.lines] == ["12345", "12319", "110"]
    assert cfg.lines[1].server.port == 5060 and cfg.lines[1].rtp_low == 10200
    assert cfg.asr.engine == "vosk" and cfg.vad.silence_s == 1.5
    assert cfg.recordings.retention_days == 90


def test_every_problem_is_reported_with_its_key():
    """Unknown keys, wrong types, out-of-range values, duplicates and overlaps are all listed,
    each naming the file and the key."""
    raw = {
        "asr": {"engine": "whisper"},
        "vad": {"silence_s": "long", "threshold_dbfs": 10},
        "colour": "blue",
        "lines": [
            {"hotline": 12345, "username": "a", "sip_port": 5080, "rtp_ports": [10000, 10100]},
            {"hotline": "12a", "username": "a", "sip_port": 5080, "rtp_ports": [10050, 10150]},
            {"username": "c", "sip_port": 70000, "rtp_ports": "all", "voice": "x"},
            "not a mapping",
        ],
    }
    cfg, problems = parse_lines(raw, "lines.yaml")
    assert cfg is None
    keys = {k for k, _ in problems}
    assert {"asr.engine", "vad.silence_s", "vad.threshold_dbfs", "colour", "lines[1].hotline",
            "lines[1].username", "lines[1].sip_port", "lines[1].rtp_ports", "lines[2].hotline",
            "lines[2].sip_port", "lines[2].voice", "lines[3]"} <= keys
    assert all(msg.startswith("lines.yaml: ") for _, msg in problems)


def test_engine_settings_are_required_together():
    """vosk needs a model path and vosk-server a ws:// URL."""
    base = {"lines": [{"hotline": "12345", "username": "a"}]}
    _, p1 = parse_lines({**base, "asr": {"engine": "vosk"}}, "f")
    _, p2 = parse_lines({**base, "asr": {"engine": "vosk-server", "url": "http://x"}}, "f")
    assert [k for k, _ in p1] == ["asr.model_path"] and [k for k, _ in p2] == ["asr.url"]


def test_minimal_config_gets_defaults():
    """A single line with only its hotline and username gets every default."""
    cfg, problems = parse_lines({"lines": [{"hotline": "110", "username": "t"}]}, "f")
    assert problems == [] and cfg.asr.engine == "none" and cfg.lines[0].name == "110"


def test_non_mapping_documents_are_refused():
    """An empty or list-shaped file is a problem, not a crash."""
    assert parse_lines([], "f")[0] is None and parse_lines([], "f")[1]
    assert parse_lines(None, "f")[1] == [("lines", "f: lines: expected a non-empty list of SIP lines")]


def test_committed_scenario_matches_the_generator():
    """tests/telephony/scenarios/uac_report.xml (kept for people to read and run by hand) is
    what testing.uac_scenario generates, so it cannot drift from what the tests use."""
    from telephony import testing
    path = os.path.join(os.path.dirname(__file__), "scenarios", "uac_report.xml")
    with open(path, encoding="latin-1") as f:
        committed = f.read()
    assert committed == testing.uac_scenario(
        dtmf_pcaps=("/usr/share/sip-tester/dtmf_2833_1.pcap",), audio="caller.ulaw",
        pause_after_ms=9000, pai="13912345678")


def test_keepalive_and_asr_chunk_keys_are_checked():
    """The keepalive keys (0 switches it off), the retry, asr.chunk_ms and asr.partial_ms are
    read from the file; nonsense values are refused naming the key."""
    base = {"lines": [{"hotline": "12345", "username": "a"}]}
    cfg, problems = parse_lines({**base, "timeouts": {"keepalive_interval_s": 0,
                                                      "reregister_retry_s": 3},
                                 "asr": {"chunk_ms": 100, "partial_ms": 0}}, "f")
    assert problems == []
    assert cfg.timeouts.keepalive_interval_s == 0 and cfg.timeouts.reregister_retry_s == 3
    assert cfg.asr.chunk_ms == 100 and cfg.asr.partial_ms == 0
    defaults, _ = parse_lines(base, "f")
    assert defaults.timeouts.keepalive_interval_s == 5.0 and defaults.asr.chunk_ms == 200
    cases = [({"timeouts": {"keepalive_interval_s": 0.1}}, "timeouts.keepalive_interval_s", "too often"),
             ({"timeouts": {"keepalive_interval_s": -1}}, "timeouts.keepalive_interval_s", "outside"),
             ({"timeouts": {"keepalive_interval_s": 2, "keepalive_timeout_s": 2}},
              "timeouts.keepalive_timeout_s", "shorter than"),
             ({"timeouts": {"reregister_retry_s": "soon"}}, "timeouts.reregister_retry_s", "number"),
             ({"asr": {"chunk_ms": 5}}, "asr.chunk_ms", "outside"),
             ({"asr": {"chunk_ms": 0.5}}, "asr.chunk_ms", "integer"),
             ({"asr": {"partial_ms": -1}}, "asr.partial_ms", "outside")]
    for extra, key, words in cases:
        cfg, problems = parse_lines({**base, **extra}, "lines.yaml")
        assert cfg is None and [k for k, _ in problems] == [key], (extra, problems)
        assert problems[0][1].startswith(f"lines.yaml: {key}: ") and words in problems[0][1]
