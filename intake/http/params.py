"""Shared pieces of the API modules: authenticated handlers and query/path parameters."""
from __future__ import annotations

from twisted.internet import defer

from intake.validation import FieldError, InvalidInput


def with_principal(auth, handler):
    """Wrap `handler(request, principal, **params)` so it runs with the caller's Principal
    (401 without a valid token, before the handler sees anything)."""
    @defer.inlineCallbacks
    def run(request, **params):
        principal = yield auth.principal(request)
        result = yield handler(request, principal, **params)
        return result
    run.__doc__ = handler.__doc__
    return run


def query_args(request) -> dict:
    """The query string as {name: last value}, decoded as UTF-8."""
    return {k.decode("utf-8", "replace"): v[-1].decode("utf-8", "replace") for k, v in request.args.items()}


def int_param(value: str, field: str) -> int:
    """A positive integer path parameter; InvalidInput naming the field otherwise."""
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput([FieldError(field, f"must be a positive integer, got {value[:20]!r}")])
    return int(value)


def int_arg(args: dict, name: str, default: int, lo: int, hi: int, errors: list) -> int:
    """An integer query parameter within [lo, hi]; a problem is appended to `errors`."""
    if name not in args:
        return default
    v = args[name]
    if not v.lstrip("-").isdigit() or not lo <= int(v) <= hi:
        errors.append(FieldError(name, f"must be an integer between {lo} and {hi}"))
        return default
    return int(v)
