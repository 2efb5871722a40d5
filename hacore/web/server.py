"""The HTTPS server of the web console and JSON API (started by the daemon when [web] is
configured; imported only then, to keep an unconfigured daemon small).

Routes:
  GET  /health              no session: ``{"ok": true, "node": ...}``
  GET  /                    the console with a session, else the login page
  POST /login, /logout      form or JSON; login sets the session cookie
  GET  /api/<read method>   ``Api.call(method, query params)`` (status, nodes, events, why, ...)
  POST /api/<method>        any method, JSON params; session + CSRF token + same origin
  GET  /api/stream          server-sent events ``state`` = {"status", "nodes"} on change
Everything else without a session: 401 (JSON) or the login page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from pathlib import Path
from typing import Any

from hacore.api.handlers import Api
from hacore.config.model import WebSettings
from hacore.web.http import BadRequest, Request, Response, read_request, sse_event, sse_head
from hacore.web.passwords import check_password_file
from hacore.web.sessions import (
    CSRF_HEADER,
    Session,
    SessionStore,
    cookie_header,
    csrf_ok,
    same_origin,
    session_id_from,
)

log = logging.getLogger("hacore.web")

STATIC = Path(__file__).parent / "static"
#: methods a GET may call; every other method is a write (POST, CSRF token, same origin)
READ_METHODS = frozenset({"status", "nodes", "events", "why", "ping", "config_show"})
#: query parameters that are numbers (GET requests carry strings)
NUMERIC_PARAMS = frozenset({"since", "after"})
STREAM_INTERVAL = 0.5
STREAM_KEEPALIVE = 15.0
PUBLIC_FILES = {"/static/style.css": ("style.css", "text/css; charset=utf-8")}
SESSION_FILES = {f"/static/{name}": (name, "text/javascript; charset=utf-8")
                 for name in ("console.js", "config_form.js")}


def http_status(reply: dict[str, Any]) -> int:
    """The HTTP status of an API reply: 200, 400 bad input (exit code 2), 409 refused or
    failed (exit code 1)."""
    err = reply.get("error") if isinstance(reply, dict) else None
    if not err:
        return 200
    return 400 if err.get("exit_code") == 2 else 409


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A TLS server context (TLS 1.2 or newer) with the console's certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def refusal(message: str, status: int) -> Response:
    """An error in the API's own error shape."""
    return Response.json({"error": {"message": message, "exit_code": 1 if status != 400 else 2,
                                    "kind": "WebRefused"}}, status)


class WebServer:
    """Serves the console and API for one node; ``await start()``, ``await close()``."""

    def __init__(self, api: Api, settings: WebSettings, node: str, address: str) -> None:
        self.api = api
        self.settings = settings
        self.node = node
        self.address = address
        self.port = settings.port
        self.sessions = SessionStore(idle_timeout=settings.session_timeout)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._files: dict[str, bytes] = {}

    async def start(self) -> None:
        """Make the certificate if needed, then listen."""
        from hacore.web.certificate import ensure_certificate

        s = self.settings
        names = [self.node] + ([self.address] if self.address not in ("0.0.0.0", "::") else [])
        if await asyncio.to_thread(ensure_certificate, s.certificate, s.key, self.node, names):
            log.info("web console: made a self-signed certificate %s (key %s)", s.certificate,
                     s.key)
        ctx = server_context(s.certificate, s.key)
        for name in ("login.html", "console.html", "style.css", "console.js", "config_form.js"):
            self._files[name] = (STATIC / name).read_bytes()
        self._server = await asyncio.start_server(self._serve, self.address, self.port,
                                                  ssl=ctx, ssl_handshake_timeout=10.0)
        log.info("web console listening on https://%s:%d/", self.address, self.port)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5.0)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    request = await read_request(reader)
                except BadRequest as exc:
                    writer.write(refusal(str(exc), exc.status).encode(False))
                    await writer.drain()
                    return
                if request is None:
                    return
                if request.method == "GET" and request.path == "/api/stream":
                    await self._stream(request, writer)
                    return
                try:
                    response = await self.handle(request)
                except BadRequest as exc:
                    response = refusal(str(exc), exc.status)
                writer.write(response.encode(request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            return
        except Exception:  # a bug in one connection must not stop the server
            log.exception("web console: a connection failed")
        finally:
            self._writers.discard(writer)
            writer.close()

    def session_of(self, request: Request) -> Session | None:
        return self.sessions.get(session_id_from(request.headers.get("cookie")))

    def page(self, name: str, replace: dict[str, str] | None = None,
             status: int = 200) -> Response:
        text = self._files[name].decode()
        for key, value in (replace or {}).items():
            text = text.replace("{{" + key + "}}", _html_escape(value))
        return Response(status, text.encode(), "text/html; charset=utf-8")

    async def handle(self, request: Request) -> Response:
        """Answer one request (SSE aside)."""
        path, method = request.path, request.method
        if path == "/health":
            return Response.json({"ok": True, "node": self.node})
        if path in PUBLIC_FILES:
            name, kind = PUBLIC_FILES[path]
            return Response(200, self._files[name], kind)
        if path == "/login" and method == "POST":
            return await self._login(request)
        session = self.session_of(request)
        if path == "/" and method == "GET":
            if session is None:
                return self.page("login.html", {"node": self.node, "message": ""})
            return self.page("console.html", {"node": self.node, "csrf": session.csrf})
        if session is None:
            if path.startswith("/api/"):
                return refusal("log in first: this API needs a session (POST /login)", 401)
            return self.page("login.html", {"node": self.node, "message": ""}, 401)
        if path in SESSION_FILES:
            name, kind = SESSION_FILES[path]
            return Response(200, self._files[name], kind)
        if method == "POST" and not self._write_allowed(request, session):
            return refusal("refused: a write needs this session's CSRF token "
                           f"({CSRF_HEADER} header) and a request from this console's own "
                           "origin", 403)
        if path == "/logout" and method == "POST":
            self.sessions.drop(session.id)
            return Response.json({"ok": True}, 200) if _wants_json(request) else Response(
                303, b"", headers={"Location": "/", "Set-Cookie": cookie_header(None)})
        if path.startswith("/api/"):
            return await self._api(request, path[len("/api/"):])
        return refusal(f"no such page: {path}", 404)

    def _write_allowed(self, request: Request, session: Session) -> bool:
        token = request.headers.get(CSRF_HEADER)
        if token is None and "form" in request.headers.get("content-type", ""):
            token = request.form().get("csrf")
        return csrf_ok(session, token) and same_origin(request.headers,
                                                       request.headers.get("host"))

    async def _api(self, request: Request, method: str) -> Response:
        if method not in self.api.methods():
            return refusal(f"unknown API method {method!r} (valid: "
                           f"{', '.join(self.api.methods())})", 404)
        if request.method == "GET":
            if method not in READ_METHODS:
                return refusal(f"{method} changes the cluster: POST it (with the CSRF token)",
                               405)
            params = _query_params(request.query)
        elif request.method == "POST":
            params: Any = request.json()
        else:
            return refusal(f"method {request.method} is not allowed here (GET or POST)", 405)
        reply = await self.api.call(method, params)
        return Response.json(reply, http_status(reply))

    async def _login(self, request: Request) -> Response:
        as_json = _wants_json(request)
        if not same_origin(request.headers, request.headers.get("host")):
            return refusal("refused: a login must come from this console's own page", 403)
        data = request.json() if as_json else request.form()
        password = data.get("password") if isinstance(data, dict) else None
        delay = self.sessions.login_delay()
        if delay:
            await asyncio.sleep(delay)
        ok = isinstance(password, str) and await asyncio.to_thread(
            check_password_file, self.settings.password_file, password)
        if not ok:
            self.sessions.failed_login()
            log.warning("web console: a login on %s was refused (wrong password, or none "
                        "set: hacore web passwd)", self.node)
            if as_json:
                return refusal("wrong password", 401)
            return self.page("login.html", {"node": self.node, "message": "Wrong password."},
                             401)
        session = self.sessions.create()
        log.info("web console: a login on %s", self.node)
        cookie = {"Set-Cookie": cookie_header(session)}
        if as_json:
            return Response(200, json.dumps({"ok": True, "csrf": session.csrf}).encode(),
                            "application/json", cookie)
        return Response(303, b"", headers={"Location": "/", **cookie})

    async def _stream(self, request: Request, writer: asyncio.StreamWriter) -> None:
        """Server-sent events: the status and nodes whenever they change (checked twice a
        second), a comment every 15 s so proxies keep the stream open."""
        session = self.session_of(request)
        if session is None:
            writer.write(refusal("log in first: the stream needs a session", 401).encode(False))
            await writer.drain()
            return
        writer.write(sse_head())
        last, last_sent = None, time.monotonic()
        while self._server is not None and self.sessions.alive(session.id):
            state = {"status": await self.api.call("status"),
                     "nodes": await self.api.call("nodes")}
            if state != last:
                writer.write(sse_event("state", state))
                last, last_sent = state, time.monotonic()
            elif time.monotonic() - last_sent > STREAM_KEEPALIVE:
                writer.write(b": keepalive\n\n")
                last_sent = time.monotonic()
            await writer.drain()
            await asyncio.sleep(STREAM_INTERVAL)


def _wants_json(request: Request) -> bool:
    return "json" in request.headers.get("content-type", "")


def _query_params(query: dict[str, str]) -> Any:
    """A GET's params: ``params=<JSON object>``, or one query parameter per param (``true``
    and ``false`` are booleans, since/after numbers)."""
    if "params" in query:
        try:
            return json.loads(query["params"])
        except ValueError:
            raise BadRequest("the params query parameter is not JSON") from None
    out: dict[str, Any] = {}
    for key, value in query.items():
        if value in ("true", "false"):
            out[key] = value == "true"
        else:
            out[key] = _number(value) if key in NUMERIC_PARAMS else value
    return out


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _html_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def listen_address(settings: WebSettings, node_addresses: tuple[str, ...]) -> str:
    """Where the console listens: [web] address, else the node's first address."""
    if settings.address:
        return settings.address
    return node_addresses[0] if node_addresses else "127.0.0.1"
