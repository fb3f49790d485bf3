"""`hotline token create --user NAME --role ROLE [--department ID] [--db URL]`: print a new API token."""
from __future__ import annotations

import sys

from intake.commands.common import add_user_options, write_user


def add_arguments(p) -> None:
    """create --user --role [--department] [--db] [--config]."""
    add_user_options(p, "operator, shift_chief, dispatcher, department, inspector, auditor, channel or admin")


def run(args) -> int:
    """Create the user if needed and print one new token on stdout."""
    from intake.auth import create_token_thd
    token = write_user(args, create_token_thd)
    sys.stdout.write(token + "\n")
    return 0
