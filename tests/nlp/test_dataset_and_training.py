"""Corpus split and reproducible training on a small corpus (nlp.dataset, nlp.train)."""
import json

import numpy as np

from nlp.dataset import is_dev, load_corpus


def test_split_is_deterministic_and_about_a_fifth():
    """The dev split depends only on the text: same answer every time, about 20 %."""
    keys = [f"报告{i}" for i in range(5000)]
    share = sum(map(is_dev, keys)) / len(keys)
    assert 0.17 < share < 0.23
    assert [is_dev(k) for k in keys[:100]] == [is_dev(k) for k in keys[:100]]


def test_bad_lines_are_reported_not_fatal(tmp_path):
    """Broken or unknown-code lines are skipped with file:line problems."""
    (tmp_path / "written").mkdir()
    (tmp_path / "written" / "a.jsonl").write_text(
        '{"text": "路灯不亮", "code": "01037"}\nnot json\n{"text": "x", "code": "99999"}\n{"code": "01037"}\n',
        encoding="utf-8")
    examples, problems = load_corpus(tmp_path, matter_codes={"01037"})
    assert len(examples) == 1 and len(problems) == 3
    assert all(p.startswith("written/a.jsonl:") for p in problems)


def _small_corpus(tmp_path):
    texts = {
        "01037": ["路灯不亮了", "晚上路灯全黑", "路灯坏了好几天", "这条路的灯不亮", "路灯一闪一闪的", "路灯杆上的灯泡坏了"],
        "06042": ["垃圾桶满了", "垃圾箱溢出来了", "垃圾站满了没人清", "垃圾桶塞满了", "桶里垃圾满出来", "垃圾房满溢"],
        "09006": ["有人占道摆摊", "路边摆摊卖菜", "小贩占道经营", "马路上摆地摊", "占道卖水果", "人行道上摆摊"],
    }
    (tmp_path / "written").mkdir()
    with open(tmp_path / "written" / "x.jsonl", "w", encoding="utf-8") as f:
        for c, ts in texts.items():
            for t in ts:
                f.write(json.dumps({"text": t, "code": c, "style": "sms"}, ensure_ascii=False) + "\n")
    with open(tmp_path / "out_of_scope.jsonl", "w", encoding="utf-8") as f:
        for t in ["老板拖欠工资", "社保怎么交", "孩子上学问题", "邻居吵架", "物业费太贵", "医保报销"]:
            f.write(json.dumps({"text": t, "code": None, "out_of_scope": True, "agency": "labour"}, ensure_ascii=False) + "\n")
    return tmp_path


def test_training_is_reproducible(tmp_path, nlp_setup):
    """Same corpus, parameters and seed: same version and same weights; another seed: another version."""
    from nlp.train import train_model
    corpus = _small_corpus(tmp_path)
    a = train_model(nlp_setup.taxonomy, (), corpus_dir=corpus, seed=1).model
    b = train_model(nlp_setup.taxonomy, (), corpus_dir=corpus, seed=1).model
    c = train_model(nlp_setup.taxonomy, (), corpus_dir=corpus, seed=2).model
    assert a.version == b.version != c.version
    assert np.array_equal(a.W, b.W)
    a.save(tmp_path / "m.pkl")
    from nlp.classifier import MatterModel
    assert MatterModel.load(tmp_path / "m.pkl").version == a.version
