"""The HTTPS server in-process on loopback, with a backend of canned answers."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import replace

import pytest
from web_support import Client, FakeBackend

from hacore.api.handlers import Api
from hacore.web.passwords import write_password_file
from hacore.web.server import WebServer

PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """A WebServer on 127.0.0.1 in a thread of its own; yields (client, backend, server)."""
    backend = FakeBackend()
    settings = replace(backend.config.web, port=_free_port(),
                       certificate=str(tmp_path / "web.crt"), key=str(tmp_path / "web.key"),
                       password_file=str(tmp_path / "web.passwd"))
    write_password_file(settings.password_file, PASSWORD)
    server = WebServer(Api(backend), settings, "n1", "127.0.0.1")
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(20)
    try:
        yield Client("127.0.0.1", settings.port, settings.certificate), backend, server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(20)
        loop.close()


def test_health_answers_without_a_session(served):
    """/health is the one thing answered without a session."""
    client, _b, _s = served
    status, _h, body = client.request("GET", "/health")
    assert status == 200 and json.loads(body) == {"ok": True, "node": "n1"}


def test_api_without_a_session_is_refused(served):
    """GET /api/status without a session: 401 with the API's error shape."""
    client, _b, _s = served
    status, _h, body = client.request("GET", "/api/status")
    assert status == 401 and "log in" in json.loads(body)["error"]["message"]
    status, _h, body = client.request("GET", "/")
    assert status == 200 and b'type="password"' in body and b"csrf-token" not in body


def test_wrong_password_is_refused(served):
    """A wrong password gets 401 and no session cookie."""
    client, _b, _s = served
    status, headers, _body = client.request("POST", "/login", {"password": "nope"},
                                            headers={"Origin": client.origin})
    assert status == 401 and "set-cookie" not in headers
    status, _h, body = client.request("POST", "/login", {"password": "nope"}, form=True,
                                      headers={"Origin": client.origin})
    assert status == 401 and b"Wrong password." in body


def test_login_sets_a_strict_secure_cookie_and_api_matches_the_backend(served):
    """Login: cookie HttpOnly, Secure, SameSite=Strict; GET /api/status is Api.call's JSON."""
    client, backend, _s = served
    status, headers, _body = client.request("POST", "/login", {"password": PASSWORD},
                                            form=True, headers={"Origin": client.origin})
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    status, headers, body = client.request("GET", "/api/status")
    assert status == 200 and json.loads(body) == backend.api_status()
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    status, _h, body = client.request("GET", "/")
    assert b'name="csrf-token"' in body


def test_login_from_a_foreign_origin_is_refused(served):
    """A login posted from another site (login CSRF) is refused even with the password."""
    client, _b, _s = served
    status, headers, _b2 = client.request("POST", "/login", {"password": PASSWORD},
                                          headers={"Origin": "https://evil.example"})
    assert status == 403 and "set-cookie" not in headers


def test_write_needs_csrf_token_and_same_origin(served):
    """POST /api/service: refused without the token, with a foreign or no Origin; done with
    both."""
    client, backend, _s = served
    token = client.login(PASSWORD)
    params = {"op": "relocate", "service": "web", "node": "n2"}
    for headers in ({"Origin": client.origin},
                    {"Origin": "https://evil.example", "X-CSRF-Token": token},
                    {"X-CSRF-Token": token},
                    {"Origin": client.origin, "X-CSRF-Token": "forged"}):
        status, _h, body = client.request("POST", "/api/service", params, headers=headers)
        assert status == 403, headers
        assert "CSRF" in json.loads(body)["error"]["message"]
    assert backend.requests == []
    status, _h, body = client.request("POST", "/api/service", params,
                                      headers={"Origin": client.origin, "X-CSRF-Token": token})
    assert status == 200 and json.loads(body) == {"ok": True, "version": 7}
    assert backend.requests == [("relocate", "web", "n2")]
    status, _h, _b = client.request("POST", "/api/service", params,
                                    headers={"Referer": client.origin + "/",
                                             "X-CSRF-Token": token})
    assert status == 200  # a Referer of this origin stands in for a missing Origin


def test_reads_are_get_writes_are_post(served):
    """GET of a write method is 405; an unknown method 404; bad input 400."""
    client, _b, _s = served
    client.login(PASSWORD)
    assert client.request("GET", "/api/service?op=disable&service=web")[0] == 405
    assert client.request("GET", "/api/nosuch")[0] == 404
    status, _h, body = client.request("GET", "/api/why")
    assert status == 400 and json.loads(body)["error"]["exit_code"] == 2
    status, _h, body = client.request("GET", "/api/events?after=3")
    assert status == 200 and json.loads(body)["node"] == "n1"


def test_logout_ends_the_session(served):
    """After POST /logout the cookie no longer opens the API."""
    client, _b, _s = served
    token = client.login(PASSWORD)
    cookie = client.cookie
    status, _h, _b2 = client.request("POST", "/logout", {}, headers={
        "Origin": client.origin, "X-CSRF-Token": token})
    assert status == 200
    client.cookie = cookie
    assert client.request("GET", "/api/status")[0] == 401


def test_stream_sends_the_state_and_its_changes(served):
    """/api/stream: an SSE 'state' event at once, another when the owner changes."""
    client, backend, _s = served
    client.login(PASSWORD)
    raw = socket.create_connection(("127.0.0.1", client.port), timeout=10)
    with client.ctx.wrap_socket(raw) as sock:
        sock.sendall(f"GET /api/stream HTTP/1.1\r\nHost: x\r\nCookie: {client.cookie}\r\n"
                     "\r\n".encode())
        data = b""
        for wanted in (1, 2):
            for _ in range(200):  # bounded; each recv waits at most the socket's 10 s
                if data.count(b"event: state") >= wanted:
                    break
                chunk = sock.recv(65536)
                assert chunk, "stream closed"
                data += chunk
            assert data.count(b"event: state") >= wanted, data
            assert b"text/event-stream" in data
            backend.owner = "n2"
    last = data.split(b"event: state\ndata: ")[-1].split(b"\n")[0]
    assert json.loads(last)["status"]["services"][0]["owner"] == "n2"


def test_the_self_signed_certificate_names_the_node(served):
    """The certificate made at start is self-signed for 127.0.0.1 and verifies."""
    client, _b, _s = served
    raw = socket.create_connection(("127.0.0.1", client.port), timeout=10)
    with client.ctx.wrap_socket(raw) as sock:
        cert = sock.getpeercert()
    assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
    assert dict(x[0] for x in cert["subject"])["commonName"] == "n1"


def test_get_params_as_json_and_booleans(served):
    """GET /api/events?params=<JSON> and ?cluster=false reach Api.call as typed values."""
    client, _b, _s = served
    client.login(PASSWORD)
    status, _h, body = client.request("GET", '/api/events?params={"after":%202}')
    assert status == 200 and json.loads(body)["node"] == "n1"
    assert client.request("GET", "/api/events?params=notjson")[0] == 400
    status, _h, body = client.request("GET", "/api/events?after=-1")
    assert status == 400 and "after" in json.loads(body)["error"]["message"]
