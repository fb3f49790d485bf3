"""Text in SMS: data_coding, concatenation and delivery receipts. Pure functions, no I/O.

Incoming: `message_parts(pdu)` reads a deliver_sm's concatenation (a UDH with IE 0x00 or 0x08, or
the sar_ optional parameters) and its user data; `decode_text(data, data_coding)` turns the joined
user data into text or raises `UndecodableText` naming the coding and the offending octets.
Outgoing: `encode_parts(text, max_parts)` picks GSM 7-bit when every character has a septet,
UCS-2 otherwise (Chinese), and splits into concatenated parts with a UDH.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from intake.channels.smpp import pdu as P

# GSM 03.38 default alphabet, one character per septet (0x1B is the escape to the extension table).
GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
                 0x40: "|", 0x65: "€"}
_GSM_ENCODE = {ch: bytes([i]) for i, ch in enumerate(GSM_BASIC) if i != 0x1B}
_GSM_ENCODE.update({ch: bytes([0x1B, code]) for code, ch in GSM_EXTENSION.items()})
assert len(GSM_BASIC) == 128

DC_DEFAULT, DC_IA5, DC_LATIN1, DC_UCS2 = 0x00, 0x01, 0x03, 0x08
# Octets of user data in one SMS, and what a concatenation header (UDH 05 00 03 ref n i) takes.
SMS_OCTETS = 140
UDH_CONCAT_LEN = 6


class UndecodableText(ValueError):
    """User data that is not text in its declared coding (kept raw with this error)."""


def gsm_decode(data: bytes) -> str:
    """GSM 7-bit default alphabet, unpacked (one septet per octet, as SMPP carries it)."""
    out = []
    i = 0
    while i < len(data):
        b = data[i]
        if b > 0x7F:
            raise UndecodableText(f"GSM 7-bit: octet 0x{b:02X} at {i} is not a septet")
        if b == 0x1B:
            if i + 1 >= len(data):
                raise UndecodableText("GSM 7-bit: escape at the end of the message")
            nxt = data[i + 1]
            ch = GSM_EXTENSION.get(nxt)
            if ch is None:
                raise UndecodableText(f"GSM 7-bit: escape followed by 0x{nxt:02X}, not in the extension table")
            out.append(ch)
            i += 2
            continue
        out.append(GSM_BASIC[b])
        i += 1
    return "".join(out)


def gsm_encode(text: str) -> bytes | None:
    """The text in GSM 7-bit unpacked septets, or None when a character has no septet."""
    out = bytearray()
    for ch in text:
        code = _GSM_ENCODE.get(ch)
        if code is None:
            return None
        out += code
    return bytes(out)


def decode_text(data: bytes, data_coding: int) -> str:
    """User data in its data_coding as text; UndecodableText naming the coding and the problem."""
    dc = data_coding
    if 0xF0 <= dc <= 0xFF:  # data coding / message class group: bit 2 chooses 8-bit data over GSM
        dc = DC_DEFAULT if not dc & 0x04 else 0x04
    if dc == DC_DEFAULT:
        return gsm_decode(data)
    if dc == DC_IA5:
        try:
            return data.decode("ascii")
        except UnicodeDecodeError as e:
            raise UndecodableText(f"IA5 (data_coding 1): octet 0x{data[e.start]:02X} at {e.start} is not ASCII") from None
    if dc == DC_LATIN1:
        return data.decode("latin-1")
    if dc == DC_UCS2:
        if len(data) % 2:
            raise UndecodableText(f"UCS-2 (data_coding 8): odd number of octets ({len(data)})")
        try:
            return data.decode("utf-16-be")
        except UnicodeDecodeError as e:
            raise UndecodableText(f"UCS-2 (data_coding 8): invalid code unit at octet {e.start}") from None
    raise UndecodableText(f"data_coding 0x{data_coding:02X} is not text this service reads "
                          f"(GSM 7-bit 0, IA5 1, Latin-1 3, UCS-2 8)")


@dataclass(frozen=True)
class MessagePart:
    """One PDU's share of a message: its user data (without the UDH) and where it belongs."""

    data: bytes
    ref: int | None = None     # concatenation reference (None: a whole message)
    total: int = 1
    seq: int = 1


def message_parts(pdu: P.PDU) -> MessagePart:
    """The user data of a deliver_sm and its place in a concatenated message (UDH or sar_)."""
    data = pdu.tlvs.get(P.TLV_MESSAGE_PAYLOAD) or bytes(pdu.get("short_message") or b"")
    ref = total = seq = None
    if pdu.get("esm_class", 0) & P.ESM_UDHI and data:
        udhl = data[0]
        if 1 + udhl > len(data):
            raise UndecodableText(f"UDH length {udhl} runs past the user data ({len(data)} octets)")
        udh, data = data[1:1 + udhl], data[1 + udhl:]
        i = 0
        while i + 2 <= len(udh):
            iei, n = udh[i], udh[i + 1]
            v = udh[i + 2:i + 2 + n]
            if iei == 0x00 and n == 3:
                ref, total, seq = v[0], v[1], v[2]
            elif iei == 0x08 and n == 4:
                ref, total, seq = (v[0] << 8) | v[1], v[2], v[3]
            i += 2 + n
    if ref is None and P.TLV_SAR_MSG_REF_NUM in pdu.tlvs:
        ref = P.tlv_int(pdu, P.TLV_SAR_MSG_REF_NUM)
        total = P.tlv_int(pdu, P.TLV_SAR_TOTAL_SEGMENTS) or 1
        seq = P.tlv_int(pdu, P.TLV_SAR_SEGMENT_SEQNUM) or 1
    if ref is None or not total or total <= 1:
        return MessagePart(data)
    if not 1 <= seq <= total:
        raise UndecodableText(f"concatenation part {seq} of {total} is out of range")
    return MessagePart(data, ref, total, seq)


@dataclass(frozen=True)
class OutgoingPart:
    """One submit_sm's share of an outgoing text."""

    data: bytes        # short_message, UDH included when part of several
    data_coding: int
    esm_class: int
    seq: int
    total: int


def encode_parts(text: str, ref: int, max_parts: int = 8) -> list[OutgoingPart]:
    """The text as submit_sm parts: GSM 7-bit when possible, else UCS-2; a UDH with `ref` (0-255)
    when it needs more than one SMS. ValueError when it would need more than `max_parts`."""
    gsm = gsm_encode(text)
    if gsm is not None:
        units = _gsm_units(text)
        single, per_part, dc = 160, 153, DC_DEFAULT
    else:
        units = _ucs2_units(text)
        single, per_part, dc = SMS_OCTETS, SMS_OCTETS - UDH_CONCAT_LEN, DC_UCS2
    size = sum(len(u) for u in units)
    if size <= single:
        return [OutgoingPart(b"".join(units), dc, 0, 1, 1)]
    chunks: list[bytes] = []
    cur = bytearray()
    for u in units:  # never split an escape sequence or a surrogate pair across parts
        if len(cur) + len(u) > per_part:
            chunks.append(bytes(cur))
            cur = bytearray()
        cur += u
    if cur:
        chunks.append(bytes(cur))
    if len(chunks) > max_parts:
        raise ValueError(f"text needs {len(chunks)} SMS parts, more than the configured {max_parts}")
    n = len(chunks)
    return [OutgoingPart(bytes([5, 0, 3, ref & 0xFF, n, i + 1]) + c, dc, P.ESM_UDHI, i + 1, n)
            for i, c in enumerate(chunks)]


def _gsm_units(text: str) -> list[bytes]:
    return [_GSM_ENCODE[ch] for ch in text]


def _ucs2_units(text: str) -> list[bytes]:
    # Characters beyond the BMP become surrogate pairs: one unit of 4 octets, kept together.
    return [ch.encode("utf-16-be") for ch in text]


# Delivery receipt states: SMPP message_state values and the receipt text's stat: words.
MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
                  7: "UNKNOWN", 8: "REJECTD"}
FINAL_OK = {"DELIVRD"}
FINAL_FAILED = {"EXPIRED", "DELETED", "UNDELIV", "REJECTD", "UNKNOWN"}
_DLR_ID = re.compile(r"\bid:(\S+)", re.I)
_DLR_STAT = re.compile(r"\bstat:(\w+)", re.I)
_DLR_ERR = re.compile(r"\berr:(\w+)", re.I)


@dataclass(frozen=True)
class DeliveryReceipt:
    """What an SMSC's delivery receipt says about one submitted message."""

    message_id: str
    state: str          # DELIVRD, UNDELIV, ...
    error: str | None = None


def is_delivery_receipt(pdu: P.PDU) -> bool:
    """True when the deliver_sm is a delivery receipt, not a citizen's message."""
    return bool(pdu.get("esm_class", 0) & P.ESM_DELIVERY_RECEIPT) or P.TLV_RECEIPTED_MESSAGE_ID in pdu.tlvs


def parse_receipt(pdu: P.PDU) -> DeliveryReceipt:
    """The receipt's message id and state (TLVs first, then the 'id:... stat:...' text);
    UndecodableText when neither names them."""
    text = bytes(pdu.get("short_message") or b"").decode("latin-1")
    mid = P.tlv_cstring(pdu, P.TLV_RECEIPTED_MESSAGE_ID)
    if not mid:
        m = _DLR_ID.search(text)
        mid = m.group(1) if m else None
    state_no = P.tlv_int(pdu, P.TLV_MESSAGE_STATE)
    state = MESSAGE_STATES.get(state_no) if state_no is not None else None
    if state is None:
        m = _DLR_STAT.search(text)
        state = m.group(1).upper() if m else None
    if not mid or not state:
        raise UndecodableText(f"delivery receipt without {'message id' if not mid else 'state'}: {text[:80]!r}")
    err = _DLR_ERR.search(text)
    return DeliveryReceipt(mid, state, err.group(1) if err else None)
