"""`hotline replay FILE --db URL`: run a recorded stream through the full pipeline.

Input: JSON Lines in time order. A report line has the API's fields plus "id" and "received_at".
An action line {"id", "received_at", "action", "report": ID, ...} acts on the case holding the
earlier report ID, as the role that does that action in the closed loop (routing.workflow):

    accept | reject (reason)                               operator (受理员)
    register | void (reason) | close | arbitrate (department, reason)   shift chief (值班长)
    dispatch (department?: the router's proposal when absent) | approve_return | refuse_return
      | approve_extension | refuse_extension | approve_park | refuse_park | resume   dispatcher (派遣员)
    start | finish (note, photos?) | request_return (reason) | request_extension (reason, amount
      e.g. "1wd") | request_park (reason)                  the case's department
    verify (result: pass | fail, reason when fail)         inspector (监督员)
    satisfaction (answer: satisfied | basically_satisfied | dissatisfied, comment?)  operator

Optional "by" names the person (default replay-<role>). `close` on a case that is not verified
closes it anyway (the legacy streams' administrative close, recorded as a forced close).
Before each line the overdue watch runs at the line's time, so overdue and escalation events
appear as they would in the service.

Output: one JSON line per input line, same order:
{"id", "outcome": opened|merged|out_of_scope|emergency|rejected|closed|acted, "case_id",
"duplicate_of", "reasons"}: `acted` for a loop action (the reasons say the new status),
`rejected` for a line refused (bad input or an action the workflow refuses, with why).
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
        from intake.db.loop_store import LoopStore
        from intake.loop_config import calendar_of, limits_of
        from routing.router import Router
        self.config = config
        self.app = app
        self.loop = LoopStore(app.store.db)
        self.calendar = calendar_of(config)
        self.limits = limits_of(config)
        self.router = Router(config.departments, config.routing, config.district)
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
            if "received_at" in data:
                self.watch(data["received_at"])
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

    def watch(self, when) -> None:
        """The overdue watch at the line's time (a bad time is left to the line's own check)."""
        from intake.db.pool import run_sync
        from intake.validation import parse_time
        now = parse_time(when, "received_at", self.tz, [])
        if now is not None:
            run_sync(self.loop.scan_overdue(self.limits, self.calendar, now))

    def propose(self, case: dict, returned_by: tuple) -> dict:
        """The router's first and second choice (the dispatcher's proposal)."""
        places = tuple(case.get("places") or ())
        first = self.router.route(case["code"], case["street"], bool(case["emergency"]), places=places)
        second = self.router.fallback(case["code"], case["street"], bool(case["emergency"]), places=places)
        return {"primary": first.department_id, "fallback": second.department_id if second else None}

    def action(self, data: dict) -> dict:
        """A loop action on the case that holds the earlier report (see the module docstring)."""
        from intake.db.loop_store import SATISFACTION_ANSWERS
        from intake.db.pool import run_sync
        from intake.validation import InvalidInput, parse_time
        from routing import workflow as wf
        errors = []
        name = data.get("action")
        if name != "satisfaction" and name not in wf.ACTIONS:
            raise InvalidInput([_err("action", f"unknown action {name!r}; one of {', '.join(wf.ACTIONS)}, "
                                               f"satisfaction")])
        at = parse_time(data.get("received_at"), "received_at", self.tz, errors)
        ref = data.get("report")
        if errors:
            raise InvalidInput(errors)
        rid = self.report_ids.get(str(ref))
        if rid is None:
            raise InvalidInput([_err("report", f"no earlier report {ref!r} in this stream")])
        found = run_sync(self.app.store.get_report(rid))
        case_id = (found or {}).get("decision", {}) and found["decision"].get("case_id")
        if not case_id:
            raise InvalidInput([_err("report", f"report {ref!r} is in no case (out of scope?)")])
        if name == "satisfaction":
            if data.get("answer") not in SATISFACTION_ANSWERS:
                raise InvalidInput([_err("answer", f"one of {', '.join(SATISFACTION_ANSWERS)}")])
            try:
                run_sync(self.loop.record_satisfaction(case_id, data["answer"], data.get("comment"),
                                                       f"operator:{data.get('by', 'replay-operator')}", at))
            except wf.Refused as e:
                raise InvalidInput([_err(e.field or "action", e.message)]) from None
            return {"id": data["id"], "outcome": "acted", "case_id": case_id, "duplicate_of": None,
                    "reasons": [f"satisfaction {data['answer']} recorded"]}
        case, _ = run_sync(self.loop.case_with_history(case_id))
        if name == "close" and case["status"] != wf.VERIFIED:
            # Legacy streams close cases that never went round the loop: an administrative close.
            run_sync(self.app.store.close_case_of_report(None, rid, at, actor="replay",
                                                         reason=f"close action {data['id']} (forced)"))
            return {"id": data["id"], "outcome": "closed", "case_id": case_id, "duplicate_of": None,
                    "reasons": [f"closed the case holding report {ref}"]}
        role = wf.ACTIONS[name].roles[0]
        dept = case["department_id"] if role == "department" else None
        person = data.get("by") or (dept if role == "department" else f"replay-{role.replace('_', '-')}")
        params = {k: data[k] for k in ("reason", "department", "note", "photos", "amount", "result") if k in data}
        try:
            out = run_sync(self.loop.act(case_id, name, role=role, actor=f"{role}:{person}", actor_department=dept,
                                         params=params, now=at, known_departments=set(self.config.departments),
                                         propose=self.propose))
        except wf.Refused as e:
            raise InvalidInput([_err(e.field or "action", e.message)]) from None
        status = out["case"]["status"]
        if name == "close":
            return {"id": data["id"], "outcome": "closed", "case_id": case_id, "duplicate_of": None,
                    "reasons": [f"closed the case holding report {ref}"]}
        return {"id": data["id"], "outcome": "acted", "case_id": case_id, "duplicate_of": None,
                "reasons": [f"{name}: the case is now {status}"
                            + (f" ({out['case']['department_id']})" if out["case"]["department_id"] else "")]}


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
