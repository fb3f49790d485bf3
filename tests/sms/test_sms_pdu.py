"""The SMPP 3.4 PDU codec against frames built by hand from the specification."""
from __future__ import annotations

import struct

import pytest

from intake.channels.smpp import pdu as P


def frame(command_id, status, seq, body=b""):
    """A frame built by hand: header (length, id, status, sequence) and body."""
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def test_bind_transceiver_encodes_exactly_as_the_specification_lays_it_out():
    """system_id, password, system_type as C-octet strings, then version 0x34, ton, npi, range."""
    pdu = P.PDU(P.BIND_TRANSCEIVER, 7, params={"system_id": "hotline", "password": "secret", "system_type": "",
                                               "interface_version": 0x34, "addr_ton": 0, "addr_npi": 0,
                                               "address_range": ""})
    body = b"hotline\x00secret\x00\x00\x34\x00\x00\x00"
    assert P.encode(pdu) == frame(0x00000009, 0, 7, body)
    assert P.decode(P.encode(pdu)) == pdu


def test_deliver_sm_with_optional_parameters_decodes_from_hand_built_bytes():
    """Every mandatory field in order, sm_length + short_message, then sar_ TLVs."""
    body = (b"\x00" + b"\x01\x01" + b"13912345678\x00" + b"\x00\x00" + b"12345\x00" + b"\x00\x00\x00"
            + b"\x00" + b"\x00" + b"\x00\x00\x08\x00" + b"\x04" + "你好".encode("utf-16-be")
            + struct.pack(">HHH", 0x020C, 2, 300) + struct.pack(">HHB", 0x020E, 1, 2) + struct.pack(">HHB", 0x020F, 1, 1))
    pdu = P.decode(frame(0x00000005, 0, 42, body))
    assert pdu.name == "deliver_sm" and pdu.sequence == 42
    assert pdu.get("source_addr") == "13912345678" and pdu.get("destination_addr") == "12345"
    assert pdu.get("source_addr_ton") == 1 and pdu.get("data_coding") == 8
    assert pdu.get("short_message") == "你好".encode("utf-16-be")
    assert P.tlv_int(pdu, P.TLV_SAR_MSG_REF_NUM) == 300 and P.tlv_int(pdu, P.TLV_SAR_TOTAL_SEGMENTS) == 2
    assert P.encode(pdu) == frame(0x00000005, 0, 42, body)


@pytest.mark.parametrize("command_id", [P.ENQUIRE_LINK, P.ENQUIRE_LINK | P.RESP, P.UNBIND, P.UNBIND | P.RESP, P.GENERIC_NACK])
def test_header_only_operations_round_trip(command_id):
    """enquire_link, unbind, their responses and generic_nack are a bare header."""
    pdu = P.PDU(command_id, 9, P.ESME_RINVCMDID if command_id == P.GENERIC_NACK else 0)
    assert len(P.encode(pdu)) == 16
    assert P.decode(P.encode(pdu)) == pdu


def test_responses_carry_message_id_and_error_responses_may_be_empty():
    """submit_sm_resp has the SMSC's message id; a throttled answer with no body still decodes."""
    resp = P.decode(frame(0x80000004, 0, 3, b"abc123\x00"))
    assert resp.get("message_id") == "abc123" and resp.is_response
    empty = P.decode(frame(0x80000004, P.ESME_RTHROTTLED, 4))
    assert empty.status == P.ESME_RTHROTTLED and empty.params == {}
    assert P.status_name(P.ESME_RTHROTTLED) == "ESME_RTHROTTLED" and P.status_name(0x1234) == "0x00001234"


@pytest.mark.parametrize("raw, status, words", [
    (frame(0x00000005, 0, 1, b"\x00\x01\x01" + b"1" * 30), P.ESME_RINVSRCADR, "source_addr"),
    (frame(0x00000005, 0, 1, b"\x00\x01\x01" + b"1" * 10), P.ESME_RINVCMDLEN, "source_addr"),
    (frame(0x00000005, 0, 1, b"\x00\x00\x00139\x00\x00\x0012345\x00" + b"\x00" * 7 + b"\x00\x00\x08\x00\x20ab"), P.ESME_RINVMSGLEN, "sm_length"),
    (frame(0x80000015, 0, 1, b"xx"), P.ESME_RINVCMDLEN, "after the last parameter"),
    (struct.pack(">IIII", 99, 5, 0, 1), P.ESME_RINVCMDLEN, "command_length 99"),
])
def test_malformed_frames_raise_errors_naming_the_field(raw, status, words):
    """Each malformed frame gives the status to answer with and a message naming what is wrong."""
    with pytest.raises(P.PDUError) as e:
        P.decode(raw)
    assert e.value.status == status and words in str(e.value)


def test_frame_length_rejects_impossible_lengths_and_waits_for_more():
    """Fewer than 4 octets: wait; a length below the header or absurdly large: corrupt stream."""
    assert P.frame_length(b"\x00\x00") is None
    assert P.frame_length(struct.pack(">I", 16)) == 16
    for bad in (8, 10 ** 6):
        with pytest.raises(P.PDUError, match="command_length"):
            P.frame_length(struct.pack(">I", bad))


def test_unknown_operations_decode_for_a_nack_and_values_that_do_not_fit_are_refused():
    """An unknown command id keeps its body (the protocol nacks it); encoding checks sizes."""
    other = P.decode(frame(0x00000103, 0, 5, b"\x01\x02"))
    assert other.sequence == 5 and other.params["body"] == b"\x01\x02"
    with pytest.raises(ValueError, match="system_id"):
        P.encode(P.PDU(P.BIND_TRANSMITTER, 1, params={"system_id": "x" * 16}))
    with pytest.raises(ValueError, match="short_message"):
        P.encode(P.PDU(P.SUBMIT_SM, 1, params={"short_message": b"x" * 255}))
    with pytest.raises(ValueError, match="unknown parameter"):
        P.encode(P.PDU(P.SUBMIT_SM, 1, params={"nonsense": 1}))
