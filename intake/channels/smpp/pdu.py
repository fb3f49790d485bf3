"""SMPP 3.4 protocol data units: bytes on the wire <-> `PDU` values. Pure: no I/O, no Twisted.

Only the operations an ESME of the hotline needs are described (bind in three modes, unbind,
enquire_link, submit_sm, deliver_sm, generic_nack and their responses); any other command decodes
to a PDU with its raw body, so the protocol can answer it with generic_nack instead of failing.
Malformed input raises `PDUError` carrying the SMPP status to answer with and a message naming
the field that was wrong.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Mapping

HEADER = struct.Struct(">IIII")
HEADER_LEN = 16
# The largest frame accepted: a deliver_sm with a full message_payload is far below this; anything
# bigger is a corrupt length field, and reading it would stall the connection.
MAX_PDU_LEN = 70000

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015
RESP = 0x80000000

COMMAND_NAMES = {
    GENERIC_NACK: "generic_nack", BIND_RECEIVER: "bind_receiver", BIND_TRANSMITTER: "bind_transmitter",
    SUBMIT_SM: "submit_sm", DELIVER_SM: "deliver_sm", UNBIND: "unbind", BIND_TRANSCEIVER: "bind_transceiver",
    ENQUIRE_LINK: "enquire_link",
}
for _cid, _name in list(COMMAND_NAMES.items()):
    if _cid != GENERIC_NACK:
        COMMAND_NAMES[_cid | RESP] = _name + "_resp"
COMMAND_IDS = {v: k for k, v in COMMAND_NAMES.items()}
BIND_COMMANDS = {"transceiver": BIND_TRANSCEIVER, "receiver": BIND_RECEIVER, "transmitter": BIND_TRANSMITTER}

# command_status values used here (SMPP 3.4 section 5.1.3).
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
ESME_RUNKNOWNERR = 0xFF
STATUS_NAMES = {
    ESME_ROK: "ESME_ROK", ESME_RINVMSGLEN: "ESME_RINVMSGLEN", ESME_RINVCMDLEN: "ESME_RINVCMDLEN",
    ESME_RINVCMDID: "ESME_RINVCMDID", ESME_RINVBNDSTS: "ESME_RINVBNDSTS", ESME_RALYBND: "ESME_RALYBND",
    ESME_RSYSERR: "ESME_RSYSERR", ESME_RINVSRCADR: "ESME_RINVSRCADR", ESME_RINVDSTADR: "ESME_RINVDSTADR", ESME_RBINDFAIL: "ESME_RBINDFAIL",
    ESME_RINVPASWD: "ESME_RINVPASWD", ESME_RINVSYSID: "ESME_RINVSYSID", ESME_RMSGQFUL: "ESME_RMSGQFUL",
    ESME_RTHROTTLED: "ESME_RTHROTTLED", ESME_RX_T_APPN: "ESME_RX_T_APPN", ESME_RUNKNOWNERR: "ESME_RUNKNOWNERR",
}
# Statuses after which the same submit may succeed later (the SMSC is busy or briefly failing).
TRANSIENT_STATUSES = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ESME_RX_T_APPN})

# Optional parameters (TLVs) used here.
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_USER_MESSAGE_REFERENCE = 0x0204
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_MESSAGE_STATE = 0x0427
TLV_SC_INTERFACE_VERSION = 0x0210

ESM_UDHI = 0x40
ESM_DELIVERY_RECEIPT = 0x04


def status_name(status: int) -> str:
    """A command_status as its SMPP name (hex for the ones not listed)."""
    return STATUS_NAMES.get(status, f"0x{status:08X}")


class PDUError(Exception):
    """A frame that cannot be decoded; `status` is what to answer with, `sequence` whom."""

    def __init__(self, status: int, message: str, sequence: int = 0, command_id: int | None = None):
        super().__init__(message)
        self.status = status
        self.sequence = sequence
        self.command_id = command_id


@dataclass(frozen=True)
class PDU:
    """One SMPP PDU: header fields, mandatory parameters by name, optional parameters by tag."""

    command_id: int
    sequence: int = 0
    status: int = ESME_ROK
    params: Mapping[str, object] = field(default_factory=dict)
    tlvs: Mapping[int, bytes] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The command's SMPP name (deliver_sm, submit_sm_resp ...)."""
        return COMMAND_NAMES.get(self.command_id, f"command 0x{self.command_id:08X}")

    @property
    def is_response(self) -> bool:
        """True for *_resp and generic_nack."""
        return bool(self.command_id & RESP)

    def get(self, name: str, default=None):
        """A mandatory parameter's value."""
        return self.params.get(name, default)


# Mandatory parameters: (name, kind, max length incl. NUL for C-octet strings). kinds: c = C-octet
# string (decoded as Latin-1 so every byte survives), u8 = one octet, sm = sm_length + short_message.
_BIND = (("system_id", "c", 16), ("password", "c", 9), ("system_type", "c", 13), ("interface_version", "u8", 0),
         ("addr_ton", "u8", 0), ("addr_npi", "u8", 0), ("address_range", "c", 41))
_SM = (("service_type", "c", 6), ("source_addr_ton", "u8", 0), ("source_addr_npi", "u8", 0),
       ("source_addr", "c", 21), ("dest_addr_ton", "u8", 0), ("dest_addr_npi", "u8", 0),
       ("destination_addr", "c", 21), ("esm_class", "u8", 0), ("protocol_id", "u8", 0),
       ("priority_flag", "u8", 0), ("schedule_delivery_time", "c", 17), ("validity_period", "c", 17),
       ("registered_delivery", "u8", 0), ("replace_if_present_flag", "u8", 0), ("data_coding", "u8", 0),
       ("sm_default_msg_id", "u8", 0), ("short_message", "sm", 254))
_RESP_ID = (("message_id", "c", 65),)
_SYSTEM_ID = (("system_id", "c", 16),)
BODIES = {
    BIND_RECEIVER: _BIND, BIND_TRANSMITTER: _BIND, BIND_TRANSCEIVER: _BIND,
    BIND_RECEIVER | RESP: _SYSTEM_ID, BIND_TRANSMITTER | RESP: _SYSTEM_ID, BIND_TRANSCEIVER | RESP: _SYSTEM_ID,
    SUBMIT_SM: _SM, DELIVER_SM: _SM, SUBMIT_SM | RESP: _RESP_ID, DELIVER_SM | RESP: _RESP_ID,
    UNBIND: (), UNBIND | RESP: (), ENQUIRE_LINK: (), ENQUIRE_LINK | RESP: (), GENERIC_NACK: (),
}
# Commands whose body may have optional parameters after the mandatory ones.
_WITH_TLVS = {SUBMIT_SM, DELIVER_SM, BIND_RECEIVER | RESP, BIND_TRANSMITTER | RESP, BIND_TRANSCEIVER | RESP}
_DEFAULTS = {"c": "", "u8": 0, "sm": b""}


def encode(pdu: PDU) -> bytes:
    """The PDU as one frame; ValueError naming the parameter when a value does not fit."""
    body = bytearray()
    layout = BODIES.get(pdu.command_id)
    if layout is None:
        raise ValueError(f"cannot encode {pdu.name}: not an operation this client sends")
    unknown = set(pdu.params) - {n for n, _, _ in layout}
    if unknown:
        raise ValueError(f"{pdu.name}: unknown parameter(s) {', '.join(sorted(unknown))}")
    # A response with an error status carries no body (SMPP 3.4 section 3.3).
    if not (pdu.is_response and pdu.status != ESME_ROK and pdu.command_id in (BIND_RECEIVER | RESP, BIND_TRANSMITTER | RESP, BIND_TRANSCEIVER | RESP)):
        for name, kind, limit in layout:
            value = pdu.params.get(name, _DEFAULTS[kind])
            if kind == "c":
                raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
                if b"\x00" in raw or len(raw) + 1 > limit:
                    raise ValueError(f"{pdu.name}.{name}: at most {limit - 1} octets without NUL, got {len(raw)}")
                body += raw + b"\x00"
            elif kind == "u8":
                if not isinstance(value, int) or not 0 <= value <= 255:
                    raise ValueError(f"{pdu.name}.{name}: one octet (0-255), got {value!r}")
                body.append(value)
            else:
                raw = bytes(value)
                if len(raw) > limit:
                    raise ValueError(f"{pdu.name}.{name}: at most {limit} octets, got {len(raw)} (use message_payload)")
                body.append(len(raw))
                body += raw
        for tag, value in sorted(pdu.tlvs.items()):
            body += struct.pack(">HH", tag, len(value)) + bytes(value)
    return HEADER.pack(HEADER_LEN + len(body), pdu.command_id, pdu.status, pdu.sequence) + bytes(body)


def frame_length(buffer: bytes) -> int | None:
    """The length of the frame at the start of `buffer` (None until 4 octets are there);
    PDUError when the length cannot be an SMPP PDU (the connection cannot be resynchronised)."""
    if len(buffer) < 4:
        return None
    (length,) = struct.unpack_from(">I", buffer)
    if length < HEADER_LEN or length > MAX_PDU_LEN:
        raise PDUError(ESME_RINVCMDLEN, f"command_length {length} is outside {HEADER_LEN}..{MAX_PDU_LEN}")
    return length


def decode(frame: bytes) -> PDU:
    """One frame (exactly command_length octets) as a PDU; PDUError naming what is wrong."""
    if len(frame) < HEADER_LEN:
        raise PDUError(ESME_RINVCMDLEN, f"a PDU has a 16-octet header, got {len(frame)} octets")
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PDUError(ESME_RINVCMDLEN, f"command_length {length} but the frame has {len(frame)} octets", sequence, command_id)
    layout = BODIES.get(command_id)
    if layout is None:
        # Unknown operations are kept whole so the protocol can nack them by sequence.
        return PDU(command_id, sequence, status, {"body": frame[HEADER_LEN:]})
    params: dict = {}
    pos = HEADER_LEN
    name_of = COMMAND_NAMES[command_id]
    if pos == len(frame) and command_id & RESP:
        # An error response (and some SMSCs' OK responses) has an empty body.
        return PDU(command_id, sequence, status, {})
    for name, kind, limit in layout:
        if kind == "c":
            end = frame.find(b"\x00", pos, pos + limit)
            if end < 0:
                raise PDUError(ESME_RINVCMDLEN if len(frame) - pos < limit else _param_status(name),
                               f"{name_of}.{name}: no NUL terminator within {limit} octets", sequence, command_id)
            params[name] = frame[pos:end].decode("latin-1")
            pos = end + 1
        elif kind == "u8":
            if pos >= len(frame):
                raise PDUError(ESME_RINVCMDLEN, f"{name_of}.{name}: the PDU ends before this field", sequence, command_id)
            params[name] = frame[pos]
            pos += 1
        else:
            if pos >= len(frame):
                raise PDUError(ESME_RINVCMDLEN, f"{name_of}.sm_length: the PDU ends before this field", sequence, command_id)
            n = frame[pos]
            if pos + 1 + n > len(frame):
                raise PDUError(ESME_RINVMSGLEN, f"{name_of}.sm_length {n} runs past the end of the PDU", sequence, command_id)
            params[name] = bytes(frame[pos + 1:pos + 1 + n])
            pos += 1 + n
    tlvs: dict[int, bytes] = {}
    if pos < len(frame):
        if command_id not in _WITH_TLVS:
            raise PDUError(ESME_RINVCMDLEN, f"{name_of}: {len(frame) - pos} octets after the last parameter", sequence, command_id)
        while pos < len(frame):
            if pos + 4 > len(frame):
                raise PDUError(ESME_RINVCMDLEN, f"{name_of}: truncated optional parameter header", sequence, command_id)
            tag, n = struct.unpack_from(">HH", frame, pos)
            if pos + 4 + n > len(frame):
                raise PDUError(ESME_RINVCMDLEN, f"{name_of}: optional parameter 0x{tag:04X} of {n} octets runs past the end",
                               sequence, command_id)
            tlvs[tag] = bytes(frame[pos + 4:pos + 4 + n])
            pos += 4 + n
    return PDU(command_id, sequence, status, params, tlvs)


def _param_status(name: str) -> int:
    return {"source_addr": ESME_RINVSRCADR, "destination_addr": ESME_RINVDSTADR}.get(name, ESME_RINVCMDLEN)


def response_to(request: PDU, status: int = ESME_ROK, **params) -> PDU:
    """The response PDU for a request (same sequence number)."""
    return PDU(request.command_id | RESP, request.sequence, status, params)


def tlv_int(pdu: PDU, tag: int) -> int | None:
    """An integer optional parameter (big-endian), or None when absent or empty."""
    raw = pdu.tlvs.get(tag)
    if not raw:
        return None
    return int.from_bytes(raw, "big")


def tlv_cstring(pdu: PDU, tag: int) -> str | None:
    """A C-octet string optional parameter without its NUL, or None."""
    raw = pdu.tlvs.get(tag)
    if raw is None:
        return None
    return raw.split(b"\x00", 1)[0].decode("latin-1")
