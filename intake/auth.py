"""Who is calling: users, roles and bearer tokens.

Every API call except the citizens' status lookup carries `Authorization: Bearer TOKEN`; the token
is bound to a user with one role. Tokens are created with `hotline token create`; only their
SHA-256 is stored. The consoles (browser pages) sign in with a user name and password (argon2
hashes) and get a session cookie instead; the same Authenticator accepts either, and an unsafe
request (POST, PUT, PATCH, DELETE) on a session must carry the session's CSRF secret in the
X-CSRF-Token header, so every action goes through the same role checks whatever the caller.
Roles (the closed loop's vocabulary, see domain README section 3):
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
        """A Deferred firing with the Principal, or failing with AuthError(401).

        A bearer token wins; without one, a console session cookie is accepted, and an unsafe
        method on a session needs the session's CSRF secret in X-CSRF-Token (403 otherwise).
        """
        from twisted.internet import defer
        header = (request.getHeader(b"authorization") or b"").decode("latin-1").strip()
        if not header.lower().startswith("bearer "):
            session = session_cookie(request)
            if session:
                return self.session_principal(request, session)
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

    def session_principal(self, request, session: str):
        """The Principal of a console session (never cached: signing out takes effect at once)."""
        import hmac
        now = dt.datetime.fromtimestamp(self.clock.seconds(), tz=dt.timezone.utc)

        def found(hit):
            if hit is None:
                raise AuthError(401, "the session has ended (expired or signed out): sign in again")
            p, csrf = hit
            if request.method in UNSAFE_METHODS:
                sent = (request.getHeader(CSRF_HEADER) or b"").decode("latin-1")
                if not sent or not hmac.compare_digest(sent, csrf):
                    raise AuthError(403, "missing or wrong X-CSRF-Token header for this session")
            return p
        return self.db.do(session_thd, session, now).addCallback(found)


# -- passwords and browser sessions (the consoles) ------------------------------------------------
SESSION_COOKIE = b"hl_session"
CSRF_HEADER = b"x-csrf-token"
SESSION_SECONDS = 8 * 3600  # one shift
UNSAFE_METHODS = {b"POST", b"PUT", b"PATCH", b"DELETE"}
MIN_PASSWORD_CHARS = 8


def _hasher():
    # argon2id with the library's current recommended parameters (RFC 9106 profile).
    from argon2 import PasswordHasher
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The stored form of a password: an argon2id hash with its own salt and parameters."""
    return _hasher().hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (False for a user without a password)."""
    if not stored:
        # Spend the same work as a real check, so timing does not tell which users exist.
        _hasher().hash(password)
        return False
    from argon2.exceptions import InvalidHashError, VerificationError
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password_thd(conn, name: str, role: str, password: str, department_id: str | None = None,
                     now: dt.datetime | None = None) -> int:
    """Create the user if needed (same role and department) and set its password; returns its id."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "department" and not department_id:
        raise ValueError("a department user needs --department ID")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    now = now or dt.datetime.now(dt.timezone.utc)
    row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).mappings().first()
    digest = hash_password(password)
    if row is None:
        return conn.execute(t.users.insert().values(name=name, role=role, department_id=department_id,
                                                    password_hash=digest, created_at=now)).inserted_primary_key[0]
    if row["role"] != role or (row["department_id"] or None) != (department_id or None):
        raise ValueError(f"user {name!r} exists with role {row['role']}"
                         + (f" of department {row['department_id']}" if row["department_id"] else ""))
    conn.execute(t.users.update().where(t.users.c.id == row["id"]).values(password_hash=digest))
    return row["id"]


def sign_in_thd(conn, name: str, password: str, now: dt.datetime, seconds: int = SESSION_SECONDS):
    """Check the password and open a session: (session token, csrf token, Principal), or None."""
    row = conn.execute(sa.select(t.users).where(t.users.c.name == name, t.users.c.disabled_at.is_(None))
                       ).mappings().first()
    if not check_password(row["password_hash"] if row else None, password):
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    conn.execute(t.console_sessions.insert().values(
        token_sha256=token_digest(token), user_id=row["id"], csrf_token=csrf, created_at=now,
        expires_at=now + dt.timedelta(seconds=seconds)))
    return token, csrf, Principal(user_id=row["id"], name=row["name"], role=row["role"],
                                  department_id=row["department_id"])


def session_thd(conn, token: str, now: dt.datetime):
    """(Principal, csrf token) of a live session, or None (unknown, expired, signed out, user disabled)."""
    row = conn.execute(
        sa.select(t.users.c.id, t.users.c.name, t.users.c.role, t.users.c.department_id,
                  t.console_sessions.c.csrf_token)
        .join(t.console_sessions, t.console_sessions.c.user_id == t.users.c.id)
        .where(t.console_sessions.c.token_sha256 == token_digest(token),
               t.console_sessions.c.revoked_at.is_(None), t.console_sessions.c.expires_at > now,
               t.users.c.disabled_at.is_(None))).first()
    if row is None:
        return None
    return Principal(user_id=row.id, name=row.name, role=row.role, department_id=row.department_id), row.csrf_token


def sign_out_thd(conn, token: str, now: dt.datetime) -> bool:
    """End a session; whether it was live."""
    return bool(conn.execute(t.console_sessions.update().where(
        t.console_sessions.c.token_sha256 == token_digest(token), t.console_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount)


def session_cookie(request) -> str | None:
    """The session token the browser sent, if any (requests built without cookie support have none)."""
    get = getattr(request, "getCookie", None)
    value = get(SESSION_COOKIE) if get is not None else None
    return value.decode("ascii", "replace") if value else None


def require(principal: Principal, *roles: str) -> Principal:
    """The principal if its role is one of `roles`; AuthError(403) naming what is needed otherwise."""
    if principal.role not in roles and principal.role != "admin":
        raise AuthError(403, f"role {principal.role} ({ROLES.get(principal.role, '?')}) may not do this; "
                             f"needs {' or '.join(f'{r} ({ROLES[r]})' for r in roles)}")
    return principal
