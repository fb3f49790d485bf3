"""`hotline serve`: run the intake service until stopped."""
from __future__ import annotations

import sys

from intake.commands.common import add_config_option, add_db_option, fail, load_config_or_exit


def add_arguments(p) -> None:
    """--port, --db, --config, --interface override the config."""
    add_config_option(p)
    add_db_option(p)
    p.add_argument("--port", type=int, help="HTTP port (default from config)")
    p.add_argument("--interface", help="address to listen on (default from config)")
    p.add_argument("--no-phones", action="store_true",
                   help="answer no phone calls even when config/lines.yaml exists")


def start(config, db_url: str, port: int, interface: str, reactor, watch_phones: bool = True):
    """Build and start the service tree; returns (service, parts). With watch_phones, a phone
    line that cannot register stops the service (see watch_phone_lines)."""
    from intake.app import StartupError, build_service
    try:
        top, parts = build_service(config, db_url, port, interface, reactor)
    except StartupError as e:
        fail(str(e))
    top.startService()
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    if watch_phones:
        watch_phone_lines(parts, reactor)
    return top, parts


# Set when a phone line could not register: `run` exits with it after the reactor stopped.
START_FAILED: list = []


def watch_phone_lines(parts, reactor, on_ready=None):
    """When the service has phone lines: report them registered, or stop the service with a clear
    message naming the line and the SIP server when one cannot register (a start-up failure)."""
    phone = parts.get("phone")
    telephony = getattr(phone, "telephony", None)
    if telephony is None:
        return None

    def ready(_):
        names = ", ".join(f"{line.config.name}@{line.config.server.host}:{line.config.server.port}"
                          for line in telephony.lines)
        print(f"hotline: phone lines registered: {names} (ASR engine {telephony.engine.name})", flush=True)
        if on_ready is not None:
            on_ready(telephony)

    def failed(f):
        err = getattr(f.value, "subFailure", f)
        START_FAILED.append(1)
        print(f"hotline: cannot start: a phone line could not register: {err.getErrorMessage()}\n"
              f"  start the SIP server, fix config/lines.yaml (hotline check-config), "
              f"or run with --no-phones", file=sys.stderr, flush=True)
        if reactor.running:
            reactor.stop()
    return telephony.when_ready().addCallbacks(ready, failed)


def listening_port(top) -> int:
    """The TCP port the HTTP service actually listens on (port 0 picks one)."""
    http = top.getServiceNamed("http")
    return http._waitingForPort.result.getHost().port


def run(args) -> int:
    """Start the service and run the reactor."""
    from twisted.internet import reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver

    config = load_config_or_exit(args.config)
    if args.no_phones:
        from intake.phone_config import without_phones
        config = without_phones(config)
    db_url = args.db or config.service.database_url
    port = config.service.http_port if args.port is None else args.port
    interface = args.interface or config.service.http_interface
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)], redirectStandardIO=False)
    top, _ = start(config, db_url, port, interface, reactor)
    print(f"hotline: serving http://{interface}:{listening_port(top)}/api/v1/ (database {db_url})", flush=True)
    reactor.run()
    return 1 if START_FAILED else 0
