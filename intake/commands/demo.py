"""`hotline demo`: start the service, send a bundled sample day through the HTTP API, summarise.

The sample day (intake/samples/demo-day.jsonl) has reports from every channel, inspectors
included. When config/lines.yaml exists and the telephony tools are installed, it also places
three SIPp calls to the demo's lines through a private kamailio and shows where they ended
(intake.commands.demo_calls); without the tools it says so and skips them. The service keeps running afterwards so the cases can be looked at; `--exit` stops it
after the summary (used by tests).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from intake.commands.common import add_config_option, load_config_or_exit

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "demo-day.jsonl"


def add_arguments(p) -> None:
    """--port, --db, --config, --sample, --exit."""
    add_config_option(p)
    p.add_argument("--db", metavar="URL", default="sqlite:///hotline-demo.sqlite",
                   help="database (default: a fresh hotline-demo.sqlite in the working folder)")
    p.add_argument("--port", type=int, help="HTTP port (default from config)")
    p.add_argument("--sample", default=str(SAMPLE), help="JSON Lines of reports to send")
    p.add_argument("--exit", action="store_true", help="stop after the summary instead of serving on")
    p.add_argument("--no-calls", action="store_true", help="place no phone calls (and answer none)")


def _table(rows, headers) -> str:
    widths = [max(_w(str(h)), *(_w(str(r[i])) for r in rows)) if rows else _w(str(h)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c) + " " * (w - _w(str(c))) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _w(s: str) -> int:
    # East Asian characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


def post_all(reactor, base: str, lines: list[dict], tokens: dict):
    """POST each report in order (inspectors' with the inspector token); a Deferred list of (status, body)."""
    from twisted.internet import defer
    from twisted.web.client import Agent, readBody
    from twisted.web.http_headers import Headers
    from twisted.web.client import FileBodyProducer
    from io import BytesIO

    agent = Agent(reactor)

    @defer.inlineCallbacks
    def go():
        out = []
        for body in lines:
            token = tokens["inspector" if body.get("channel") == "inspector" else "channel"]
            resp = yield agent.request(b"POST", (base + "/api/v1/reports").encode(),
                                       Headers({b"Content-Type": [b"application/json"],
                                                b"Authorization": [f"Bearer {token}".encode()]}),
                                       FileBodyProducer(BytesIO(json.dumps(body, ensure_ascii=False).encode())))
            data = yield readBody(resp)
            out.append((resp.code, json.loads(data)))
        return out
    return go()


def summarise(config, results, summary) -> str:
    """The demo's tables: outcomes, per street, per department."""
    outcomes = summary["outcomes"]
    names = {d.id: d.name for d in config.departments.values()}
    lines = [f"reports sent: {len(results)}; HTTP statuses: "
             + ", ".join(f"{k} x{v}" for k, v in sorted(_count(s for s, _ in results).items()))]
    lines.append(_table([[k, outcomes.get(k, 0)] for k in ("opened", "merged", "out_of_scope", "emergency")],
                        ["outcome", "reports"]))
    lines.append(f"needs operator review: {summary['needs_review']}; hot issues: {summary['hot']}")
    lines.append("")
    lines.append(_table([[s or "(place unknown)", n, r] for s, n, r in sorted(summary["per_street"], key=lambda x: -x[1])],
                        ["street/town", "cases", "reports"]))
    lines.append("")
    lines.append(_table([[names.get(d, d or "(none)"), n] for d, n in sorted(summary["per_department"], key=lambda x: -x[1])],
                        ["department", "cases"]))
    return "\n".join(lines)


DEMO_USERS = [
    ("demo-platform-12345", "channel", None), ("demo-inspector", "inspector", None),
    ("demo-operator", "operator", None), ("demo-shift-chief", "shift_chief", None),
    ("demo-dispatcher", "dispatcher", None), ("demo-sanjing-team", "department", "locality-sanjing"),
]


def demo_users(engine) -> dict:
    """Create the demo's users, one token each (the database is fresh every demo run)."""
    from intake.auth import create_token_thd
    tokens: dict = {"_users": []}
    with engine.begin() as conn:
        for name, role, dept in DEMO_USERS:
            tok = create_token_thd(conn, name, role, dept)
            tokens.setdefault(role, tok)
            tokens["_users"].append((name, role, tok))
    return tokens


def demo_console_users(engine) -> list:
    """Give the demo's people (not the channel) a console password, plus an auditor; returns
    (name, role, password) rows. Passwords are random per run and printed once."""
    import secrets
    from intake.auth import set_password_thd
    rows = []
    with engine.begin() as conn:
        for name, role, dept in DEMO_USERS + [("demo-auditor", "auditor", None)]:
            if role == "channel":
                continue
            password = secrets.token_urlsafe(9)
            set_password_thd(conn, name, role, password, dept)
            rows.append((name, role, password))
    return rows


def _count(it):
    c = {}
    for x in it:
        c[x] = c.get(x, 0) + 1
    return c


def run(args) -> int:
    """Fresh demo database, service up, sample sent, summary printed, service left running."""
    from twisted.internet import reactor
    from intake.commands.serve import listening_port, start

    config = load_config_or_exit(args.config)
    from intake.commands import demo_calls
    if getattr(args, "no_calls", False):
        from intake.phone_config import without_phones
        config, phones, phone_note = without_phones(config), None, "phone calls: skipped (--no-calls)"
    else:
        config, phones, phone_note = demo_calls.prepare(config)
    if phones is not None:
        reactor.addSystemEventTrigger("after", "shutdown", phones.stop)
    if args.db.startswith("sqlite:///") and not args.db.startswith("sqlite:////"):
        path = Path(args.db[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    port = config.service.http_port if args.port is None else args.port
    top, parts = start(config, args.db, port, "127.0.0.1", reactor, watch_phones=False)
    tokens = demo_users(parts["engine"])
    console_users = demo_console_users(parts["engine"])
    base = f"http://127.0.0.1:{listening_port(top)}"
    with open(args.sample, encoding="utf-8") as f:
        lines = [json.loads(x) for x in f if x.strip()]
    exit_code = [0]

    def done(results):
        d = parts["store"].summary()
        d.addCallback(lambda s: print(summarise(config, results, s), flush=True))
        if phones is not None:
            print(f"\nphone calls: placing {len(demo_calls.CALLS)} SIPp calls to the demo's lines ...", flush=True)
            d.addCallback(lambda _: phones.run(reactor, parts["phone"], base, tokens["operator"]))
            d.addCallback(lambda text: print("\n" + text, flush=True))
        else:
            d.addCallback(lambda _: print("\n" + phone_note, flush=True))
        d.addCallback(lambda _: print(
            f"\nThe service is running at {base}/\n"
            f"  cases:     {base}/api/v1/cases\n"
            f"  calls:     {base}/api/v1/calls   (queue: {base}/api/v1/calls?waiting=true)\n"
            f"  one case:  {base}/api/v1/cases/1\n"
            f"  a report:  {base}/api/v1/reports/1\n"
            f"  API spec:  {base}/api/v1/openapi.json\n"
            f"  public:    {base}/api/v1/public/cases/<case number>  (no token)\n"
            f"Demo users and their API tokens (send as Authorization: Bearer TOKEN):\n"
            + "".join(f"  {name:22} {role:12} {tok}\n" for name, role, tok in tokens["_users"])
            + f"The console (zh-CN pages) is at {base}/console/ ; demo users and their passwords:\n"
            + "".join(f"  {name:22} {role:12} {pw}\n" for name, role, pw in console_users)
            + ("" if args.exit else "Press Ctrl-C to stop."), flush=True))
        return d

    def failed(f):
        exit_code[0] = 1
        print(f"demo failed: {f.getErrorMessage()}", file=sys.stderr)

    print(f"hotline demo: sending {len(lines)} reports to {base}/api/v1/reports ...", flush=True)
    d = post_all(reactor, base, lines, tokens)
    d.addCallback(done)
    d.addErrback(failed)
    if args.exit:
        d.addBoth(lambda _: reactor.stop())
    reactor.run()
    return exit_code[0]
