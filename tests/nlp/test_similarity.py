"""Text similarity for duplicate detection (nlp.similarity)."""
from nlp.similarity import description_tokens, text_similarity


def test_tokens_drop_fillers_places_and_fix_homophones():
    """Content words only: fillers and stop words go, 警盖 becomes 井盖."""
    toks = description_tokens("喂 那个 就是 门口的警盖没了")
    assert "井盖" in toks
    assert not {"喂", "那个", "就是", "的"} & set(toks)


def test_same_problem_scores_higher_than_different():
    """Two descriptions of one broken cover are closer than a cover and a noisy site."""
    a = "华山路上的井盖没了 一个大洞"
    b = "喂 华山路那个警盖不见了 地上一个洞"
    c = "工地晚上施工 噪音太大 吵得睡不着"
    assert text_similarity(a, b) > text_similarity(a, c)
    assert text_similarity(a, b) > 0.4


def test_range_and_empty():
    """Scores lie in [0, 1]; identical texts score 1, empty text scores 0."""
    t = "垃圾桶满了没人清"
    assert abs(text_similarity(t, t) - 1.0) < 1e-9
    assert text_similarity(t, "") == 0.0
    assert 0.0 <= text_similarity(t, "路灯不亮") <= 1.0
