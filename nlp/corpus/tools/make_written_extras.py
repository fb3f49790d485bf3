"""Build out_of_scope.jsonl, emergency.jsonl and supplement.jsonl from their hand-written sources.

The sources (oos.txt, emergency.txt next to this script) hold one report a line, written by hand
for this project in the six channel styles:
  oos.txt:        agency|style|text
  emergency.txt:  code|style|street|1 (emergency) or 0 (near miss)|text
  supplement.txt: code|style|street|text  (more reports for the codes with fewest written ones)
Usage: python nlp/corpus/tools/make_written_extras.py   (writes both files in nlp/corpus/)
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent


def main() -> None:
    """Write out_of_scope.jsonl, emergency.jsonl and supplement.jsonl from their sources."""
    with open(CORPUS / "out_of_scope.jsonl", "w", encoding="utf-8") as out:
        for n, line in enumerate((HERE / "oos.txt").read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            agency, style, text = line.split("|", 2)
            out.write(json.dumps({"text": text.strip(), "code": None, "out_of_scope": True, "agency": agency,
                                  "style": style, "street": None, "emergency": False, "group": f"oos-{n:03d}"},
                                 ensure_ascii=False) + "\n")
    with open(CORPUS / "emergency.jsonl", "w", encoding="utf-8") as out:
        for n, line in enumerate((HERE / "emergency.txt").read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            code, style, street, em, text = line.split("|", 4)
            out.write(json.dumps({"text": text.strip(), "code": code, "style": style, "street": street or None,
                                  "emergency": em == "1", "group": f"em-{n:03d}"}, ensure_ascii=False) + "\n")
    with open(CORPUS / "supplement.jsonl", "w", encoding="utf-8") as out:
        for n, line in enumerate((HERE / "supplement.txt").read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            code, style, street, text = line.split("|", 3)
            out.write(json.dumps({"text": text.strip(), "code": code, "style": style, "street": street or None,
                                  "emergency": False, "group": f"sup-{n:03d}"}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
