"""The telephony lines of this node: config/lines.yaml (optional: a city without phones has none).

Registered with intake.config when that module is imported (its last lines import this one), so
`load_config()` and `hotline check-config` validate the file with every other one and report its
problems with file and key. The parser is telephony.config.parse_lines; this module only wires
it in. The parsed TelephonyConfig lands in `config.extra["lines"]`.
"""
from __future__ import annotations

from intake.config import register_section

FILENAME = "lines.yaml"


def parse_lines_section(raw, filename: str):
    """telephony.config.parse_lines with its messages stripped of the file and key it already
    prefixes (intake.config adds both again)."""
    from telephony.config import parse_lines
    cfg, problems = parse_lines(raw, filename)
    out = []
    for key, message in problems:
        prefix = f"{filename}: {key}: "
        out.append((key, message[len(prefix):] if message.startswith(prefix) else message))
    return cfg, out


register_section(FILENAME, parse_lines_section, required=False)
# The demo's lines (hotline demo only; `hotline serve` answers calls only with lines.yaml).
DEMO_FILENAME = "lines.demo.yaml"
register_section(DEMO_FILENAME, parse_lines_section, required=False)


def lines_of(config):
    """The validated TelephonyConfig, or None when the deployment has no config/lines.yaml."""
    return config.extra.get("lines")


def demo_lines_of(config):
    """The demo's TelephonyConfig (config/lines.demo.yaml), or None."""
    return config.extra.get("lines.demo")


def without_phones(config):
    """The same configuration without its lines (`--no-phones`: serve the API, answer no calls)."""
    import dataclasses
    from types import MappingProxyType
    extra = {k: v for k, v in config.extra.items() if k != "lines"}
    return dataclasses.replace(config, extra=MappingProxyType(extra))


def with_lines(config, lines):
    """The same configuration with `lines` (a TelephonyConfig) in place of config/lines.yaml's."""
    import dataclasses
    from types import MappingProxyType
    return dataclasses.replace(config, extra=MappingProxyType({**config.extra, "lines": lines}))
