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


def start(config, db_url: str, port: int, interface: str, reactor):
    """Build and start the service tree; returns (service, parts)."""
    from intake.app import StartupError, build_service
    try:
        top, parts = build_service(config, db_url, port, interface, reactor)
    except StartupError as e:
        fail(str(e))
    top.startService()
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    return top, parts


def listening_port(top) -> int:
    """The TCP port the HTTP service actually listens on (port 0 picks one)."""
    http = top.getServiceNamed("http")
    return http._waitingForPort.result.getHost().port


def run(args) -> int:
    """Start the service and run the reactor."""
    from twisted.internet import reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver

    config = load_config_or_exit(args.config)
    db_url = args.db or config.service.database_url
    port = config.service.http_port if args.port is None else args.port
    interface = args.interface or config.service.http_interface
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)], redirectStandardIO=False)
    top, _ = start(config, db_url, port, interface, reactor)
    print(f"hotline: serving http://{interface}:{listening_port(top)}/api/v1/ (database {db_url})", flush=True)
    reactor.run()
    return 0
