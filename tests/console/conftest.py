"""Browser tests of the consoles: a real `hotline serve` on a temporary SQLite database, console
users with passwords, and Debian's Chromium driven headless through chromedriver (Selenium, with
the driver's path given so Selenium Manager never downloads anything).

Screenshots go to tests/artefacts/console/ (git-ignored) for people to look at.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.intake.nodes import ROOT, Node

CHROMIUM = os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HOTLINE_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTEFACTS = ROOT / "tests" / "artefacts" / "console"
PASSWORD = "console-test-password"
# (user, role, department): one console user per role the pages serve, two departments.
USERS = [
    ("op", "operator", None), ("chief", "shift_chief", None), ("auditor", "auditor", None),
    ("dispatcher", "dispatcher", None), ("sanjing", "department", "locality-sanjing"),
    ("power", "department", "power"), ("insp", "inspector", None),
]
TOKENS = ("channel", "operator", "shift_chief", "dispatcher")


def tiny_png() -> bytes:
    """A valid 8x8 PNG (a photo to upload), made here so nothing is fetched."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes([200, 60, 60] * 8) for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@dataclass
class Service:
    """The running service, its tokens (for setting up through the API) and helpers."""

    node: Node
    db_url: str
    tokens: dict
    photo: Path
    reports: dict = field(default_factory=dict)

    def api(self, method: str, path: str, body=None, role: str = "channel") -> tuple[int, dict]:
        """One JSON request with the token of `role`."""
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(self.node.base + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {self.tokens[role]}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def report(self, key: str, text: str, channel: str = "sms", **extra) -> dict:
        """Send a report through the API (as the SMS gateway); its answer, remembered under `key`."""
        status, body = self.api("POST", "/api/v1/reports", dict(channel=channel, external_id=f"console-{key}",
                                                               text=text, caller="13912345678", **extra))
        assert status in (200, 201), body
        body["case_id"] = (body["case"] or {}).get("id")
        body["case_number"] = (body["case"] or {}).get("number")
        self.reports[key] = body
        return body

    def act(self, case_id: int, action: str, role: str, **params) -> dict:
        """One closed-loop action through the API with a role's token."""
        status, body = self.api("POST", f"/api/v1/cases/{case_id}/actions", dict(action=action, **params), role=role)
        assert status == 200, body
        return body


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """`hotline serve` on a fresh SQLite file with the console users and a few API tokens."""
    from intake.app import open_database
    from intake.auth import create_token_thd, set_password_thd
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"Debian chromium and chromium-driver are needed ({CHROMIUM}, {CHROMEDRIVER}); "
                    "scripts/setup.sh installs them")
    tmp = tmp_path_factory.mktemp("console")
    db_url = f"sqlite:///{tmp / 'console.sqlite'}"
    engine = open_database(db_url)
    tokens = {}
    with engine.begin() as conn:
        for name, role, dept in USERS:
            set_password_thd(conn, name, role, PASSWORD, dept)
        for role in TOKENS:
            tokens[role] = create_token_thd(conn, f"api-{role}", role)
    engine.dispose()
    photo = tmp / "result.png"
    photo.write_bytes(tiny_png())
    node = Node(db_url, tmp)
    try:
        yield Service(node=node, db_url=db_url, tokens=tokens, photo=photo)
    finally:
        node.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory, service):
    """Headless Debian Chromium through chromedriver; flags that work on a closed network."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never reach the network
    profile = tmp_path_factory.mktemp("chromium-profile")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--lang=zh-CN", "--window-size=1366,1000",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    if ARTEFACTS.exists():
        shutil.rmtree(ARTEFACTS)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
