"""Behaviour of the trained analyser: matters, confusable pairs, homophones, emergencies, scope."""
from concurrent.futures import ThreadPoolExecutor

import pytest


def code(analyser, text):
    """The matter code the analyser gives (None when out of scope)."""
    return analyser.analyse(text).classification.code


@pytest.mark.parametrize("text,expected", [
    ("小区门口的垃圾桶满了 垃圾都溢出来了 堆在桶外面好几天没人清运", "06042"),
    ("路边草丛里有人扔了好几袋生活垃圾 附近也没有垃圾桶 臭得很", "06010"),
    ("马路上很脏 到处是落叶和烟头 好几天没有环卫工来扫了", "06012"),
    ("一辆渣土车开过去 一路掉泥土 马路上洒了一长条", "06014"),
    ("水果店把水果摊摆到店门口的人行道上 占了大半个人行道", "09005"),
    ("好几个小贩在马路边上摆摊卖菜 把非机动车道都占了", "09006"),
])
def test_confusable_pairs(nlp_analyser, text, expected):
    """The noted confusable pairs are told apart by what the caller describes."""
    assert code(nlp_analyser, text) == expected


@pytest.mark.parametrize("noisy,clean", [
    ("路边的警盖不见了 一个大洞", "路边的井盖不见了 一个大洞"),
    ("菜场门口有人站道经营 卖菜的摊子摆到马路上", "菜场门口有人占道经营 卖菜的摊子摆到马路上"),
    ("工地上阳尘很大 也不洒水 灰全飘到小区里", "工地上扬尘很大 也不洒水 灰全飘到小区里"),
])
def test_homophones_classify_like_the_right_word(nlp_analyser, noisy, clean):
    """An ASR homophone error does not change the matter code."""
    assert code(nlp_analyser, noisy) == code(nlp_analyser, clean)


def test_spoken_number_and_place(nlp_analyser):
    """A phone transcript with a spoken house number is located and classified."""
    a = nlp_analyser.analyse("喂 那个 薛冶路一千二百八十号门口的路灯不亮了 晚上黑乎乎的")
    assert a.classification.code == "01037"
    assert a.location.street == "薛家镇"
    assert "1280号" in a.normalised_text


@pytest.mark.parametrize("text,codes", [
    ("喂 快来 太湖东路这边好大一股煤气味 燃气井盖那里呲呲的响", {"01011", "01057", "01049"}),
    ("通江中路路面突然塌了一个大坑 一辆车掉进去了", {"06013"}),
    ("快来人 有个小孩掉进下水道井里了 井盖没有了", {"01001", "01002", "01003", "01023", "01024"}),
    ("长江北路自来水管爆了 水喷得老高 整条马路都淹了", {"01001", "01024"}),
    ("电线断了掉在马路上 还在冒火花", {"01028", "01030", "10002"}),
    ("大风把一棵大树刮倒了 横在马路中间 车都过不去", {"04002", "04003"}),
])
def test_emergencies_flagged_with_closest_matter(nlp_analyser, text, codes):
    """Danger now is an emergency, and the report still gets its closest matter code."""
    c = nlp_analyser.analyse(text).classification
    assert c.emergency, c
    assert c.code in codes and not c.out_of_scope


@pytest.mark.parametrize("text", [
    "巢湖路那个井盖有一点点松 踩上去会动 你们有空来看看",
    "河海东路有棵行道树有点歪 现在还好 怕以后刮台风",
])
def test_near_misses_are_not_emergencies(nlp_analyser, text):
    """A loose cover or a leaning tree is a matter, not an emergency."""
    assert not nlp_analyser.analyse(text).classification.emergency


@pytest.mark.parametrize("text,agency", [
    ("老板拖欠我们三个月工资不给 人也找不到了", "labour"),
    ("我的社保断缴了三个月 现在怎么补缴", "social-insurance"),
    ("楼上邻居每天半夜在家里跺脚拖椅子 吵得睡不着", "mediation"),
    ("孩子明年上小学 想问一下学区怎么划分", "education"),
])
def test_out_of_scope_with_agency(nlp_analyser, text, agency):
    """Not city management: no matter code, and the agency it belongs to."""
    c = nlp_analyser.analyse(text).classification
    assert c.out_of_scope and c.code is None
    assert c.agency == agency


def test_inspector_code_is_authoritative(nlp_analyser):
    """An inspector's code wins with confidence 1.0 and no abstention."""
    c = nlp_analyser.analyse("这里有点问题", code_hint="06036").classification
    assert (c.code, c.confidence, c.abstain, c.out_of_scope) == ("06036", 1.0, False, False)


def test_abstains_below_threshold_with_top3(nlp_analyser, nlp_setup, model_path):
    """Under the review threshold the analyser abstains and offers three candidates."""
    from nlp.analyser import ReportAnalyser
    strict = ReportAnalyser.load(model_path, nlp_setup.taxonomy, nlp_setup.places, nlp_setup.agencies, 1.01)
    c = strict.analyse("路边有点乱").classification
    assert c.abstain and len(c.candidates) == 3
    assert c.candidates[0].confidence >= c.candidates[1].confidence >= c.candidates[2].confidence


def test_address_and_street_hint(nlp_analyser):
    """The address text is searched for places; a street hint is used when nothing is named."""
    assert nlp_analyser.analyse("路灯不亮", address="吾悦广场北门").location.street == "薛家镇"
    assert nlp_analyser.analyse("路灯不亮", street_hint="罗溪").location.street == "罗溪镇"


def test_odd_input_does_not_crash(nlp_analyser):
    """Empty or non-text input gives an abstaining result, not an exception."""
    for text in ("", "   ", None, "!!!???", "喂 嗯 那个"):
        c = nlp_analyser.analyse(text).classification
        assert c.abstain and c.confidence == 0.0


def test_thread_safe(nlp_analyser):
    """Concurrent calls give exactly the serial results."""
    texts = ["垃圾桶满了没人清", "有人占道经营", "路灯不亮", "井盖没了", "工地夜间施工太吵", "楼道里贴满小广告"] * 10
    serial = [nlp_analyser.analyse(t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(nlp_analyser.analyse, texts))
    assert parallel == serial
