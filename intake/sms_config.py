"""config/sms.yaml: SMPP links to the carriers' SMSCs, the outgoing queue, and the Chinese texts.

Optional: a city without SMPP has no sms.yaml (or no enabled link) and runs no SMS gateway.
Registered with intake.config when that module is imported, so `hotline check-config` reports every
problem with its file and key (`config/sms.yaml: links[0].port: an integer 1-65535, got 'x'`).
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Mapping

from intake.config import register_section

BIND_MODES = ("transceiver", "pair")

# Each template, the fields it may use, and its default text (a city overrides any of them).
TEMPLATE_FIELDS = {
    "receipt": {"number"},
    "result": {"number", "note"},
    "rejected": {"number", "note"},
    "survey": {"number"},
    "status": {"number", "status", "updated"},
    "status_closed": {"number", "status", "note", "updated"},
    "unknown_case": {"number"},
    "survey_thanks": {"number", "answer"},
    "survey_unexpected": {"answer"},
    "help": set(),
}
DEFAULT_TEMPLATES = {
    "receipt": "【新北区城市管理】您反映的问题已收到，案件编号{number}。回复“查询{number}”可查询办理进度，办结后将短信告知结果。",
    "result": "【新北区城市管理】您反映的问题（案件编号{number}）已办结：{note}。",
    "rejected": "【新北区城市管理】您反映的问题（案件编号{number}）不予受理：{note}。如有疑问请拨打12345。",
    "survey": "【新北区城市管理】请评价案件{number}的办理结果，回复数字：1 满意，2 基本满意，3 不满意。",
    "status": "【新北区城市管理】案件{number}当前状态：{status}（{updated}更新）。",
    "status_closed": "【新北区城市管理】案件{number}{status}：{note}。",
    "unknown_case": "【新北区城市管理】未查到案件编号{number}，请核对后回复“查询”加10位案件编号。",
    "survey_thanks": "【新北区城市管理】感谢您对案件{number}的评价：{answer}。",
    "survey_unexpected": "【新北区城市管理】没有等待您评价的案件，您的回复“{answer}”未记录。反映问题请直接描述问题和地点。",
    "help": "【新北区城市管理】请直接描述问题和地点；查询进度请回复“查询”加10位案件编号。",
}


@dataclass(frozen=True)
class LinkSettings:
    """One SMPP link to an SMSC."""

    name: str
    host: str
    port: int
    system_id: str
    password: str
    short_number: str
    system_type: str = ""
    bind: str = "transceiver"           # transceiver | pair (a receiver and a transmitter session)
    enabled: bool = True
    window: int = 10
    submit_rate: float = 50.0           # submit_sm per second
    enquire_link_s: float = 30.0
    response_timeout_s: float = 10.0
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 60.0
    throttle_pause_s: float = 1.0       # pause of all submits after ESME_RTHROTTLED (doubles, capped)


@dataclass(frozen=True)
class QueueSettings:
    """The outgoing queue: how often it is looked at, how retries back off, when to give up."""

    poll_s: float = 5.0
    batch: int = 50
    max_attempts: int = 8
    retry_initial_s: float = 5.0
    retry_max_s: float = 600.0
    max_parts: int = 6


@dataclass(frozen=True)
class SmsSettings:
    """The validated sms.yaml."""

    links: tuple[LinkSettings, ...] = ()
    queue: QueueSettings = QueueSettings()
    dedup_window_s: float = 600.0       # a PDU seen again within this time is a retransmission
    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))

    @property
    def enabled_links(self) -> tuple[LinkSettings, ...]:
        """The links the service connects."""
        return tuple(l for l in self.links if l.enabled)

    def render(self, name: str, **values) -> str:
        """A template filled in (fields were checked when the file was loaded)."""
        return self.templates[name].format(**values)


_LINK_TYPES = {
    "name": str, "host": str, "port": int, "system_id": str, "password": str, "short_number": str,
    "system_type": str, "bind": str, "enabled": bool, "window": int, "submit_rate": float,
    "enquire_link_s": float, "response_timeout_s": float, "reconnect_initial_s": float,
    "reconnect_max_s": float, "throttle_pause_s": float,
}
_LINK_REQUIRED = ("name", "host", "port", "system_id", "password", "short_number")
_QUEUE_TYPES = {"poll_s": float, "batch": int, "max_attempts": int, "retry_initial_s": float,
                "retry_max_s": float, "max_parts": int}
# SMPP field sizes (C-octet strings without their NUL).
_LIMITS = {"system_id": 15, "password": 8, "system_type": 12, "short_number": 20}


def _typed(value, kind, key, problems):
    if kind is bool:
        if isinstance(value, bool):
            return value
        problems.append((key, f"true or false, got {value!r}"))
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append((key, f"an integer, got {value!r}"))
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        problems.append((key, f"a number, got {value!r}"))
    else:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        problems.append((key, f"a string, got {value!r}"))
    return None


def _section(raw, key, types, problems) -> dict:
    if not isinstance(raw, dict):
        problems.append((key or "(top level)", f"must be a mapping, got {type(raw).__name__}"))
        return {}
    out = {}
    for k, v in raw.items():
        kk = f"{key}.{k}" if key else str(k)
        if k not in types:
            problems.append((kk, f"unknown key (allowed: {', '.join(types)})"))
            continue
        t = _typed(v, types[k], kk, problems)
        if t is not None:
            out[k] = t
    return out


def parse_sms(raw, filename: str):
    """Parse sms.yaml into SmsSettings; (value, [(key, message), ...])."""
    problems: list = []
    if raw is None:
        return SmsSettings(), problems
    if not isinstance(raw, dict):
        return None, [("(top level)", f"must be a mapping, got {type(raw).__name__}")]
    for k in raw:
        if k not in ("links", "queue", "dedup_window_s", "templates"):
            problems.append((str(k), "unknown key (allowed: links, queue, dedup_window_s, templates)"))
    links = []
    names = set()
    raw_links = raw.get("links") or []
    if not isinstance(raw_links, list):
        problems.append(("links", "must be a list of links"))
        raw_links = []
    for i, item in enumerate(raw_links):
        key = f"links[{i}]"
        values = _section(item, key, _LINK_TYPES, problems)
        missing = [k for k in _LINK_REQUIRED if isinstance(item, dict) and k not in item]
        for k in missing:
            problems.append((f"{key}.{k}", "required key is missing"))
        if missing or not isinstance(item, dict):
            continue
        bad = len(problems)
        if "name" in values:
            if not values["name"] or len(values["name"]) > 32:
                problems.append((f"{key}.name", "1 to 32 characters"))
            elif values["name"] in names:
                problems.append((f"{key}.name", f"duplicate link name {values['name']!r}"))
            names.add(values["name"])
        if "port" in values and not 1 <= values["port"] <= 65535:
            problems.append((f"{key}.port", f"an integer 1-65535, got {values['port']}"))
        if values.get("bind", "transceiver") not in BIND_MODES:
            problems.append((f"{key}.bind", f"one of {', '.join(BIND_MODES)}, got {values['bind']!r}"))
        for k, n in _LIMITS.items():
            if k in values and len(values[k].encode("latin-1", "replace")) > n:
                problems.append((f"{key}.{k}", f"at most {n} characters (SMPP limit)"))
        if "short_number" in values and not values["short_number"].isdigit():
            problems.append((f"{key}.short_number", f"digits only, got {values['short_number']!r}"))
        for k in ("window",):
            if k in values and not 1 <= values[k] <= 1000:
                problems.append((f"{key}.{k}", f"between 1 and 1000, got {values[k]}"))
        for k in ("submit_rate", "enquire_link_s", "response_timeout_s", "reconnect_initial_s",
                  "reconnect_max_s", "throttle_pause_s"):
            if k in values and values[k] <= 0:
                problems.append((f"{key}.{k}", f"must be positive, got {values[k]}"))
        if len(problems) == bad and len(values) == len(item):
            links.append(LinkSettings(**values))
    queue = QueueSettings()
    if "queue" in raw:
        qv = _section(raw["queue"], "queue", _QUEUE_TYPES, problems)
        for k, v in qv.items():
            if v <= 0:
                problems.append((f"queue.{k}", f"must be positive, got {v}"))
        if qv.get("max_parts", 1) > 255:
            problems.append(("queue.max_parts", "at most 255 (a concatenation header's limit)"))
        queue = QueueSettings(**{k: v for k, v in qv.items() if v > 0})
    dedup = 600.0
    if "dedup_window_s" in raw:
        d = _typed(raw["dedup_window_s"], float, "dedup_window_s", problems)
        if d is not None and d <= 0:
            problems.append(("dedup_window_s", f"must be positive, got {d}"))
        elif d is not None:
            dedup = d
    templates = dict(DEFAULT_TEMPLATES)
    raw_t = raw.get("templates") or {}
    if not isinstance(raw_t, dict):
        problems.append(("templates", "must be a mapping of template name to text"))
        raw_t = {}
    for name, text in raw_t.items():
        key = f"templates.{name}"
        if name not in TEMPLATE_FIELDS:
            problems.append((key, f"unknown template (known: {', '.join(TEMPLATE_FIELDS)})"))
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append((key, "a non-empty text"))
            continue
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as e:
            problems.append((key, f"not a valid template: {e}"))
            continue
        unknown = sorted(used - TEMPLATE_FIELDS[name])
        if unknown:
            allowed = ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS[name])) or "none"
            problems.append((key, f"unknown field(s) {', '.join(unknown)} (allowed: {allowed})"))
            continue
        templates[name] = text
    return SmsSettings(links=tuple(links), queue=queue, dedup_window_s=dedup, templates=templates), problems


register_section("sms.yaml", parse_sms, required=False)


def sms_of(config) -> SmsSettings:
    """The validated sms.yaml, or the defaults (no links) when the deployment has none."""
    return config.extra.get("sms") or SmsSettings()
