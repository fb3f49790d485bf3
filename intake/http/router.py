"""A minimal JSON router on twisted.web: method + path pattern -> handler returning a Deferred.

Handlers are `fn(request, **path_params)` and return (status, body) or a Deferred of it; body is
JSON-serialisable. Errors become JSON with the field that was wrong (InvalidInput) or a clear
message; an unexpected error is logged and answered 500 without leaking internals.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Callable

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from intake.auth import AuthError
from intake.validation import InvalidInput

log = Logger()


class NotFound(Exception):
    """The thing asked for does not exist."""


class HttpError(Exception):
    """An error with an explicit status and message."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _default(o):
    if isinstance(o, dt.datetime):
        return o.isoformat()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(body) -> bytes:
    """JSON bytes, UTF-8, Chinese kept readable."""
    return json.dumps(body, ensure_ascii=False, default=_default).encode("utf-8")


class RawResponse:
    """A handler's non-JSON answer: `data` bytes sent with `content_type` (a recording), or,
    with `streaming=True`, nothing: the handler writes to the request and finishes it itself
    (an event stream)."""

    def __init__(self, data: bytes = b"", content_type: str = "application/octet-stream",
                 headers: dict | None = None, streaming: bool = False):
        self.data = data
        self.content_type = content_type
        self.headers = headers or {}
        self.streaming = streaming


class JsonRouter(resource.Resource):
    """Dispatches every request below it by method and path regex."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.routes: list[tuple[str, re.Pattern, Callable, str]] = []

    def add(self, method: str, pattern: str, handler: Callable) -> None:
        """Register a handler; pattern uses {name} for a path segment."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$")
        self.routes.append((method, regex, handler, pattern))

    def render(self, request: server.Request):
        path = request.path.decode("utf-8", "replace")
        method = request.method.decode("ascii", "replace")
        allowed = []
        for m, regex, handler, _pattern in self.routes:
            match = regex.match(path)
            if not match:
                continue
            if m != method:
                allowed.append(m)
                continue
            finished = request.notifyFinish()
            finished.addErrback(lambda _: None)  # the client went away; nothing to answer
            d = defer.maybeDeferred(handler, request, **match.groupdict())
            d.addCallbacks(lambda res: self._write(request, *res), lambda f: self._fail(request, f))
            return server.NOT_DONE_YET
        if allowed:
            request.setHeader(b"Allow", ", ".join(sorted(set(allowed))).encode())
            return self._body(request, 405, {"error": f"method {method} not allowed on {path}"})
        return self._body(request, 404, {"error": f"no such resource: {path}"})

    def _body(self, request, status: int, body) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"application/json; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        return dumps(body)

    def _write(self, request, status: int, body) -> None:
        if getattr(request, "_disconnected", False):
            return
        if isinstance(body, RawResponse):
            if body.streaming:
                return
            request.setResponseCode(status)
            request.setHeader(b"Content-Type", body.content_type.encode("latin-1"))
            for k, v in body.headers.items():
                request.setHeader(k.encode("latin-1"), v.encode("latin-1"))
            request.write(body.data)
            request.finish()
            return
        data = self._body(request, status, body)
        request.write(data)
        request.finish()

    def _fail(self, request, failure) -> None:
        if failure.check(InvalidInput):
            e = failure.value
            first = e.errors[0]
            body = {"error": f"{first.field}: {first.message}", "field": first.field,
                    "errors": [x.as_dict() for x in e.errors]}
            return self._write(request, e.status, body)
        if failure.check(AuthError):
            e = failure.value
            if e.status == 401:
                request.setHeader(b"WWW-Authenticate", b'Bearer realm="hotline"')
            return self._write(request, e.status, {"error": e.message})
        if failure.check(NotFound):
            return self._write(request, 404, {"error": str(failure.value)})
        if failure.check(HttpError):
            e = failure.value
            body = {"error": e.message}
            if e.field:
                body["field"] = e.field
            return self._write(request, e.status, body)
        log.failure("unhandled error answering {method} {path}", failure,
                    method=request.method, path=request.path)
        self._write(request, 500, {"error": "internal error; the request was logged"})
