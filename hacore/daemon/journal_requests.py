"""The journal cluster-wide: a node asks every reachable member for its journal events and
merges them with its own, so ``hacore events`` on any node tells the whole story.

Over daemon messages (``NodeDaemon.send``), which may be lost and are small (the built-in
provider's datagrams hold 8 KiB), the answer comes in pages:

- ``journal-req`` {id, page, after, since, incident, service, limit}: the first request of
  an ``id`` makes the member read its journal once, keep the newest ``limit`` matching
  events after seq ``after``, cut them into pages of at most PAGE_BYTES of JSON and keep
  them for CACHE_SECONDS; each request then asks one page;
- ``journal-part`` {id, page, pages, events}: one page.

The asking node keeps WINDOW pages in flight, asks again for a page not answered within
RESEND seconds, and gives up on a member after FETCH_TIMEOUT: its events are then missing,
and the reply says so (``nodes``: name -> "ok" or why not).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from hacore.errors import OperationFailed
from hacore.journal import read_journal
from hacore.journal.reader import event_filter

if TYPE_CHECKING:
    from hacore.daemon.node import NodeDaemon

log = logging.getLogger("hacore.daemon")

PAGE_BYTES = 5000
#: an event longer than this is sent with its message cut and without its fields
EVENT_BYTES = 4000
WINDOW = 4
RESEND = 0.5
FETCH_TIMEOUT = 10.0
CACHE_SECONDS = 30.0
CACHE_ENTRIES = 8
#: the most events one member sends for one request (its newest ones)
MAX_REMOTE_EVENTS = 5000


def paginate(events: list[dict[str, Any]], page_bytes: int = PAGE_BYTES) -> list[list[dict[str, Any]]]:
    """Cut event dicts into pages of at most ``page_bytes`` of JSON (at least one event
    each); an oversized event is shortened so that it fits."""
    pages: list[list[dict[str, Any]]] = [[]]
    size = 0
    for event in events:
        length = len(json.dumps(event, separators=(",", ":"), default=str))
        if length > EVENT_BYTES:
            event = {**event, "message": str(event.get("message", ""))[:500] + " [cut]",
                     "fields": {"cut": True}}
            length = len(json.dumps(event, separators=(",", ":"), default=str))
        length += 1  # the comma between events
        if pages[-1] and size + length > page_bytes:
            pages.append([])
            size = 0
        pages[-1].append(event)
        size += length
    return pages


class _Fetch:
    """One member's answer being gathered."""

    def __init__(self) -> None:
        self.pages: int | None = None
        self.got: dict[int, list[dict[str, Any]]] = {}
        self.sent: dict[int, float] = {}
        self.arrived = asyncio.Event()


class JournalRequests:
    """Answers members' journal requests and gathers the cluster's journal for the API."""

    def __init__(self, daemon: NodeDaemon) -> None:
        self.daemon = daemon
        self._ids = itertools.count(1)
        self._fetches: dict[str, _Fetch] = {}
        self._cache: OrderedDict[str, tuple[float, list[list[dict[str, Any]]]]] = OrderedDict()
        self._reading: dict[str, asyncio.Future[list[list[dict[str, Any]]]]] = {}

    # -- messages -------------------------------------------------------------------------

    def on_message(self, sender: str, kind: str, body: dict[str, Any]) -> None:
        if kind == "journal-req":
            asyncio.ensure_future(self._answer(sender, body))
            return
        fetch = self._fetches.get(str(body.get("id")))
        if fetch is None:
            return
        page, pages = int(body.get("page", -1)), int(body.get("pages", 0))
        if 0 <= page < pages:
            fetch.pages = pages
            fetch.got[page] = [e for e in body.get("events") or [] if isinstance(e, dict)]
            fetch.arrived.set()

    async def _answer(self, sender: str, body: dict[str, Any]) -> None:
        req_id = f"{sender}:{body.get('id')}"
        try:
            pages = await self._pages(req_id, body)
        except Exception as exc:  # noqa: BLE001 - a request never takes the daemon down
            log.warning("%s: could not read the journal for %s: %s", self.daemon.node,
                        sender, exc)
            pages = [[]]
        page = int(body.get("page", 0))
        if 0 <= page < len(pages):
            self.daemon.send(sender, "journal-part", {"id": body.get("id"), "page": page,
                                                      "pages": len(pages),
                                                      "events": pages[page]})

    async def _pages(self, req_id: str, body: dict[str, Any]) -> list[list[dict[str, Any]]]:
        now = time.monotonic()
        for key, (at, _) in list(self._cache.items()):
            if now - at > CACHE_SECONDS:
                del self._cache[key]
        if req_id in self._cache:
            return self._cache[req_id][1]
        if req_id not in self._reading:  # concurrent first requests read once
            self._reading[req_id] = asyncio.ensure_future(self._read_pages(body))
        try:
            pages = await asyncio.shield(self._reading[req_id])
        finally:
            self._reading.pop(req_id, None)
        self._cache[req_id] = (time.monotonic(), pages)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return pages

    async def _read_pages(self, body: dict[str, Any]) -> list[list[dict[str, Any]]]:
        since = body.get("since")
        limit = min(int(body.get("limit") or MAX_REMOTE_EVENTS), MAX_REMOTE_EVENTS)
        found = await self.read_own(since=float(since) if since is not None else None,
                                    incident=body.get("incident"), service=body.get("service"),
                                    after=int(body.get("after") or 0))
        return paginate(found[-limit:])

    async def read_own(self, *, since: float | None, incident: str | None,
                       service: str | None, after: int) -> list[dict[str, Any]]:
        """This node's matching events after seq ``after``, oldest first."""
        directory = self.daemon.events.directory
        if directory is None or self.daemon.events.journal is None:
            raise OperationFailed(f"{self.daemon.node} keeps no event journal (see its log)")
        keep = event_filter(since=since, incident=incident, service=service)

        def read() -> list[dict[str, Any]]:
            return [e.to_dict() for e in read_journal(directory, after=after) if keep(e)]

        return await asyncio.to_thread(read)

    # -- asking ---------------------------------------------------------------------------

    async def fetch(self, node: str, query: dict[str, Any],
                    timeout: float = FETCH_TIMEOUT) -> list[dict[str, Any]]:
        """``node``'s matching events; raises TimeoutError when it did not answer in time."""
        req_id = f"{self.daemon._incarnation()}.{next(self._ids)}"
        fetch = self._fetches[req_id] = _Fetch()
        deadline = time.monotonic() + timeout
        try:
            while fetch.pages is None or len(fetch.got) < fetch.pages:
                now = time.monotonic()
                if now > deadline:
                    raise TimeoutError
                wanted = [0] if fetch.pages is None else \
                    [p for p in range(fetch.pages) if p not in fetch.got]
                for page in wanted[:WINDOW]:
                    if now - fetch.sent.get(page, 0.0) >= RESEND:
                        fetch.sent[page] = now
                        self.daemon.send(node, "journal-req", {**query, "id": req_id,
                                                               "page": page})
                fetch.arrived.clear()
                try:
                    await asyncio.wait_for(fetch.arrived.wait(), RESEND)
                except TimeoutError:
                    pass
        finally:
            self._fetches.pop(req_id, None)
        return [e for p in range(fetch.pages) for e in fetch.got[p]]

    async def cluster_events(self, *, since: float | None = None, incident: str | None = None,
                             service: str | None = None,
                             after: dict[str, int] | None = None,
                             limit: int = MAX_REMOTE_EVENTS,
                             timeout: float = FETCH_TIMEOUT) -> dict[str, Any]:
        """Every reachable member's events (this node's included), merged by time.

        ``after``: node -> the last seq already seen from it (``--follow``). The reply:
        ``{"node", "events", "nodes": {name: "ok" | why not}, "truncated"}``.
        """
        after = after or {}
        me = self.daemon.node
        members = set(self.daemon.provider.view().member_names())
        query = {"since": since, "incident": incident, "service": service, "limit": limit}
        names = [n.name for n in self.daemon.config.nodes]
        jobs: dict[str, Any] = {}
        for name in names:
            if name == me:
                jobs[name] = self.read_own(since=since, incident=incident, service=service,
                                           after=after.get(name, 0))
            elif name in members:
                jobs[name] = self.fetch(name, {**query, "after": after.get(name, 0)}, timeout)
        results = await asyncio.gather(*jobs.values(), return_exceptions=True)
        status: dict[str, str] = {n: "not a member of this node's view" for n in names}
        streams: list[list[dict[str, Any]]] = []
        truncated = False
        for name, result in zip(jobs, results):
            if isinstance(result, TimeoutError):
                status[name] = "did not answer in time"
            elif isinstance(result, BaseException):
                status[name] = str(result) or type(result).__name__
            else:
                status[name] = "ok"
                truncated = truncated or len(result) >= limit
                streams.append(result[-limit:])
        merged = sorted((e for s in streams for e in s),
                        key=lambda e: (float(e.get("time", 0)), str(e.get("node")),
                                       int(e.get("seq", 0))))
        return {"node": me, "events": merged, "nodes": status, "truncated": truncated}
