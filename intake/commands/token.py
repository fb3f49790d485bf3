"""`hotline token create --user NAME --role ROLE [--department ID] [--db URL]`: print a new API token."""
from __future__ import annotations

import sys

from intake.commands.common import add_config_option, add_db_option, fail, load_config_or_exit


def add_arguments(p) -> None:
    """create --user --role [--department] [--db] [--config]."""
    p.add_argument("action", choices=["create"])
    p.add_argument("--user", required=True, help="user name (created on first use)")
    p.add_argument("--role", required=True, help="operator, shift_chief, dispatcher, department, inspector, "
                                                 "auditor, channel or admin")
    p.add_argument("--department", help="department id from config/departments.yaml (role department)")
    add_db_option(p)
    add_config_option(p)


def run(args) -> int:
    """Create the user if needed and print one new token on stdout."""
    from intake.app import StartupError, open_database
    from intake.auth import ROLES, create_token_thd
    config = load_config_or_exit(args.config)
    if args.role not in ROLES:
        fail(f"unknown role {args.role!r}; one of {', '.join(ROLES)}", 2)
    if args.department and args.department not in config.departments:
        fail(f"unknown department {args.department!r}; see config/departments.yaml", 2)
    try:
        engine = open_database(args.db or config.service.database_url)
    except StartupError as e:
        fail(str(e))
    try:
        with engine.begin() as conn:
            token = create_token_thd(conn, args.user, args.role, args.department)
    except ValueError as e:
        fail(str(e), 2)
    finally:
        engine.dispose()
    sys.stdout.write(token + "\n")
    return 0
