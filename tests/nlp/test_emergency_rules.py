"""The emergency cue rules (nlp.emergency): facts of danger fire, fears and past events do not."""
import pytest

from nlp.emergency import emergency_cues
from nlp.text import normalise


@pytest.mark.parametrize("text,reason", [
    ("喂 快来 菜场门口一股很大的煤气味", "gas smell or leak"),
    ("马路中间塌了一个大坑 路面塌陷了", "road collapse"),
    ("有个老人掉进井里了 井盖没了", "person fell in"),
    ("自来水管爆了 整条马路都淹了", "burst main flooding"),
    ("电线断了掉在地上 还在冒火花", "live line down"),
    ("一棵大树倒在马路上 砸到一辆车", "tree fallen on road"),
    ("天桥电梯困了人了 里面有老人", "injury or trapped"),
    ("河边垃圾堆被人点燃了 火势蔓延到旁边的枯草", "fire or explosion"),
    ("厂区后面的山体滑坡了 土石冲到路面上 车过不去", "road collapse"),
    ("马路裂开往下沉 已经塌了一半了", "road collapse"),
    ("桥洞下面有个人倒在地上 昏迷不醒 叫他没反应", "injury or trapped"),
    ("头顶上的线掉下来了 横在马路中间 电动车过不去", "fallen across the road"),
])
def test_danger_now_fires(text, reason):
    """Each kind of danger the brief names is recognised, with its reason."""
    assert reason in emergency_cues(normalise(text).text)


@pytest.mark.parametrize("text", [
    "空地上堆了很多废轮胎 担心起火",
    "灯箱电线外露 有漏电风险 免得有人触电",
    "工地围挡倒了 压在车上 无人员受伤",
    "井盖有点松 踩上去会动",
    "行道树有点歪 怕以后刮台风倒下来砸到人",
    "回收箱被人点燃 火已经被扑灭了 箱子烧坏了",
    "有人在焚烧垃圾 火势较小 无人员被困",
    "路边烧烤 现场有明火",
    "河边护坡的砖塌了一片 草也冲没了",
])
def test_fears_and_near_misses_do_not_fire(text):
    """A feared danger, a harmless incident or a worn asset is not an emergency by rule."""
    assert emergency_cues(normalise(text).text) == ()
