"""Emergency cues: danger to life or property now (国办发〔2022〕12号: such reports go to 110/119/120
or the emergency command system at once, not through the normal dispatch time limits).

The trained model scores every text; these rules catch the unmistakable cases the model might
miss (recall comes first: a false alarm costs an operator's glance, a miss can cost a life).
Each rule is a pattern over the normalised, homophone-corrected text and names its reason. Near
misses (a loose cover, a leaning tree) match none of them.
"""
from __future__ import annotations

import re

__all__ = ["emergency_cues"]

# (reason, pattern). Patterns look for an event, not a topic: 燃气 alone is a matter (a gas
# cover), 燃气味/漏气 is an emergency.
_RULES = (
    ("gas smell or leak", re.compile(r"(燃气|煤气|天然气|液化气)(味|泄漏|泄露|漏了|在漏|外泄|喷)|(闻到|一股|很大|浓浓的|刺鼻的)(一股)?(燃气|煤气|天然气|臭鸡蛋)味?|漏气(了|很|严重|声)|嘶嘶(的)?(漏气|冒气)")),
    ("road collapse", re.compile(r"(路面|道路|马路|地面|人行道)[^ ]{0,6}(塌陷|塌了|塌下去|陷下去|坍塌|塌方|陷了个)|(塌陷|坍塌)[^ ]{0,4}(大坑|深坑|有车|车掉|人掉)|天坑")),
    ("person fell in", re.compile(r"(掉|跌|摔|落|栽)(进|入|到|下)[^ ]{0,4}(井|窨井|下水道|坑|河|池)|(人|小孩|孩子|老人|行人)[^ ]{0,6}(掉下去|掉进去|卡在井|落水)|有人落水")),
    ("burst main flooding", re.compile(r"(水管|自来水管|供水管|主管道|管道|管网)[^ ]{0,4}(爆|破裂|爆裂|爆管)|爆管|(水|自来水)[^ ]{0,4}(喷|涌|冒)[^ ]{0,6}(老高|出来|一米|几米|淹)|(路|马路|道路)[^ ]{0,4}(被)?淹了|水漫[^ ]{0,3}(路|马路)")),
    ("live line down", re.compile(r"(电线|电缆|高压线|电力线|线缆)[^ ]{0,6}(断|掉|垂|落|拖)[^ ]{0,4}(地|路|下来)|(冒火花|打火花|火花直冒|漏电|电弧)|(电线杆|电杆|电力杆)[^ ]{0,4}(倒|断)")),
    ("tree fallen on road", re.compile(r"(树|大树|行道树|树干|树枝)[^ ]{0,4}(倒|倒下|倒伏|断|砸|压)[^ ]{0,6}(路|马路|车|人|道路|横在|挡住|拦住)|(树|大树)[^ ]{0,3}(砸|压)(到|中|住|坏)")),
    ("fire or explosion", re.compile(r"着火|起火|火灾|爆炸|冒烟起火|烧起来了")),
    ("injury or trapped", re.compile(r"(有人|人员|行人|骑车的)[^ ]{0,6}(受伤|被砸|被压|被困|触电|流血)|困在电梯|电梯[^ ]{0,4}(困人|关人|坠)")),
)

# Words that undo a cue: a report that the danger is over or only feared.
_NEGATED = re.compile(r"(没有|不是|并未|未)(漏气|塌陷|燃气味|人掉|着火)|已(修好|处理|恢复)|怕[^ ]{0,4}(塌|倒|掉)|(会不会|万一|可能会|担心)[^ ]{0,6}(塌|倒|掉|漏)")


def emergency_cues(text: str) -> tuple[str, ...]:
    """Reasons why `text` (normalised) describes an emergency; empty when no rule fires."""
    reasons = tuple(reason for reason, rx in _RULES if rx.search(text))
    if reasons and _NEGATED.search(text) and len(reasons) == 1:
        # Only a fear or a past event: leave the decision to the model.
        return ()
    return reasons
