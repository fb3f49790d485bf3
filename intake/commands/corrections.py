"""`hotline corrections export`: reviewed classifications become training data for `hotline train`.

Every report a person reviewed (confirmed or corrected at intake, or overridden in an audit) is
written as one corpus line with its final code, in the format nlp.dataset.load_corpus reads:
{"text", "code" (or null with "out_of_scope": true and "agency"), "style", "street", "emergency",
"source": "review"}. The default output, nlp/corpus/corrections.jsonl, is one of the files the
next `hotline train` reads. The file is rewritten whole each time (a snapshot of the reviews), so
running the export twice never duplicates a line.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from intake.commands.common import add_config_option, add_db_option, fail, load_config_or_exit

# The corpus style of each channel: the channel's way of writing (nlp/corpus/README.md). An
# inspector's device sends short typed notes, like an SMS; a 12319 ticket reads like a 12345 one.
STYLE_OF_CHANNEL = {"110": "110", "12345": "12345", "12319": "12345", "sms": "sms", "web": "web",
                    "phone": "phone", "inspector": "sms"}
# Seven or more digits, possibly split by single spaces or dashes (139-1234-5678): phone and ID
# numbers of real citizens. They must not land in the project's corpus, and no matter code
# depends on them.
_LONG_NUMBER = re.compile(r"(?:[0-9０-９][ \-－]?){6,}[0-9０-９]")


def redact(text: str) -> str:
    """The report's text with long digit runs (phone and ID numbers) replaced by ***."""
    return _LONG_NUMBER.sub("***", text)


def corpus_line(r) -> dict:
    """One ReviewedDecision as a corpus example (the final reviewed classification is the label)."""
    line = {"text": redact(r.text)}
    if r.final.out_of_scope or not r.final.code:
        line.update(code=None, out_of_scope=True, agency=r.final.agency)
    else:
        line["code"] = r.final.code
    line.update(style=STYLE_OF_CHANNEL.get(r.channel, "sms"), street=r.street, emergency=bool(r.emergency),
                source="review")
    return line


def add_arguments(p) -> None:
    """ACTION export, --db URL, --out FILE."""
    p.add_argument("action", choices=["export"])
    add_db_option(p)
    add_config_option(p)
    p.add_argument("--out", metavar="FILE", help="where to write the corpus lines "
                   "(default: nlp/corpus/corrections.jsonl, read by `hotline train`)")


def export(db_url: str, out: Path) -> dict:
    """Write every reviewed report of the database to `out`; counts of what was written."""
    from intake.db import migrate
    from intake.db.audit_store import AuditStore
    from intake.db.pool import SyncRunner, make_engine, run_sync
    engine = make_engine(db_url)
    try:
        current, head = migrate.current_revision(engine), migrate.head_revision(engine)
        if current != head:
            raise RuntimeError(f"database schema is at {current or 'none'}, not {head}: "
                               f"run `hotline db upgrade --db {engine.url.render_as_string(hide_password=True)}`")
        rows = run_sync(AuditStore(SyncRunner(engine)).reviewed())
    finally:
        engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    changed = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(corpus_line(r), ensure_ascii=False) + "\n")
            changed += r.machine.key != r.final.key
    # Replaced in one step: `hotline train` never reads a half-written file.
    os.replace(tmp, out)
    return {"written": len(rows), "corrected": changed, "confirmed": len(rows) - changed}


def run(args) -> int:
    """Export the reviewed classifications as corpus lines."""
    from nlp.dataset import DEFAULT_CORPUS
    url = args.db or load_config_or_exit(args.config).service.database_url
    out = Path(args.out) if args.out else DEFAULT_CORPUS / "corrections.jsonl"
    import sqlalchemy as sa
    try:
        counts = export(url, out)
    except (RuntimeError, OSError, sa.exc.SQLAlchemyError) as e:
        fail(f"corrections export failed: {e}")
    print(f"wrote {counts['written']} reviewed reports to {out} ({counts['corrected']} corrected, "
          f"{counts['confirmed']} confirmed)", file=sys.stdout)
    return 0
