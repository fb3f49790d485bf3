"""The `hotline` command line: one sub-command per module in `intake.commands`."""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). Modules are imported only when their command runs, so
# `hotline check-config` does not pay for loading the classifier.
COMMANDS = {
    "serve": ("intake.commands.serve", "run the intake service"),
    "demo": ("intake.commands.demo", "start the service, send a sample day of reports, print a summary"),
    "check-config": ("intake.commands.check_config", "validate the configuration and print every problem"),
    "classify": ("intake.commands.classify", "classify JSON Lines from stdin (contract in README)"),
    "replay": ("intake.commands.replay", "replay a JSON Lines stream through the full pipeline"),
    "train": ("intake.commands.train", "train the matter classifier from the project's corpus"),
    "eval": ("intake.commands.evaluate", "evaluate the classifier on the dev split"),
    "db": ("intake.commands.db", "database schema: upgrade, current"),
    "token": ("intake.commands.token", "create API tokens for users and systems"),
    "user": ("intake.commands.user", "create console users with a password (read from stdin)"),
    "report": ("intake.commands.report", "evaluation of a period: tables, CSV, XLSX and charts"),
    "corrections": ("intake.commands.corrections", "export reviewed classifications as training data"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="hotline", description="Unified hotline intake service (数字城管)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            continue
        module.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hotline` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(args._module)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
