"""Helpers of the web tests: a backend with canned answers, an HTTPS client for loopback."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any

from hacore.config import load_config_text

CONFIG = """
[cluster]
name = "webtest"
config_version = 3

[[nodes]]
name = "n1"
id = 1
addresses = ["127.0.0.1"]

[[nodes]]
name = "n2"
id = 2
addresses = ["127.0.0.2"]

[resources.vip]
agent = "ip"
params = { address = "10.0.0.10/24" }

[services.web]
tree = ["vip"]

[web]
port = 8443
"""


class FakeBackend:
    """Answers like a NodeDaemon whose cluster has n1 up with service web on it."""

    def __init__(self) -> None:
        self.config = load_config_text(CONFIG)
        self.requests: list[tuple[str, str, str | None]] = []
        self.owner = "n1"

    def api_status(self) -> dict[str, Any]:
        return {"cluster": "webtest", "quorate": True, "local": "n1", "coordinator": "n1",
                "quorum": {"expected": 2, "total": 2, "needed": 2},
                "members": [{"name": "n1", "id": 1, "state": "Online", "local": True,
                             "coordinator": True, "standby": False}],
                "services": [{"name": "web", "state": "started", "owner": self.owner,
                              "reason": None, "frozen": False, "partial": False}]}

    def api_nodes(self) -> dict[str, Any]:
        return {"cluster": "webtest", "nodes": [{"id": 1, "name": "n1", "state": "member"}]}

    async def api_service(self, op: str, service: str, node: str | None) -> dict[str, Any]:
        self.requests.append((op, service, node))
        if op == "relocate" and node:
            self.owner = node
        return {"ok": True, "version": 7}

    async def api_node(self, op: str, node: str) -> dict[str, Any]:
        return {"ok": True, "version": 8}

    async def api_events(self, **kw: Any) -> dict[str, Any]:
        return {"node": "n1", "events": [], "truncated": False}

    def api_why(self, service: str) -> dict[str, Any]:
        return {"service": service, "reason": f"{service} runs on n1", "candidates": []}


class Client:
    """A tiny HTTPS client keeping a cookie, trusting the given certificate."""

    def __init__(self, host: str, port: int, cafile: str) -> None:
        self.host, self.port = host, port
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.ctx.check_hostname = False
        self.cookie: str | None = None
        self.origin = f"https://{host}:{port}"

    def request(self, method: str, path: str, body: Any = None, *,
                headers: dict[str, str] | None = None, form: bool = False
                ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=10)
        h = dict(headers or {})
        data = None
        if body is not None:
            if form:
                from urllib.parse import urlencode
                data = urlencode(body).encode()
                h.setdefault("Content-Type", "application/x-www-form-urlencoded")
            else:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
        if self.cookie:
            h.setdefault("Cookie", self.cookie)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            out = resp.read()
            got = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        if "set-cookie" in got:
            self.cookie = got["set-cookie"].split(";")[0]
        return resp.status, got, out

    def login(self, password: str) -> str:
        """Log in with JSON; the CSRF token."""
        status, _h, body = self.request("POST", "/login", {"password": password},
                                        headers={"Origin": self.origin})
        assert status == 200, body
        return json.loads(body)["csrf"]
