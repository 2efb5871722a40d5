"""Console sessions and the checks every write passes (CSRF token + same origin).

A session is a random id in a cookie (HttpOnly, Secure, SameSite=Strict) mapped, in the
daemon's memory only, to a CSRF token and its last use. A daemon restart logs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

COOKIE = "hacore_session"
CSRF_HEADER = "x-csrf-token"
IDLE_TIMEOUT = 1800.0
MAX_SESSIONS = 64
#: failed logins tolerated per window before every login waits (a slow brute force)
FAILED_LOGINS = 5
FAILED_WINDOW = 60.0


@dataclass
class Session:
    """One logged-in browser."""

    id: str
    csrf: str
    created: float
    last_used: float


@dataclass
class SessionStore:
    """Sessions by id; idle ones expire after ``idle_timeout`` seconds."""

    idle_timeout: float = IDLE_TIMEOUT
    sessions: dict[str, Session] = field(default_factory=dict)
    failures: list[float] = field(default_factory=list)

    def create(self, now: float | None = None) -> Session:
        """A new session (the oldest one goes when MAX_SESSIONS are open)."""
        now = time.time() if now is None else now
        self._expire(now)
        while len(self.sessions) >= MAX_SESSIONS:
            oldest = min(self.sessions.values(), key=lambda s: s.last_used)
            del self.sessions[oldest.id]
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now)
        self.sessions[session.id] = session
        return session

    def get(self, session_id: str | None, now: float | None = None) -> Session | None:
        """The live session with this id (its idle clock restarts), else None."""
        now = time.time() if now is None else now
        self._expire(now)
        if not session_id:
            return None
        session = self.sessions.get(session_id)
        if session is not None:
            session.last_used = now
        return session

    def alive(self, session_id: str, now: float | None = None) -> bool:
        """The session still exists (without counting this as a use: an open event stream
        does not keep an unattended console logged in)."""
        self._expire(time.time() if now is None else now)
        return session_id in self.sessions

    def drop(self, session_id: str | None) -> None:
        self.sessions.pop(session_id or "", None)

    def _expire(self, now: float) -> None:
        for sid in [s.id for s in self.sessions.values()
                    if now - s.last_used > self.idle_timeout]:
            del self.sessions[sid]

    def login_delay(self, now: float | None = None) -> float:
        """Seconds a login waits before its answer: 0 until FAILED_LOGINS failures within
        FAILED_WINDOW, then 2 s each."""
        now = time.time() if now is None else now
        self.failures = [t for t in self.failures if now - t < FAILED_WINDOW]
        return 2.0 if len(self.failures) >= FAILED_LOGINS else 0.0

    def failed_login(self, now: float | None = None) -> None:
        self.failures.append(time.time() if now is None else now)


def csrf_ok(session: Session, token: str | None) -> bool:
    """The request carries this session's CSRF token (constant-time compare)."""
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())


def same_origin(headers: dict[str, str], host: str | None) -> bool:
    """The request comes from a page of this server: its Origin (or, without one, its
    Referer) names the host the request was sent to, over https. Neither header: refused."""
    if not host:
        return False
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return parts.scheme == "https" and parts.netloc.lower() == host.lower()


def cookie_header(session: Session | None, max_age: int | None = None) -> str:
    """The Set-Cookie value for a session (None: the cookie is cleared)."""
    if session is None:
        return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
    age = f"; Max-Age={max_age}" if max_age else ""
    return f"{COOKIE}={session.id}; Path=/{age}; HttpOnly; Secure; SameSite=Strict"


def session_id_from(cookie_header_value: str | None) -> str | None:
    """The session id in a Cookie request header, if any."""
    for part in (cookie_header_value or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None
