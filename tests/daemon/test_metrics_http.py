"""The daemon's /metrics endpoint: the page, other paths, bad requests, the gauges."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest

from hacore.daemon.metrics_http import MetricsServer, parse_listen
from hacore.errors import InputError


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    except ConnectionResetError:  # closed by the server before it read the request
        return b""
    finally:
        writer.close()


def _get(url: str, method: str = "GET") -> tuple[int, str, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_serves_the_page_at_metrics_and_refuses_the_rest():
    """GET /metrics answers the page built at that moment; / points to it; other paths
    404; POST 405; HEAD has no body; garbage is closed without an answer."""
    calls = []

    def page() -> str:
        calls.append(1)
        return f"hacore_x {len(calls)}\n"

    async def go():
        server = MetricsServer("127.0.0.1:0", page)
        await server.start()
        port = server.address[1]
        base = f"http://127.0.0.1:{port}"
        try:
            first = await asyncio.to_thread(_get, base + "/metrics")
            second = await asyncio.to_thread(_get, base + "/metrics?x=1")
            root = await asyncio.to_thread(_get, base + "/")
            missing = await asyncio.to_thread(_get, base + "/nope")
            post = await asyncio.to_thread(_get, base + "/metrics", "POST")
            head = await _raw(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            junk = await _raw(port, b"hello\r\n\r\n")
        finally:
            await server.close()
        return first, second, root, missing, post, head, junk

    first, second, root, missing, post, head, junk = asyncio.run(go())
    assert first == (200, "text/plain; version=0.0.4; charset=utf-8", "hacore_x 1\n")
    assert second[2] == "hacore_x 2\n"
    assert root[0] == 200 and "/metrics" in root[2]
    assert missing[0] == 404 and post[0] == 405
    assert head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n")
    assert junk == b""


def test_parse_listen_takes_host_port_and_bracketed_ipv6():
    """'127.0.0.1:9664' and '[::1]:9664' parse; a missing port is an input error."""
    assert parse_listen("127.0.0.1:9664") == ("127.0.0.1", 9664)
    assert parse_listen("[::1]:9664") == ("::1", 9664)
    for bad in ("127.0.0.1", ":9664", "host:http", "h:70000"):
        with pytest.raises(InputError, match="HOST:PORT"):
            parse_listen(bad)


def test_connections_beyond_the_limit_are_closed_and_scrapes_resume_after():
    """With MAX_CONNECTIONS idle clients connected, one more is closed without an answer;
    once they go, /metrics answers again."""
    from hacore.daemon.metrics_http import MAX_CONNECTIONS

    async def go():
        server = MetricsServer("127.0.0.1:0", lambda: "hacore_x 1\n")
        await server.start()
        port = server.address[1]
        idle = [await asyncio.open_connection("127.0.0.1", port)
                for _ in range(MAX_CONNECTIONS)]
        try:
            for _ in range(100):  # until the server has taken every idle connection
                if server._open == MAX_CONNECTIONS:
                    break
                await asyncio.sleep(0.02)
            refused = await _raw(port, b"GET /metrics HTTP/1.1\r\n\r\n")
        finally:
            for _, writer in idle:
                writer.close()
        for _ in range(250):
            if server._open == 0:
                break
            await asyncio.sleep(0.02)
        answered = await _raw(port, b"GET /metrics HTTP/1.1\r\n\r\n")
        await server.close()
        return refused, answered

    refused, answered = asyncio.run(go())
    assert refused == b""
    assert answered.startswith(b"HTTP/1.1 200 OK") and answered.endswith(b"hacore_x 1\n")
