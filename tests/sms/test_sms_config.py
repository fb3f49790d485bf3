"""config/sms.yaml: typed, every problem with its key, optional, and what the service starts."""
from __future__ import annotations

import dataclasses

from twisted.internet.task import Clock

from intake.sms_config import DEFAULT_TEMPLATES, SmsSettings, parse_sms, sms_of


def test_bundled_sms_yaml_has_a_disabled_demo_link_and_chinese_templates(config):
    """The demo link points at 127.0.0.1 and is off; every template is Chinese text."""
    sms = sms_of(config)
    assert [l.name for l in sms.links] == ["demo"] and sms.enabled_links == ()
    assert sms.links[0].host == "127.0.0.1"
    assert set(sms.templates) == set(DEFAULT_TEMPLATES)
    assert all("【新北区城市管理】" in t for t in sms.templates.values())
    assert "2026000001" in sms.render("receipt", number="2026000001")


def test_every_problem_is_reported_with_its_key():
    """Unknown keys, wrong types, missing keys, bad ranges and unknown template fields, all at once."""
    raw = {"links": [{"name": "a", "host": "h", "port": 70000, "system_id": "x" * 20, "password": "p",
                      "short_number": "12a45", "bind": "both", "colour": "red"},
                     {"name": "b", "host": "h"}],
           "queue": {"poll_s": -1, "max_parts": 300},
           "templates": {"receipt": "编号{number}{caller}", "greeting": "你好"},
           "extra": 1}
    value, problems = parse_sms(raw, "sms.yaml")
    keys = {k for k, _ in problems}
    assert {"links[0].port", "links[0].system_id", "links[0].short_number", "links[0].bind", "links[0].colour",
            "links[1].port", "links[1].system_id", "links[1].password", "links[1].short_number",
            "queue.poll_s", "queue.max_parts", "templates.receipt", "templates.greeting", "extra"} <= keys
    msg = dict(problems)["templates.receipt"]
    assert "caller" in msg and "{number}" in msg
    assert value.links == ()


def test_an_empty_file_means_no_links(config):
    """A city without SMPP: no links, the defaults, and no gateway in the service tree."""
    value, problems = parse_sms(None, "sms.yaml")
    assert problems == [] and value == SmsSettings()
    from intake.channels.smpp.gateway import register
    assert register(None, config=config, db=None, pipeline=None, clock=Clock()) is None


def test_an_enabled_link_puts_the_gateway_in_the_service_tree(config):
    """register() (an API_MODULES entry) returns the SmsGateway Service with one SMPPLink per link."""
    from intake.app import API_MODULES
    from intake.channels.smpp.gateway import SmsGateway, register
    assert register in API_MODULES
    sms = sms_of(config)
    enabled = dataclasses.replace(sms, links=(dataclasses.replace(sms.links[0], enabled=True),))
    cfg = dataclasses.replace(config, extra=dict(config.extra, sms=enabled))
    gw = register(None, config=cfg, db=None, pipeline=None, clock=Clock())
    assert isinstance(gw, SmsGateway) and [l.name for l in gw.links] == ["smpp-demo"]
