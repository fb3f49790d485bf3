"""Build nlp/corpus/teddy_cup.jsonl from the 2020 Teddy Cup labelled messages.

Only the classes that are never city management are taken (劳动和社会保障, 教育文体, 卫生计生,
商贸旅游); each becomes an out-of-scope example labelled with the agency of config/agencies.yaml
it belongs to. Text = 留言主题 + the start of 留言详情 (trimmed at a sentence end near 160
characters). The organisers' anonymised names (A市, A3区, A000123) are replaced by local ones or
dropped, so the model cannot learn "A市" as a sign of out-of-scope.

Usage: python nlp/corpus/tools/make_teddy_cup.py [SOURCE.jsonl] > nlp/corpus/teddy_cup.jsonl
"""
import json
import re
import sys

SOURCE = "/work/shared/data/teddy-cup-2020/messages-labelled-495.jsonl"
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
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            cls = m["一级分类"]
            if cls not in CLASSES:
                continue
            theme, detail = clean(m["留言主题"]), clean(m["留言详情"])
            text = theme + "。" + trim(detail)
            print(json.dumps({"text": text, "code": None, "out_of_scope": True, "agency": agency(cls, theme + detail),
                              "style": "web", "street": None, "emergency": False,
                              "group": f"teddy-{m['留言编号']}", "source_class": cls}, ensure_ascii=False))


if __name__ == "__main__":
    main(*sys.argv[1:])
