"""The journal cluster-wide: pages that fit a datagram, asked again when lost, merged."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from hacore.daemon.events import EventLog
from hacore.daemon.journal_requests import PAGE_BYTES, JournalRequests, paginate
from hacore.daemon.messages import decode, encode
from hacore.journal import compose


def test_pages_stay_small_and_keep_every_event_in_order():
    """300 events are cut into pages of at most PAGE_BYTES of JSON, none lost; an event
    longer than a page is cut to fit; every encoded page fits an 8 KiB datagram."""
    events = [{"seq": i, "message": "x" * (i % 50), "fields": {}} for i in range(300)]
    events.append({"seq": 300, "message": "y" * 20000, "fields": {"big": "z" * 9000}})
    pages = paginate(events)
    assert [e["seq"] for p in pages for e in p] == list(range(301))
    assert pages[-1][-1]["message"].endswith("[cut]") and pages[-1][-1]["fields"] == {"cut": True}
    for page in pages:
        assert len(json.dumps(page, separators=(",", ":"))) <= PAGE_BYTES + 2
        payload = encode("journal-part", {"id": "1.1", "page": 0, "pages": 9, "events": page})
        assert len(payload) < 7000 and decode(payload)["events"] == page
    assert paginate([]) == [[]]


class _Node:
    """Just what JournalRequests reads of a NodeDaemon, over a lossy in-memory link."""

    def __init__(self, name: str, tmp, net: dict, drop_every: int) -> None:
        self.node = name
        self.events = EventLog(str(tmp / name), name)
        self.config = SimpleNamespace(nodes=[SimpleNamespace(name=n) for n in ("a", "b", "c")])
        self.provider = SimpleNamespace(view=lambda: SimpleNamespace(
            member_names=lambda: ["a", "b"]))
        self.net = net
        self.sent = 0
        self.drop_every = drop_every
        self.requests = JournalRequests(self)

    def _incarnation(self) -> int:
        return 7

    def send(self, node: str, kind: str, body: dict) -> None:
        self.sent += 1
        if self.drop_every and self.sent % self.drop_every == 0:
            return  # lost, like a datagram
        body = decode(encode(kind, body))
        asyncio.get_running_loop().call_soon(self.net[node].requests.on_message, self.node,
                                             kind, body)


def test_a_lossy_link_still_brings_every_page_and_a_missing_member_is_named(tmp_path):
    """b's 200 events reach a although every third message is lost; they merge with a's
    own by time; c (not in the view) is reported missing, not waited for."""
    net: dict = {}
    a = net["a"] = _Node("a", tmp_path, net, drop_every=3)
    b = net["b"] = _Node("b", tmp_path, net, drop_every=3)
    for i in range(200):
        b.events.record(compose.admin(f"hacore service enable s{i} " + "p" * 40))
        if i % 100 == 0:
            a.events.record(compose.admin(f"on a {i}"))

    async def go():
        return await a.requests.cluster_events()

    reply = asyncio.run(go())
    got = reply["events"]
    assert reply["nodes"] == {"a": "ok", "b": "ok", "c": "not a member of this node's view"}
    assert [e["seq"] for e in got if e["node"] == "b"] == list(range(1, 201))
    assert [e["seq"] for e in got if e["node"] == "a"] == [1, 2]
    assert [e["time"] for e in got] == sorted(e["time"] for e in got)
    assert b.sent > 10  # several pages were needed


def test_after_and_filters_are_applied_by_the_member(tmp_path):
    """after={b: 5} and service=s2 bring only b's later events about s2."""
    net: dict = {}
    a = net["a"] = _Node("a", tmp_path, net, drop_every=0)
    b = net["b"] = _Node("b", tmp_path, net, drop_every=0)
    for i in range(10):
        b.events.record(compose.admin(f"cmd {i}", service=f"s{i % 3}"))

    reply = asyncio.run(a.requests.cluster_events(service="s2", after={"b": 5, "a": 0}))
    assert [(e["node"], e["seq"]) for e in reply["events"]] == [("b", 6), ("b", 9)]


def test_a_member_that_never_answers_times_out(tmp_path):
    """A member whose every message is lost is reported as not answering in time."""
    net: dict = {}
    a = net["a"] = _Node("a", tmp_path, net, drop_every=1)
    net["b"] = _Node("b", tmp_path, net, drop_every=1)

    async def go():
        return await a.requests.fetch("b", {}, timeout=1.0)

    try:
        asyncio.run(go())
    except TimeoutError:
        pass
    else:
        raise AssertionError("fetch returned although nothing was answered")
    reply = asyncio.run(a.requests.cluster_events(timeout=1.0))
    assert reply["nodes"]["b"] == "did not answer in time"
