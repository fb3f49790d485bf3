"""Noticing that the SIP server forgot a line, so that the line registers again at once.

A registrar that restarts (kamailio keeps its locations in memory) silently forgets every line;
until the next REGISTER refresh, calls to the line get 404. Waiting for the periodic refresh
(60 s by default) loses every call in between, so each line sends a small keepalive: a SIP
OPTIONS to its own address of record, through the registrar, every few seconds, from a small
UDP socket of its own on the reactor (timers on the injected clock). The registrar treats it
like a call: it looks the line up and forwards it, or answers 404 when it does not know it.
The line answers OPTIONS itself (`answer_options`, hooked into pyVoIP's receive loop), with a
To-tag the probe recognises. So an answer tells one of:

- BOUND: the line's own 200 came back through the registrar: registered and reachable;
- UNBOUND: 404 / 480 / 410 / 604: the registrar has no binding for the line -> register now;
- ALIVE: any other answer (a server that answers OPTIONS itself, or asks for authentication):
  the server is up, the binding unknown;
- NO_ANSWER: nothing within the timeout: the server is down (or the network). The next answer
  after that (the server is back, probably restarted) -> register now.

Everything here is plain functions plus one DatagramProtocol; the decisions are taken by
telephony.service.LineService.
"""
from __future__ import annotations

import logging
import re
import uuid
from typing import Callable, Optional

from twisted.internet import defer
from twisted.internet.protocol import DatagramProtocol

log = logging.getLogger(__name__)

BOUND, UNBOUND, ALIVE, NO_ANSWER = "bound", "unbound", "alive", "no-answer"
# why: the statuses with which a registrar or proxy says "no such user (here, now)"
UNBOUND_STATUSES = frozenset({404, 410, 480, 604})
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"

_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id"}
_TAG_RE = re.compile(r";\s*tag=([^;,\s>]+)", re.I)
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _split_headers(data: bytes) -> Optional[tuple[str, list[tuple[str, str, str]]]]:
    """(start line, [(canonical lower-case name, name as sent, value)]) or None if not SIP."""
    try:
        text = data.decode("utf8")
    except UnicodeDecodeError:
        return None
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    if not lines or not lines[0]:
        return None
    headers: list[tuple[str, str, str]] = []
    for raw in lines[1:]:
        if raw[:1] in (" ", "\t") and headers:          # folded continuation line
            name, sent, value = headers[-1]
            headers[-1] = (name, sent, value + " " + raw.strip())
            continue
        if ":" not in raw:
            return None
        sent, value = raw.split(":", 1)
        sent = sent.strip()
        name = sent.lower()
        headers.append((_COMPACT.get(name, name), sent, value.strip()))
    return lines[0], headers


def _first(headers, name: str) -> Optional[str]:
    for n, _sent, value in headers:
        if n == name:
            return value
    return None


def options_request(*, user: str, server: tuple[str, int], local: tuple[str, int], call_id: str,
                    branch: str, from_tag: str, cseq: int) -> bytes:
    """An OPTIONS to sip:user@server (the line's address of record), sent from `local`.

    From is a keepalive identity on the local address, not the line's own: registrars usually
    challenge requests claiming to come from one of their users."""
    host, port = server
    lhost, lport = local
    return (f"OPTIONS sip:{user}@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {lhost}:{lport};branch=z9hG4bK{branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:keepalive@{lhost}:{lport}>;tag={from_tag}\r\n"
            f"To: <sip:{user}@{host}:{port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} OPTIONS\r\n"
            f"Accept: application/sdp\r\n"
            f"User-Agent: hotline-keepalive\r\n"
            f"Content-Length: 0\r\n\r\n").encode("utf8")


def parse_response(data: bytes) -> Optional[tuple[int, str, str]]:
    """(status, Call-ID, To-tag or "") of a SIP response; None for anything else."""
    parsed = _split_headers(data)
    if parsed is None:
        return None
    start, headers = parsed
    parts = start.split(" ", 2)
    if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit():
        return None
    call_id = _first(headers, "call-id")
    if not call_id:
        return None
    m = _TAG_RE.search(_first(headers, "to") or "")
    return int(parts[1]), call_id, m.group(1) if m else ""


def classify(status: int, to_tag: str, line_tag: str) -> str:
    """What a final answer to the keepalive says about the line's registration."""
    if 200 <= status < 300 and line_tag and to_tag == line_tag:
        return BOUND
    if status in UNBOUND_STATUSES:
        return UNBOUND
    return ALIVE


def _via_destination(via: str) -> Optional[tuple[str, int]]:
    """Where a response goes for a UDP Via (RFC 3261 18.2.2 and RFC 3581 rport)."""
    via = via.split(",", 1)[0].strip()          # the top one of a combined header
    m = re.match(r"SIP/2\.0/UDP\s+(\[[^\]]+\]|[^;:\s]+)(?::(\d+))?(.*)$", via, re.I)
    if not m:
        return None
    host, port, params = m.group(1).strip("[]"), int(m.group(2) or 5060), m.group(3)
    received = re.search(r";\s*received=([^;\s]+)", params, re.I)
    rport = re.search(r";\s*rport=(\d+)", params, re.I)
    if received:
        host = received.group(1)
    if rport:
        port = int(rport.group(1))
    return host, port


def answer_options(data: bytes, tag: str) -> Optional[tuple[bytes, tuple[str, int]]]:
    """The 200 OK (and its destination) for an OPTIONS request; None if `data` is not a
    well-formed OPTIONS (then it is simply dropped, as pyVoIP drops what it cannot parse).

    Via, From, Call-ID and CSeq are copied as received; To gets `tag` unless it has one."""
    parsed = _split_headers(data)
    if parsed is None:
        return None
    start, headers = parsed
    parts = start.split(" ")
    if len(parts) != 3 or parts[0] != "OPTIONS" or parts[2] != "SIP/2.0":
        return None
    vias = [value for name, _s, value in headers if name == "via"]
    frm, to = _first(headers, "from"), _first(headers, "to")
    call_id, cseq = _first(headers, "call-id"), _first(headers, "cseq")
    if not (vias and frm and to and call_id and cseq):
        return None
    dest = _via_destination(vias[0])
    if dest is None:
        return None
    if not _TAG_RE.search(to):
        to = f"{to};tag={tag}"
    lines = ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in vias] + [
        f"From: {frm}", f"To: {to}", f"Call-ID: {call_id}", f"CSeq: {cseq}",
        f"Allow: {ALLOW}", "Accept: application/sdp", "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf8"), dest


class OptionsProbe(DatagramProtocol):
    """Sends keepalive OPTIONS for one line and tells what the answers say.

    `probe()` returns a Deferred firing with BOUND, UNBOUND, ALIVE or NO_ANSWER (after
    timeout_s on the injected clock); provisional answers (100 Trying) are ignored, stray and
    late datagrams too. Listen it with reactor.listenUDP(0, probe, interface=line_ip).
    """

    def __init__(self, *, user: str, server: tuple[str, int], line_tag: str, clock,
                 timeout_s: float, resolve: Optional[Callable[[str], defer.Deferred]] = None):
        self.user, self.server, self.line_tag = user, server, line_tag
        self.clock, self.timeout_s = clock, timeout_s
        self._resolve = resolve
        self._pending: dict[str, tuple[defer.Deferred, object]] = {}
        self._cseq = 0
        self.sent = 0
        self.answers = 0

    def probe(self) -> defer.Deferred:
        """Send one OPTIONS; Deferred of the outcome."""
        host, port = self.server
        if _IPV4_RE.match(host) or self._resolve is None:
            return self._send((host, port))
        d = self._resolve(host)
        d.addCallback(lambda ip: self._send((ip, port)))
        # why: a name that does not resolve right now is a server we cannot reach
        d.addErrback(lambda f: log.warning("keepalive: cannot resolve %s: %s", host,
                                           f.getErrorMessage()) or NO_ANSWER)
        return d

    def _send(self, target: tuple[str, int]) -> defer.Deferred:
        if self.transport is None:
            return defer.succeed(NO_ANSWER)
        local = self.transport.getHost()
        u = uuid.uuid4().hex
        self._cseq += 1
        call_id = f"ka-{u}"
        data = options_request(user=self.user, server=self.server, local=(local.host, local.port),
                               call_id=call_id, branch=u[:16], from_tag=u[16:24], cseq=self._cseq)
        d = defer.Deferred()
        timer = self.clock.callLater(self.timeout_s, self._expire, call_id)
        self._pending[call_id] = (d, timer)
        try:
            self.transport.write(data, target)
        except OSError as e:
            log.warning("keepalive: sending to %s:%s failed: %s", target[0], target[1], e)
        self.sent += 1
        return d

    def _expire(self, call_id: str) -> None:
        entry = self._pending.pop(call_id, None)
        if entry is not None:
            entry[0].callback(NO_ANSWER)

    def datagramReceived(self, data: bytes, addr) -> None:
        """A datagram on the probe's socket: complete the matching probe on a final answer."""
        parsed = parse_response(data)
        if parsed is None:
            return
        status, call_id, to_tag = parsed
        if status < 200 or call_id not in self._pending:
            return
        d, timer = self._pending.pop(call_id)
        if timer.active():
            timer.cancel()
        self.answers += 1
        d.callback(classify(status, to_tag, self.line_tag))

    def stopProtocol(self) -> None:
        """The socket closed: outstanding probes end as NO_ANSWER."""
        for call_id in list(self._pending):
            d, timer = self._pending.pop(call_id)
            if timer.active():
                timer.cancel()
            d.callback(NO_ANSWER)
