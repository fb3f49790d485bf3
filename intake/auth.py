"""Who is calling: users, roles and bearer tokens.

Every API call except the citizens' status lookup carries `Authorization: Bearer TOKEN`; the token
is bound to a user with one role. Tokens are created with `hotline token create`; only their
SHA-256 is stored. Roles (the closed loop's vocabulary, see domain README section 3):
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from intake.db import schema as t

ROLES = {
    "operator": "受理员",        # accepts or rejects reports, confirms or corrects classifications
    "shift_chief": "值班长",     # registers, voids, closes; audits classification; arbitrates
    "dispatcher": "派遣员",      # dispatches; approves returns, extensions, parking
    "department": "专业部门",    # handles its own cases
    "inspector": "监督员",       # reports problems (authoritative code), verifies on site
    "auditor": "质检员",         # quality auditor: reviews classifications
    "channel": "接入渠道",       # a system that forwards reports: the 12345 platform, an SMS gateway
    "admin": "管理员",
}
# Who may send which report channel: an inspector's report carries an authoritative code, so only
# inspectors' devices may send channel "inspector".
REPORT_SENDERS = {"channel", "operator", "admin", "inspector"}


class AuthError(Exception):
    """Authentication failed (401) or the role may not do this (403)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    name: str
    role: str
    department_id: str | None

    @property
    def actor(self) -> str:
        """How the caller appears in case histories: 'role:name'."""
        return f"{self.role}:{self.name}"


def token_digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (URL-safe, 256 bits)."""
    return "hl_" + secrets.token_urlsafe(32)


def create_token_thd(conn, name: str, role: str, department_id: str | None = None,
                     now: dt.datetime | None = None) -> str:
    """Create the user if needed (same role) and a new token for it; returns the token."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "department" and not department_id:
        raise ValueError("a department user needs --department ID")
    now = now or dt.datetime.now(dt.timezone.utc)
    row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).mappings().first()
    if row is None:
        user_id = conn.execute(t.users.insert().values(name=name, role=role, department_id=department_id,
                                                       created_at=now)).inserted_primary_key[0]
    else:
        if row["role"] != role or (row["department_id"] or None) != (department_id or None):
            raise ValueError(f"user {name!r} exists with role {row['role']}"
                             + (f" of department {row['department_id']}" if row["department_id"] else ""))
        user_id = row["id"]
    token = new_token()
    conn.execute(t.api_tokens.insert().values(token_sha256=token_digest(token), user_id=user_id, created_at=now))
    return token


def principal_thd(conn, token: str) -> Principal | None:
    """The user a valid token belongs to, or None."""
    row = conn.execute(
        sa.select(t.users.c.id, t.users.c.name, t.users.c.role, t.users.c.department_id)
        .join(t.api_tokens, t.api_tokens.c.user_id == t.users.c.id)
        .where(t.api_tokens.c.token_sha256 == token_digest(token), t.api_tokens.c.revoked_at.is_(None),
               t.users.c.disabled_at.is_(None))).first()
    if row is None:
        return None
    return Principal(user_id=row.id, name=row.name, role=row.role, department_id=row.department_id)


class Authenticator:
    """Resolves the bearer token of a request to a Principal (cached per token for a minute)."""

    def __init__(self, db, clock, cache_seconds: float = 60.0):
        self.db = db
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    def principal(self, request):
        """A Deferred firing with the Principal, or failing with AuthError(401)."""
        from twisted.internet import defer
        header = (request.getHeader(b"authorization") or b"").decode("latin-1").strip()
        if not header.lower().startswith("bearer "):
            return defer.fail(AuthError(401, "authentication required: send Authorization: Bearer TOKEN "
                                             "(create one with `hotline token create`)"))
        token = header[7:].strip()
        now = self.clock.seconds()
        hit = self._cache.get(token)
        if hit and now - hit[0] < self.cache_seconds:
            return defer.succeed(hit[1])

        def found(p):
            if p is None:
                raise AuthError(401, "invalid or revoked token")
            self._cache[token] = (now, p)
            return p
        return self.db.do(principal_thd, token).addCallback(found)


def require(principal: Principal, *roles: str) -> Principal:
    """The principal if its role is one of `roles`; AuthError(403) naming what is needed otherwise."""
    if principal.role not in roles and principal.role != "admin":
        raise AuthError(403, f"role {principal.role} ({ROLES.get(principal.role, '?')}) may not do this; "
                             f"needs {' or '.join(f'{r} ({ROLES[r]})' for r in roles)}")
    return principal
