"""Build nlp/corpus/teddy_cup.jsonl from the 2020 Teddy Cup labelled messages.

Only the classes that are never city management are taken (劳动和社会保障, 教育文体, 卫生计生,
商贸旅游); each becomes an out-of-scope example labelled with the agency of config/agencies.yaml
it belongs to. Text = 留言主题 + the start of 留言详情 (trimmed at a sentence end near 160
characters). The organisers' anonymised names (A市, A3区, A000123) are replaced by local ones or
dropped, so the model cannot learn "A市" as a sign of out-of-scope.

Messages that were labelled by hand (nlp/corpus/real/, ids ``lab-N``) are left out here: they
are in real.jsonl with their matter or agency, and a copy here could sit on the other side of
the dev split.

Usage: python nlp/corpus/tools/make_teddy_cup.py [SOURCE.jsonl] > nlp/corpus/teddy_cup.jsonl
(default SOURCE: ../shared/data/teddy-cup-2020/messages-labelled-495.jsonl from the repository root)
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT.parent / "shared" / "data" / "teddy-cup-2020" / "messages-labelled-495.jsonl"
REAL_LABELS = ROOT / "nlp" / "corpus" / "real"


def hand_labelled() -> set[str]:
    """留言编号 of the board-labelled messages that were also labelled by hand."""
    ids = set()
    for path in REAL_LABELS.glob("labels-*.jsonl"):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                mid = json.loads(line)["id"]
                if mid.startswith("lab-"):
                    ids.add(mid[4:])
    return ids
CLASSES = {"劳动和社会保障", "教育文体", "卫生计生", "商贸旅游"}


def agency(cls: str, text: str) -> str:
    """The agency id of config/agencies.yaml for a Teddy Cup class and text."""
    if cls == "劳动和社会保障":
        if re.search(r"医保|医疗保险|报销", text):
            return "medical-insurance"
        if re.search(r"社保|养老|保险|退休|社会保障|失业金|公积金", text):
            return "social-insurance"
        return "labour"
    if cls == "教育文体":
        return "education"
    if cls == "卫生计生":
        return "health"
    if re.search(r"食品|餐馆|饭店|中毒|过期", text):
        return "food-safety"
    return "market"


def clean(text: str) -> str:
    """Anonymised names replaced, whitespace squeezed."""
    text = re.sub(r"西地省", "江苏省", text)
    text = re.sub(r"[A-Z]\d*市", "常州市", text)
    text = re.sub(r"[A-Z]\d*[区县]", "新北区", text)
    text = re.sub(r"[A-Z]\d{2,}", "", text)
    text = re.sub(r"[A-Z](?=[县镇乡])", "某", text)
    return re.sub(r"\s+", "", text)


def trim(text: str, limit: int = 160) -> str:
    """Cut at the last sentence end before `limit` characters (or at the limit)."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(p, 0, limit) for p in "。！？；")
    return text[: cut + 1] if cut > 40 else text[:limit]


def main(path: str = SOURCE) -> None:
    """Print the JSON lines of the out-of-scope classes."""
    skip = hand_labelled()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            cls = m["一级分类"]
            if cls not in CLASSES or m["留言编号"] in skip:
                continue
            theme, detail = clean(m["留言主题"]), clean(m["留言详情"])
            text = theme + "。" + trim(detail)
            print(json.dumps({"text": text, "code": None, "out_of_scope": True, "agency": agency(cls, theme + detail),
                              "style": "web", "street": None, "emergency": False,
                              "group": f"teddy-{m['留言编号']}", "source_class": cls}, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:])
