"""The private jieba tokenizer (nlp.segment)."""
import jieba

from nlp.segment import Segmenter


def test_domain_words_are_units_and_global_jieba_untouched():
    """Domain and place words come out whole; the process-wide jieba dictionary is not changed."""
    s = Segmenter(["薛冶路", "占道经营", "雨水箅子"])
    tokens = s.cut("薛冶路上有人占道经营 雨水箅子堵了")
    assert "薛冶路" in tokens and "占道经营" in tokens and "雨水箅子" in tokens
    jieba.dt.check_initialized()
    assert "薛冶路" not in jieba.dt.FREQ
