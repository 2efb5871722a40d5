"""The daemon's Prometheus endpoint: ``GET /metrics`` over plain HTTP on the daemon's loop.

A few dozen lines of asyncio instead of an HTTP library: one request per connection, GET
(or HEAD) of ``/metrics`` answers the exposition text, ``/`` a pointer to it, anything else
404/405. Requests are bounded in size, time and number (MAX_CONNECTIONS at once), so a stuck or
flooding client cannot hold the daemon.
The page is built at scrape time (``refresh`` is called first), so an unscraped endpoint
costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from hacore.config.build_metrics import split_listen
from hacore.config.model import DEFAULT_METRICS_LISTEN, ClusterConfig
from hacore.errors import InputError
from hacore.membership.contract import MembershipView
from hacore.observability import CONTENT_TYPE, ClusterMetrics
from hacore.policy import Snapshot

log = logging.getLogger("hacore.daemon")

DEFAULT_LISTEN = DEFAULT_METRICS_LISTEN
MAX_REQUEST = 8192
REQUEST_TIMEOUT = 5.0
#: connections served at once; more are closed at once (a flood cannot grow the daemon)
MAX_CONNECTIONS = 16


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 as ``[::1]:9664``) -> (host, port); InputError when malformed."""
    found = split_listen(text)
    if found is None:
        raise InputError(f"metrics listen address {text!r} is not HOST:PORT (e.g. "
                         f"{DEFAULT_LISTEN}, or [::1]:9664)")
    return found


class MetricsServer:
    """Serves ``page()`` at /metrics on ``listen``; ``await start()``, ``await close()``."""

    def __init__(self, listen: str, page: Callable[[], str]) -> None:
        self.host, self.port = parse_listen(listen)
        self.page = page
        self._server: asyncio.AbstractServer | None = None
        self._open = 0
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): the real port when 0 was asked for."""
        if self._server is None or not self._server.sockets:
            return self.host, self.port
        name = self._server.sockets[0].getsockname()
        return name[0], name[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  reuse_address=True)

    async def close(self) -> None:
        """Stop listening and end the connections being served (their handlers return)."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            for _ in range(100):  # bounded: each handler ends at its next read or write
                if not self._open:
                    break
                await asyncio.sleep(0.01)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= MAX_CONNECTIONS:
            writer.close()
            return
        self._open += 1
        self._writers.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            if len(head) > MAX_REQUEST:
                raise ValueError("request too large")
            method, path = _request_line(head)
            status, ctype, body = self._answer(method, path)
            header = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            writer.write(header + (b"" if method == "HEAD" else body))
            await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError, ValueError):
            pass  # a broken or slow client: just close
        except Exception:
            log.exception("metrics request failed")
        finally:
            self._open -= 1
            self._writers.discard(writer)
            writer.close()

    def _answer(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"only GET\n"
        path = path.split("?", 1)[0]
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE, self.page().encode()
        if path == "/":
            return "200 OK", "text/plain", b"hacore: metrics are at /metrics\n"
        return "404 Not Found", "text/plain", b"not found; metrics are at /metrics\n"


def update_gauges(metrics: ClusterMetrics, config: ClusterConfig, view: MembershipView,
                  snap: Snapshot | None, local_active: Iterable[str]) -> None:
    """Set the gauges from the node's current view and cluster state.

    Instances per service: on the coordinator, every node reporting the service running
    (plus its owner when started); elsewhere, 1 for a started service (its owner) from
    the replicated state. ``hacore_service_active_local`` is each node's own account.
    """
    q = view.quorum
    metrics.set_membership(members=len(view.member_names()), configured=len(config.nodes),
                           quorate=view.quorate, votes=q.total, needed=q.quorum)
    states: dict[str, tuple[str, int]] = {}
    for svc in config.services:
        st = snap.services.get(svc.name) if snap is not None else None
        if st is None:
            continue
        running = {n for n, r in (snap.reports.get(svc.name) or {}).items()
                   if r.status == "running"} if snap is not None else set()
        if st.state == "started" and st.owner:
            running.add(st.owner)
        states[svc.name] = (st.state, len(running))
    metrics.set_services(states)
    metrics.set_local([s.name for s in config.services], local_active)


def _request_line(head: bytes) -> tuple[str, str]:
    first = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = first.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError(f"not an HTTP request line: {first[:80]!r}")
    return parts[0], parts[1]
