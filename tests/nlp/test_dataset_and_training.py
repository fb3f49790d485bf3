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


def test_major_class_scorer_is_shared_by_the_matters_of_a_class(tmp_path, nlp_setup):
    """The major-class scorer adds one term per class: the same to both lamp matters, another to the rest.

    Trained with and without it (same seed), the difference of the weights must be one column per
    major class (01 for 01037 路灯 and 01038 地灯, 06 for 06042, 09 for 09006, OUT): equal inside a class,
    different between classes, so a class's examples lift all of its matters together.
    """
    import dataclasses

    from nlp.train import DEFAULT_PARAMS, train_model
    corpus = _small_corpus(tmp_path)
    with open(corpus / "written" / "x.jsonl", "a", encoding="utf-8") as f:
        for t in ["广场的地灯不亮了", "地上埋的灯罩碎了", "地灯玻璃被踩裂", "草坪里的地灯进水了", "地埋灯全黑", "步道上的地灯坏了"]:
            f.write(json.dumps({"text": t, "code": "01038", "style": "sms"}, ensure_ascii=False) + "\n")
    on = train_model(nlp_setup.taxonomy, (), corpus_dir=corpus, seed=1,
                     params=dataclasses.replace(DEFAULT_PARAMS, major_weight=1.0)).model
    off = train_model(nlp_setup.taxonomy, (), corpus_dir=corpus, seed=1,
                      params=dataclasses.replace(DEFAULT_PARAMS, major_weight=0.0)).model
    assert on.version != off.version
    labels = list(on.labels)
    diff = on.W - off.W
    col = {l: diff[:, labels.index(l)] for l in ("01037", "01038", "06042", "09006", "OUT")}
    assert np.allclose(col["01037"], col["01038"])
    assert np.abs(col["01037"]).max() > 0
    assert not np.allclose(col["01037"], col["06042"])
    assert not np.allclose(col["06042"], col["09006"])
    assert not np.allclose(col["09006"], col["OUT"])
