"""Text codings, concatenation and delivery receipts (pure)."""
from __future__ import annotations

import pytest

from intake.channels.smpp import coding as C
from intake.channels.smpp import pdu as P


def deliver(data: bytes, esm_class=0, dc=8, tlvs=None):
    """A deliver_sm PDU value with the given user data."""
    return P.PDU(P.DELIVER_SM, 1, params={"esm_class": esm_class, "data_coding": dc, "short_message": data},
                 tlvs=tlvs or {})


def test_gsm_7bit_round_trips_with_the_extension_table():
    """Basic characters, escaped extension characters (€, braces) and the Latin letters of GSM."""
    text = "Hello {world} 5€ @£ ÄÖ ñ"
    raw = C.gsm_encode(text)
    assert raw[:5] == b"Hello" and b"\x1b\x65" in raw and b"\x1b\x28" in raw
    assert C.gsm_decode(raw) == text
    assert C.gsm_encode("中文") is None


@pytest.mark.parametrize("raw, dc, text", [
    ("城市管理".encode("utf-16-be"), 8, "城市管理"),
    ("Café".encode("latin-1"), 3, "Café"),
    (b"ABC", 1, "ABC"),
    ("😀".encode("utf-16-be"), 8, "😀"),
    (C.gsm_encode("abc"), 0xF0, "abc"),
])
def test_declared_codings_decode(raw, dc, text):
    """UCS-2 (with surrogate pairs), Latin-1, IA5 and GSM in the message-class group decode."""
    assert C.decode_text(raw, dc) == text


@pytest.mark.parametrize("raw, dc, words", [
    (b"\x4e\x2d\x65", 8, "odd number"),
    (b"\xd8\x3d\x00\x41", 8, "invalid code unit"),
    (b"\x80abc", 0, "not a septet"),
    (b"ab\x1b", 0, "escape at the end"),
    (b"\x01\x02", 4, "data_coding 0x04"),
    (b"\xff", 1, "not ASCII"),
])
def test_undecodable_user_data_names_the_coding_and_the_problem(raw, dc, words):
    """Bad user data raises UndecodableText with a message that says what was wrong."""
    with pytest.raises(C.UndecodableText, match=words):
        C.decode_text(raw, dc)


def test_concatenation_is_read_from_8_and_16_bit_udh_and_from_sar_parameters():
    """IE 0x00 (8-bit ref), IE 0x08 (16-bit ref) and sar_ TLVs give ref, total and seq."""
    body = "一二".encode("utf-16-be")
    assert C.message_parts(deliver(bytes([5, 0, 3, 9, 3, 2]) + body, esm_class=0x40)) == C.MessagePart(body, 9, 3, 2)
    assert C.message_parts(deliver(bytes([6, 8, 4, 1, 2, 2, 1]) + body, esm_class=0x40)) == C.MessagePart(body, 258, 2, 1)
    sar = {P.TLV_SAR_MSG_REF_NUM: b"\x01\x00", P.TLV_SAR_TOTAL_SEGMENTS: b"\x02", P.TLV_SAR_SEGMENT_SEQNUM: b"\x02"}
    assert C.message_parts(deliver(body, tlvs=sar)) == C.MessagePart(body, 256, 2, 2)
    assert C.message_parts(deliver(body)) == C.MessagePart(body)
    payload = {P.TLV_MESSAGE_PAYLOAD: "长".encode("utf-16-be") * 200}
    assert len(C.message_parts(deliver(b"", tlvs=payload)).data) == 400
    with pytest.raises(C.UndecodableText, match="UDH length"):
        C.message_parts(deliver(bytes([9, 0, 3]), esm_class=0x40))
    with pytest.raises(C.UndecodableText, match="out of range"):
        C.message_parts(deliver(bytes([5, 0, 3, 9, 2, 3]) + body, esm_class=0x40))


def test_chinese_goes_out_as_ucs2_split_in_67_character_parts_with_a_udh():
    """70 characters fit one SMS; 150 take three parts of 67+67+16 with ref, total and seq."""
    assert [p.data for p in C.encode_parts("城" * 70, 1)] == ["城".encode("utf-16-be") * 70]
    parts = C.encode_parts("城" * 150, 0x1FF)
    assert [(p.seq, p.total, p.data_coding, p.esm_class) for p in parts] == [(1, 3, 8, 0x40), (2, 3, 8, 0x40), (3, 3, 8, 0x40)]
    assert [p.data[:6] for p in parts] == [bytes([5, 0, 3, 0xFF, 3, i]) for i in (1, 2, 3)]
    assert [len(p.data) - 6 for p in parts] == [134, 134, 32]
    joined = b"".join(p.data[6:] for p in parts)
    assert C.decode_text(joined, 8) == "城" * 150


def test_splitting_never_cuts_a_surrogate_pair_or_an_escape_and_respects_max_parts():
    """A character outside the BMP and a GSM escape stay whole; too long a text is refused."""
    parts = C.encode_parts("城" * 66 + "😀" + "城" * 10, 1)
    assert all(C.decode_text(p.data[6:], 8) for p in parts)
    gsm = C.encode_parts("a" * 152 + "€" + "b" * 10, 2)
    assert gsm[0].data_coding == 0 and gsm[0].data[6:].endswith(b"a") and gsm[1].data[6:8] == b"\x1b\x65"
    assert len(C.encode_parts("a" * 160, 1)) == 1 and len(C.encode_parts("a" * 161, 1)) == 2
    with pytest.raises(ValueError, match="more than the configured 2"):
        C.encode_parts("城" * 300, 1, max_parts=2)


def test_delivery_receipts_are_read_from_tlvs_or_text():
    """receipted_message_id and message_state win; else the id:/stat: text; neither is an error."""
    text = b"id:sim7 sub:001 dlvrd:001 submit date:2611270900 done date:2611270901 stat:DELIVRD err:000 text:"
    r = C.parse_receipt(deliver(text, esm_class=4, dc=0))
    assert (r.message_id, r.state, r.error) == ("sim7", "DELIVRD", "000")
    tl = deliver(b"", tlvs={P.TLV_RECEIPTED_MESSAGE_ID: b"abc\x00", P.TLV_MESSAGE_STATE: b"\x05"})
    assert C.is_delivery_receipt(tl) and C.parse_receipt(tl).state == "UNDELIV"
    assert not C.is_delivery_receipt(deliver(b"hi"))
    with pytest.raises(C.UndecodableText, match="without message id"):
        C.parse_receipt(deliver(b"stat:DELIVRD", esm_class=4))
