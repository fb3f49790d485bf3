"""Emergency cues: danger to life or property now (国办发〔2022〕12号: such reports go to 110/119/120
or the emergency command system at once, not through the normal dispatch time limits).

The trained model scores every text; these rules catch the unmistakable cases the model might
miss (recall comes first: a false alarm costs an operator's glance, a miss can cost a life).
Each rule is a pattern over the normalised, homophone-corrected text and names its reason. Near
misses (a loose cover, a leaning tree) match none of them.
"""
from __future__ import annotations

import re

try:  # the regex parser of the standard library (private, hence the fallback: no shortcut)
    import re._constants as _C
    import re._parser as _parser
except ImportError:  # pragma: no cover - other Python versions
    _parser = None

__all__ = ["emergency_cues"]

# (reason, pattern). Patterns look for an event, not a topic: 燃气 alone is a matter (a gas
# cover), 燃气味/漏气 is an emergency.
_RULES = (
    ("gas smell or leak", re.compile(r"(燃气|煤气|天然气|液化气)(味|泄漏|泄露|漏了|在漏|外泄|喷)|(闻到|一股|很大的|浓浓的|刺鼻的|浓烈的?)(一股)?(燃气|煤气|天然气|臭鸡蛋)味?|漏气(了|很|严重|声)|(嘶嘶|呲呲|呼呼)[^ ]{0,4}(漏气|冒气|响)")),
    ("road collapse", re.compile(r"(路面|道路|马路|地面|路)[^ ]{0,4}(塌陷|塌了|塌下去|陷下去|坍塌|塌方|陷了个)|(路面|道路|马路)[^。，]{0,12}(塌了一半|塌下去了|陷下去了)|(边坡|山体|护坡|挡土墙|土坡)[^。]{0,8}(滑塌|坍塌|滑坡|塌方|垮塌)[^。]{0,10}(路面|马路|道路|车道|无法通行|堵住|挡住)|(塌陷|坍塌)[^ ]{0,4}(大坑|深坑|有车|车掉|人掉)|天坑")),
    ("person fell in", re.compile(r"(人|孩|老人|老头|行人|男子|女子|骑车的|外卖员|电动车|他|她)[^ ]{0,8}(掉|跌|摔|落|栽|踩空|卡)(进|入|到|下|在)[^ ]{0,4}(井|窨井|下水道|坑|河|池|洞)|(人|小孩|孩子|老人|行人)[^ ]{0,6}(掉下去|掉进去|卡在井|落水)|有人落水")),
    ("burst main flooding", re.compile(r"(水管|自来水管|供水管|主管道|管道|管网|管子)[^ ]{0,4}(爆|破裂|爆裂|爆管|断了)|爆管|(水|自来水)[^ ]{0,4}(喷|涌|冒)[^ ]{0,6}(老高|出来|一米|几米|淹)|(路|马路|道路)[^ ]{0,4}(被)?淹了|水漫[^ ]{0,3}(路|马路)")),
    ("live line down", re.compile(r"(电线|电缆|高压线|电力线|导线)[^ ]{0,6}(断|掉|垂|落|拖)[^ ]{0,4}(地上|地面|路面|马路|路上|地|人行道)|冒火花|打火花|火花直冒|电弧|(电线杆|电杆|电力杆)[^ ]{0,4}(倒|断)")),
    ("tree fallen on road", re.compile(r"(树|大树|行道树|树干)[^ ]{0,4}(倒了|倒下|倒伏|倒在|刮倒|断了|砸|压)[^ ]{0,6}(路|马路|车|人|道路|横在|挡住|拦住)|(树|大树)[^ ]{0,3}(砸|压)(到|中|住|坏)")),
    ("fire or explosion", re.compile(r"着火了|起火了|烧起来了|火灾发生|爆炸了|冒黑烟|冒烟了|在冒烟|火苗|火势(蔓延|很大|越来越|变大|失控|凶猛)|被人?点燃|点燃了|烧着了")),
    ("injury or trapped", re.compile(r"昏迷|神志不清|不省人事|晕倒在|倒地不起|(有人|人员|行人|骑车的|老人|小孩)[^ ]{0,6}(被砸|被压|被困|触电)|困在电梯|困了人|电梯[^ ]{0,4}(困人|关人|坠)|被困")),
    ("fallen across the road", re.compile(r"(杆|杆子|广告牌|招牌|围挡|护栏|灯杆|电线|线缆|线|树枝)[^。]{0,6}(倒了|倒下|撞倒|刮倒|断了|掉下来)[^。]{0,8}(横在|挡住|堵住|路中间|马路中间|路口中间)")),
    ("falling object", re.compile(r"(高空|楼上|吊着的|塔吊)[^。]{0,10}(掉下来|坠落|砸下来|掉落)[^。]{0,8}(砸到|砸中|差点|险些)")),
)

# Words just before a cue that make it a fear or a hypothesis, not a fact (担心起火, 免得有人触电).
_FEAR = re.compile(r"(担心|怕|害怕|万一|如果|要是|真|容易|会不会|以免|免得|防止|可能|隐患|风险|引发|小心)[^ ]{0,6}$")
# Phrases that say the danger is over or did not happen.
_NEGATED = re.compile(r"(没有|不是|并未|未|无)(人员)?(漏气|塌陷|燃气味|人掉|着火|受伤|人员受伤|被困)|已(修好|处理|恢复)|(已|已经|被)扑灭|没有?掉(到|在)?地")


def _first_chars(items) -> tuple[frozenset | None, bool]:
    """(characters a match of parsed regex `items` can start with, whether it can be empty).

    None when that is not a small known set (negated or large classes, anchors, lookarounds):
    the rule then always runs. Only what the parser states for sure counts, so a rule skipped
    because the text has none of its first characters could not have matched.
    """
    out: set[str] = set()
    for op, av in items:
        if op is _C.LITERAL:
            out.add(chr(av))
            return frozenset(out), False
        if op is _C.IN:
            for o, a in av:
                if o is _C.LITERAL:
                    out.add(chr(a))
                elif o is _C.RANGE and a[1] - a[0] < 256:
                    out.update(map(chr, range(a[0], a[1] + 1)))
                else:
                    return None, False
            return frozenset(out), False
        if op is _C.SUBPATTERN or op is _C.BRANCH or op is _C.MAX_REPEAT or op is _C.MIN_REPEAT:
            if op is _C.SUBPATTERN:
                alternatives, can_skip = [av[3]], False
            elif op is _C.BRANCH:
                alternatives, can_skip = av[1], False
            else:
                alternatives, can_skip = [av[2]], av[0] == 0
            nullable = can_skip
            for alt in alternatives:
                first, empty = _first_chars(alt)
                if first is None:
                    return None, False
                out |= first
                nullable = nullable or empty
            if not nullable:
                return frozenset(out), False
            continue  # this part can match nothing: the next one may start the match
        return None, False
    return frozenset(out), True


def _rule_starts(rx: re.Pattern) -> frozenset | None:
    """The characters every match of `rx` starts with, or None when unknown (always run it)."""
    if _parser is None or rx.flags & re.IGNORECASE:
        return None
    first, can_be_empty = _first_chars(_parser.parse(rx.pattern, rx.flags))
    return None if can_be_empty else first


# Why: ten regex scans per text were a visible share of `analyse`; a rule whose possible first
# characters are all absent from the text cannot match, and one set test says so.
_RULE_STARTS = tuple(_rule_starts(rx) for _, rx in _RULES)


def _any_rule_pattern() -> re.Pattern:
    """One regex that matches somewhere in a text exactly when at least one rule does.

    An alternation of all rules finds a match wherever any single rule would (at the first
    position where some rule matches, some alternative succeeds). The lookahead on the rules'
    possible first characters changes nothing about what matches, but lets the engine skip, in
    C, the positions where no rule can start; without it the alternation was slower than the
    ten separate searches. It is left out when some rule's first characters are unknown.
    """
    union = "|".join(f"(?:{rx.pattern})" for _, rx in _RULES)
    if any(s is None for s in _RULE_STARTS):
        return re.compile(union)
    starts = "".join(sorted(frozenset().union(*_RULE_STARTS)))
    return re.compile(f"(?=[{re.escape(starts)}])(?:{union})")


# Why: fewer than 3 % of reports match any rule; for the others one search (~2.5 us) answers
# instead of a character set and up to ten searches (~8.5 us). Texts that match run the rules
# one by one as before, for the fear and negation checks.
_ANY_RULE = _any_rule_pattern()


def emergency_cues(text: str) -> tuple[str, ...]:
    """Reasons why `text` (normalised) describes an emergency; empty when no rule fires."""
    if _ANY_RULE.search(text) is None:
        return ()
    reasons = []
    chars = set(text)
    for (reason, rx), starts in zip(_RULES, _RULE_STARTS):
        if starts is not None and starts.isdisjoint(chars):
            continue
        for m in rx.finditer(text):
            if not _FEAR.search(text[max(0, m.start() - 10):m.start()]):
                reasons.append(reason)
                break
    if reasons and _NEGATED.search(text) and len(reasons) == 1:
        # Only a fear or a past event: leave the decision to the model.
        return ()
    return tuple(reasons)
