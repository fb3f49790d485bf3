"""Driving the API resource in-process: synchronous store, injected clock, no reactor, no port."""
from __future__ import annotations

import json
import wave
from io import BytesIO

import sqlalchemy as sa
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest


def call(resource, method: str, path: str, body=None, *, raw: bytes | None = None,
         content_type: str | None = "application/json", args: dict | None = None, token: str | None = None):
    """Render one request against the resource; returns (status, parsed JSON body)."""
    req = DummyRequest([p.encode() for p in path.strip("/").split("/")])
    req.method = method.encode()
    req.path = path.encode()
    req.uri = path.encode()
    if raw is None and body is not None:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req.content = BytesIO(raw or b"")
    if content_type:
        req.requestHeaders.setRawHeaders(b"content-type", [content_type.encode()])
    req.args = {k.encode(): [str(v).encode()] for k, v in (args or {}).items()}
    if token:
        req.requestHeaders.setRawHeaders(b"authorization", [f"Bearer {token}".encode()])
    out = resource.render(req)
    if out is NOT_DONE_YET:
        assert req.finished, "the synchronous store should have answered at once"
        data = b"".join(req.written)
    else:
        data = out
    return req.responseCode or 200, json.loads(data.decode("utf-8"))


def count_rows(engine, table: str) -> int:
    """Rows in a table (to check that nothing was half-written)."""
    with engine.connect() as c:
        return c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def write_wav(path, seconds: float, peak: int = 10000) -> bytes:
    """A 16-bit 8 kHz mono WAV (the recorder's format) of a ramp up to `peak`; returns its samples."""
    pcm = b"".join(((i * 37) % (2 * peak) - peak).to_bytes(2, "little", signed=True) for i in range(int(8000 * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)
    return pcm
