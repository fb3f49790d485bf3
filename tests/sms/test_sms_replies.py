"""Reading what a citizen's SMS asks for (pure)."""
from __future__ import annotations

import pytest

from intake.channels.smpp.replies import Intent, intent_of


@pytest.mark.parametrize("text, intent", [
    ("查询 2026000123", Intent("query", number="2026000123")),
    ("查询2026000123", Intent("query", number="2026000123")),
    ("查询：２０２６０００１２３", Intent("query", number="2026000123")),
    ("2026000123", Intent("query", number="2026000123")),
    (" 2026000123。", Intent("query", number="2026000123")),
    ("1", Intent("survey", answer="satisfied")),
    ("2", Intent("survey", answer="basically_satisfied")),
    ("３", Intent("survey", answer="dissatisfied")),
    ("1 满意", Intent("survey", answer="satisfied")),
    ("基本满意", Intent("survey", answer="basically_satisfied")),
    ("不满意", Intent("survey", answer="dissatisfied")),
    ("1 不满意", Intent("survey", answer="dissatisfied")),
    ("", Intent("help")),
    ("查询", Intent("help")),
    ("华山路1号门口井盖丢了", Intent("report")),
    ("我对处理结果不满意，垃圾还在", Intent("report")),
    ("12345", Intent("report")),
])
def test_intents(text, intent):
    """Queries (with or without the word, full-width digits), survey answers as digits or words,
    help for nothing to act on, and everything else is a report."""
    assert intent_of(text) == intent
