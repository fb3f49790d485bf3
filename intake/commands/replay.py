"""`hotline replay FILE --db URL`: run a recorded stream through the full pipeline.

Input: JSON Lines in time order. A report line has the API's fields plus "id" and "received_at";
an action line {"id", "received_at", "action": "close", "report": ID} closes the case holding the
earlier report ID. Output: one JSON line per input line, same order:
{"id", "outcome": opened|merged|out_of_scope|emergency|rejected|closed, "case_id", "duplicate_of", "reasons"}.
The stream's own times are the clock, so a replay is deterministic.
"""
from __future__ import annotations

import json
import sys
from zoneinfo import ZoneInfo

from intake.commands.common import add_config_option, add_db_option, fail, load_config_or_exit


def add_arguments(p) -> None:
    """FILE (or - for stdin), --db, --config."""
    p.add_argument("file", metavar="FILE", help="JSON Lines stream ('-' reads stdin)")
    add_db_option(p)
    add_config_option(p)


class Replayer:
    """Feeds lines to a SyncApp and shapes the contract's output lines."""

    def __init__(self, config, app):
        self.config = config
        self.app = app
        self.tz = ZoneInfo(config.service.timezone)
        self.report_ids: dict[str, int] = {}
        streets = set()
        for s in config.district.streets.values():
            streets.add(s.name)
            streets.update(s.aliases)
        self.streets = streets

    def line(self, raw: str) -> dict:
        """Process one input line; never raises for bad input."""
        from intake.db.pool import run_sync
        from intake.validation import InvalidInput, decode_json_body, parse_report, parse_time
        line_id = None
        try:
            data = decode_json_body(raw.encode("utf-8"))
            if isinstance(data, dict):
                line_id = data.get("id")
            if not isinstance(data, dict):
                raise InvalidInput([_err("line", "expected a JSON object")])
            if "id" not in data:
                raise InvalidInput([_err("id", "is required")])
            if "action" in data:
                return self.action(data)
            body = {k: v for k, v in data.items() if k != "id"}
            body.setdefault("external_id", f"replay:{data['id']}")
            if "received_at" not in body:
                raise InvalidInput([_err("received_at", "is required in a replay")])
            errors = []
            now = parse_time(body["received_at"], "received_at", self.tz, errors)
            if errors:
                raise InvalidInput(errors)
            report = parse_report(body, now=now, tz=self.tz, max_text_chars=self.config.service.max_text_chars,
                                  known_streets=self.streets, known_codes=self.config.taxonomy.matters.keys())
            result = run_sync(self.app.pipeline.submit(report))
            self.report_ids[str(data["id"])] = result.report_id
            return {"id": data["id"], "outcome": result.outcome, "case_id": result.case_id,
                    "duplicate_of": result.duplicate_of, "reasons": list(result.reasons)}
        except InvalidInput as e:
            return {"id": line_id, "outcome": "rejected", "case_id": None, "duplicate_of": None,
                    "reasons": [f"{x.field}: {x.message}" for x in e.errors]}

    def action(self, data: dict) -> dict:
        """A close action: close the case that holds the earlier report."""
        from intake.db.pool import run_sync
        from intake.validation import InvalidInput, parse_time
        errors = []
        if data.get("action") != "close":
            raise InvalidInput([_err("action", f"unknown action {data.get('action')!r}; only close")])
        at = parse_time(data.get("received_at"), "received_at", self.tz, errors)
        ref = data.get("report")
        if errors:
            raise InvalidInput(errors)
        rid = self.report_ids.get(str(ref))
        if rid is None:
            raise InvalidInput([_err("report", f"no earlier report {ref!r} in this stream")])
        case_id = run_sync(self.app.store.close_case_of_report(None, rid, at, actor="replay",
                                                               reason=f"close action {data['id']}"))
        if case_id is None:
            raise InvalidInput([_err("report", f"report {ref!r} is in no case (out of scope?)")])
        return {"id": data["id"], "outcome": "closed", "case_id": case_id, "duplicate_of": None,
                "reasons": [f"closed the case holding report {ref}"]}


def _err(field, message):
    from intake.validation import FieldError
    return FieldError(field, message)


def run(args) -> int:
    """Replay the file and print one JSON line per input line."""
    from intake.app import StartupError, build_sync_app
    config = load_config_or_exit(args.config)
    url = args.db or config.service.database_url
    try:
        app = build_sync_app(config, url)
    except StartupError as e:
        fail(str(e))
    replayer = Replayer(config, app)
    src = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8", errors="replace")
    try:
        for raw in src:
            if not raw.strip():
                continue
            out = replayer.line(raw)
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    finally:
        if src is not sys.stdin:
            src.close()
        app.close()
    return 0
