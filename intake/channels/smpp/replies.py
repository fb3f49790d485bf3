"""What a citizen's SMS asks for, and the texts of the answers. Pure: no I/O.

    查询 2026000123 / 查询2026000123 / 2026000123   -> a status query for that case
    1 / 2 / 3, 满意 / 基本满意 / 不满意, "1 满意"        -> an answer to the satisfaction survey
    (empty) / 查询 without a number                 -> the help text
    anything else                                   -> a report for intake
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Full-width digits and spaces are what Chinese phone keyboards often produce.
_FULLWIDTH = str.maketrans("０１２３４５６７８９　：", "0123456789 :")
_QUERY = re.compile(r"^(?:查询|查|cx|CX)\s*[:：]?\s*(\d[\d ]{8,}\d)$")
_NUMBER = re.compile(r"^\d{10}$")
_SURVEY = re.compile(r"^([123])\s*[.、:：]?\s*(满意|基本满意|不满意)?$")
SURVEY_WORDS = {"满意": "satisfied", "基本满意": "basically_satisfied", "不满意": "dissatisfied"}
SURVEY_DIGITS = {"1": "satisfied", "2": "basically_satisfied", "3": "dissatisfied"}
CASE_NUMBER_LEN = 10


@dataclass(frozen=True)
class Intent:
    """What a text asks for: kind report | query | survey | help, with the case number or answer."""

    kind: str
    number: str | None = None
    answer: str | None = None


def intent_of(text: str) -> Intent:
    """Read a citizen's text (already decoded) for a query, a survey answer or a report."""
    t = text.translate(_FULLWIDTH).strip().rstrip("。.!！")
    if not t:
        return Intent("help")
    m = _QUERY.match(t)
    if m:
        number = m.group(1).replace(" ", "")
        return Intent("query", number=number)
    if t in ("查询", "查", "cx", "CX"):
        return Intent("help")
    if _NUMBER.match(t.replace(" ", "")) and len(t) <= 14:
        return Intent("query", number=t.replace(" ", ""))
    m = _SURVEY.match(t)
    if m:
        digit, word = m.group(1), m.group(2)
        # "1 不满意" contradicts itself: the word is what the citizen wrote out, so it wins.
        return Intent("survey", answer=SURVEY_WORDS[word] if word else SURVEY_DIGITS[digit])
    if t in SURVEY_WORDS:
        return Intent("survey", answer=SURVEY_WORDS[t])
    return Intent("report")
