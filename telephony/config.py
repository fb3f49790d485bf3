"""Typed, validated telephony configuration (config/lines.yaml).

`parse_lines(raw, filename)` turns the YAML mapping into frozen dataclasses and collects every
problem as (key, message) pairs naming where it is ("lines[1].sip_port"), rejecting unknown
keys, instead of stopping at the first. An example lives in telephony/lines.example.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from telephony.audio import VadConfig


@dataclass(frozen=True)
class SipServer:
    """The SIP server (registrar/proxy) a line registers to."""
    host: str = "127.0.0.1"
    port: int = 5060


@dataclass(frozen=True)
class LineConfig:
    """One SIP account: registers as `username` and answers calls for `hotline`."""
    name: str
    hotline: str
    username: str
    password: str = ""
    bind_ip: str = "127.0.0.1"
    sip_port: int = 5080
    rtp_low: int = 10000
    rtp_high: int = 10100
    language: str = "cmn"
    greeting: str = ""
    prompts_dir: str = ""           # "" = the deployment's prompts_dir
    server: SipServer = field(default_factory=SipServer)


@dataclass(frozen=True)
class AsrConfig:
    """Which engine transcribes and how much of the machine it may use."""
    engine: str = "none"            # vosk | vosk-server | none
    model_path: str = ""
    url: str = ""
    workers: int = 0                # 0: one per core
    max_streams: int = 0            # 0: one per worker (measured: see TranscriptionPool)
    chunk_ms: int = 200             # audio gathered before each recogniser call
    partial_ms: int = 400           # vosk: a partial result after this much audio (0: every call)


@dataclass(frozen=True)
class CallTimeouts:
    """Timing of the call flow, in seconds."""
    rtp_timeout_s: float = 10.0       # no caller audio this long: hang up, state rtp_timeout
    menu_timeout_s: float = 6.0       # no menu digit: treat as 1 (report a problem)
    digit_timeout_s: float = 8.0      # between digits of a case number
    sink_timeout_s: float = 10.0      # waiting for the app's case number / status
    asr_final_timeout_s: float = 10.0  # waiting for the final transcript
    hangup_grace_s: float = 0.5       # after the goodbye prompt, before our BYE
    reregister_interval_s: float = 60.0  # watchdog: refresh registration this often
    register_timeout_s: float = 5.0   # how long one REGISTER waits for the server
    keepalive_interval_s: float = 5.0  # OPTIONS to the line through the registrar (0: off)
    keepalive_timeout_s: float = 1.0  # no answer this long: the server counts as down
    reregister_retry_s: float = 2.0   # a failed REGISTER is retried after this (doubling)


@dataclass(frozen=True)
class RecordingConfig:
    """Where recordings go and how long they are kept (0 days: forever)."""
    directory: str = "var/recordings"
    retention_days: int = 90


@dataclass(frozen=True)
class TelephonyConfig:
    """Everything the telephony layer needs."""
    lines: tuple[LineConfig, ...]
    asr: AsrConfig = field(default_factory=AsrConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    timeouts: CallTimeouts = field(default_factory=CallTimeouts)
    recordings: RecordingConfig = field(default_factory=RecordingConfig)
    prompts_dir: str = "var/prompts"


_TOP_KEYS = {"server", "asr", "vad", "timeouts", "recordings", "prompts_dir", "lines"}


class _Checker:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[tuple[str, str]] = []

    def bad(self, key: str, message: str) -> None:
        self.problems.append((key, f"{self.filename}: {key}: {message}"))

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(key, f"expected a mapping, got {type(value).__name__}")
            return {}
        for k in value:
            if k not in allowed:
                self.bad(f"{key}.{k}" if key else str(k),
                         f"unknown key (expected one of {', '.join(sorted(allowed))})")
        return value

    def string(self, d: dict, k: str, key: str, default: Optional[str], *, required=False,
               choices: tuple = ()) -> str:
        if k not in d or d[k] is None:
            if required:
                self.bad(f"{key}.{k}", "required")
            return default or ""
        v = d[k]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)              # why: YAML reads 12345 as a number
        if not isinstance(v, str):
            self.bad(f"{key}.{k}", f"expected text, got {type(v).__name__}")
            return default or ""
        if choices and v not in choices:
            self.bad(f"{key}.{k}", f"{v!r} is not one of {', '.join(choices)}")
        return v

    def number(self, d: dict, k: str, key: str, default, lo=None, hi=None, integer=False):
        if k not in d or d[k] is None:
            return default
        v = d[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
            self.bad(f"{key}.{k}", f"expected {'an integer' if integer else 'a number'}, got {v!r}")
            return default
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.bad(f"{key}.{k}", f"{v} is outside {lo}..{hi}")
            return default
        return v


def _server(c: _Checker, raw: Any, key: str, default: SipServer) -> SipServer:
    d = c.mapping(raw, key, {"host", "port"})
    return SipServer(c.string(d, "host", key, default.host),
                     c.number(d, "port", key, default.port, 1, 65535, integer=True))


def parse_lines(raw: dict, filename: str) -> tuple[Optional[TelephonyConfig], list[tuple[str, str]]]:
    """Validate a lines.yaml mapping. Returns (config or None, problems as (key, message))."""
    c = _Checker(filename)
    top = c.mapping(raw, "", _TOP_KEYS)
    if raw is not None and not isinstance(raw, dict):
        return None, c.problems
    server = _server(c, top.get("server"), "server", SipServer())

    a = c.mapping(top.get("asr"), "asr", {"engine", "model_path", "url", "workers", "max_streams",
                                          "chunk_ms", "partial_ms"})
    asr = AsrConfig(
        engine=c.string(a, "engine", "asr", "none", choices=("vosk", "vosk-server", "none")),
        model_path=c.string(a, "model_path", "asr", ""),
        url=c.string(a, "url", "asr", ""),
        workers=c.number(a, "workers", "asr", 0, 0, 256, integer=True),
        max_streams=c.number(a, "max_streams", "asr", 0, 0, 10000, integer=True),
        chunk_ms=c.number(a, "chunk_ms", "asr", 200, 20, 1000, integer=True),
        partial_ms=c.number(a, "partial_ms", "asr", 400, 0, 10000, integer=True))
    if asr.engine == "vosk" and not asr.model_path:
        c.bad("asr.model_path", "required when engine is vosk")
    if asr.engine == "vosk-server" and not asr.url.startswith(("ws://", "wss://")):
        c.bad("asr.url", "a ws:// or wss:// URL is required when engine is vosk-server")

    v = c.mapping(top.get("vad"), "vad", {"threshold_dbfs", "speech_frames", "silence_s",
                                          "initial_silence_s", "max_s"})
    dv = VadConfig()
    vad = VadConfig(threshold_dbfs=c.number(v, "threshold_dbfs", "vad", dv.threshold_dbfs, -100, 0),
                    speech_frames=c.number(v, "speech_frames", "vad", dv.speech_frames, 1, 100, integer=True),
                    silence_s=c.number(v, "silence_s", "vad", dv.silence_s, 0.2, 30),
                    initial_silence_s=c.number(v, "initial_silence_s", "vad", dv.initial_silence_s, 0.5, 120),
                    max_s=c.number(v, "max_s", "vad", dv.max_s, 1, 3600))

    dt = CallTimeouts()
    t = c.mapping(top.get("timeouts"), "timeouts", set(dt.__dataclass_fields__))
    # why: 0 switches the keepalive off; any other value below 0.5 s would flood the server
    special = {"keepalive_interval_s": (0, 3600)}
    values = {k: c.number(t, k, "timeouts", getattr(dt, k), *special.get(k, (0.05, 3600)))
              for k in dt.__dataclass_fields__}
    ka = values["keepalive_interval_s"]
    if 0 < ka < 0.5:
        c.bad("timeouts.keepalive_interval_s", f"{ka} is too often (0 = off, else at least 0.5)")
        values["keepalive_interval_s"] = dt.keepalive_interval_s
    elif ka and values["keepalive_timeout_s"] >= ka:
        c.bad("timeouts.keepalive_timeout_s", f"{values['keepalive_timeout_s']} must be shorter "
              f"than timeouts.keepalive_interval_s ({ka})")
    timeouts = CallTimeouts(**values)

    r = c.mapping(top.get("recordings"), "recordings", {"directory", "retention_days"})
    recordings = RecordingConfig(c.string(r, "directory", "recordings", "var/recordings"),
                                 c.number(r, "retention_days", "recordings", 90, 0, 36500, integer=True))
    prompts_dir = c.string(top, "prompts_dir", "prompts_dir", "var/prompts") if "prompts_dir" in top \
        else "var/prompts"
    if "prompts_dir" in top and not isinstance(top["prompts_dir"], str):
        c.bad("prompts_dir", "expected a folder path")

    lines: list[LineConfig] = []
    raw_lines = top.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        c.bad("lines", "expected a non-empty list of SIP lines")
        raw_lines = []
    line_keys = {"name", "hotline", "username", "password", "bind_ip", "sip_port", "rtp_ports",
                 "language", "greeting", "prompts_dir", "server"}
    seen_names, seen_ports, seen_users = {}, {}, {}
    for i, item in enumerate(raw_lines):
        key = f"lines[{i}]"
        d = c.mapping(item, key, line_keys)
        if not isinstance(item, dict):
            continue
        hotline = c.string(d, "hotline", key, "", required=True)
        if hotline and not hotline.isdigit():
            c.bad(f"{key}.hotline", f"{hotline!r} is not a phone number")
        name = c.string(d, "name", key, hotline or f"line{i}")
        username = c.string(d, "username", key, "", required=True)
        sip_port = c.number(d, "sip_port", key, 5080, 1, 65535, integer=True)
        rtp = d.get("rtp_ports", [10000 + 200 * i, 10000 + 200 * i + 199])
        if (not isinstance(rtp, list) or len(rtp) != 2
                or not all(isinstance(p, int) and not isinstance(p, bool) and 1024 <= p <= 65535 for p in rtp)
                or rtp[0] > rtp[1]):
            c.bad(f"{key}.rtp_ports", f"expected [low, high] ports within 1024..65535, got {rtp!r}")
            rtp = [10000, 10100]
        bind_ip = c.string(d, "bind_ip", key, "127.0.0.1")
        for seen, value, what in ((seen_names, name, "name"), (seen_ports, (bind_ip, sip_port), "sip_port"),
                                  (seen_users, username, "username")):
            if value in seen:
                c.bad(f"{key}.{what}", f"same {what} as lines[{seen[value]}]")
            seen[value] = i
        lines.append(LineConfig(
            name=name, hotline=hotline, username=username,
            password=c.string(d, "password", key, ""), bind_ip=bind_ip, sip_port=sip_port,
            rtp_low=rtp[0], rtp_high=rtp[1],
            language=c.string(d, "language", key, "cmn"),
            greeting=c.string(d, "greeting", key, ""),
            prompts_dir=c.string(d, "prompts_dir", key, ""),
            server=_server(c, d["server"], f"{key}.server", server) if "server" in d else server))
    for i, a_line in enumerate(lines):
        for j, b_line in enumerate(lines[:i]):
            if a_line.rtp_low <= b_line.rtp_high and b_line.rtp_low <= a_line.rtp_high:
                c.bad(f"lines[{i}].rtp_ports", f"overlaps lines[{j}].rtp_ports")
    if c.problems:
        return None, c.problems
    return TelephonyConfig(tuple(lines), asr, vad, timeouts, recordings, prompts_dir), []
