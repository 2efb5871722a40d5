"""While nothing happens, heartbeats are read at ticks only; anything happening reads them
as they arrive again, before anyone could be declared lost.

A packet read at the next tick instead of at once only makes a node learn later: freshness
and leases count from the sender's own send times (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import time

from .cluster import LocalCluster, make_config
from .test_cluster import ALL3, run, started


def reading(c: LocalCluster, name: str) -> bool:
    return any(link.reading for link in c.nodes[name].links)


async def quiet(c: LocalCluster, names: list[str]) -> None:
    await c.wait_for(lambda: not any(reading(c, n) for n in names), 20)


def test_a_settled_cluster_reads_at_ticks_and_stays_as_it_is() -> None:
    """Once the view is agreed and nothing changes, every node stops reading packets as they
    arrive; leases stay fresh, no event is emitted, no peer is lost, over 3 s (30 ticks).
    (A tick late by an interval on a loaded machine may wake reading for a few ticks: most
    samples must be quiet, not all.)"""
    async def body() -> None:
        c = await started(3)
        try:
            await quiet(c, ALL3)
            events_before = len(c.events)
            epoch = c.nodes["n1"].view().epoch
            samples: list[bool] = []
            leased: list[bool] = []
            await c.hold(lambda: c.agreed(ALL3) and not samples.append(
                not any(reading(c, n) for n in ALL3)) and not leased.append(
                all(c.nodes[n].holds_fresh_lease() for n in ALL3)), 3.0)
            assert sum(samples) > len(samples) / 2, f"quiet in {sum(samples)} of {len(samples)}"
            # a member's lease has a thin margin (0.1-0.2 s at T = 1 s, quiet or not), so a
            # loaded machine may lapse it for a sample: most samples, not all
            assert sum(leased) > len(leased) * 0.9, f"leased in {sum(leased)} of {len(leased)}"
            assert len(c.events) == events_before, c.events[events_before:]
            assert c.nodes["n2"].view().epoch == epoch
            assert all(p.state.peers[q].last_heard > time.monotonic() - 1
                       for p in c.nodes.values() for q in p.state.peers), "packets still read"
        finally:
            await c.stop_all()
    run(body())


def test_a_crash_while_quiet_reads_at_once_before_the_loss() -> None:
    """A member crashes while the cluster is quiet: each survivor reads packets as they come
    again before its view drops the crashed node, and the survivors agree without it."""
    async def body() -> None:
        c = await started(3)
        try:
            await quiet(c, ALL3)
            seen: list[tuple[str, bool]] = []
            for name in ("n1", "n2"):
                c.nodes[name].on_event(
                    lambda e, n=name: seen.append((n, reading(c, n)))
                    if e.kind == "view" and "n3" in e.left else None)
            await c.crash("n3")
            await c.wait_for(lambda: c.agreed(["n1", "n2"]), 15)
            assert sorted(n for n, _ in seen) == ["n1", "n2"], seen
            assert all(awake for _, awake in seen), f"a loss judged while not reading: {seen}"
            assert c.violations == []
        finally:
            await c.stop_all()
    run(body())


def test_a_view_change_wakes_reading_and_quiet_returns() -> None:
    """A node joining a quiet cluster is taken in (its heartbeats read at the next tick),
    the change makes every member read at once, and once settled they go quiet again."""
    async def body() -> None:
        c = LocalCluster(make_config(4))
        for name in ALL3:
            await c.start(name)
        try:
            await c.wait_for(lambda: c.agreed(ALL3), 20)
            await quiet(c, ALL3)
            woke: list[str] = []
            for name in ALL3:
                c.nodes[name].on_event(
                    lambda e, n=name: woke.append(n) if reading(c, n) else None)
            await c.start("n4")
            await c.wait_for(lambda: c.agreed(ALL3 + ["n4"]), 20)
            assert set(woke) == set(ALL3), woke
            await quiet(c, ALL3 + ["n4"])
        finally:
            await c.stop_all()
    run(body())


def test_a_peer_asking_for_answers_wakes_reading() -> None:
    """Packets lost on the way to a peer: it asks for immediate answers, and the asked node
    reads as packets arrive while it does (no peer is lost at 30 % loss)."""
    async def body() -> None:
        c = await started(3)
        try:
            await quiet(c, ALL3)
            c.filter.loss = 0.3
            await c.wait_for(lambda: reading(c, "n1") or reading(c, "n2"), 20)
            await c.hold(lambda: c.agreed(ALL3), 3.0)
            c.filter.clear()
            await quiet(c, ALL3)
        finally:
            await c.stop_all()
    run(body())


def test_reading_paused_still_drains_every_link() -> None:
    """With two links, a quiet node reads both at each tick: neither is reported down."""
    async def body() -> None:
        c = await started(3, links=2)
        try:
            await quiet(c, ALL3)
            await c.hold(lambda: all(not c.nodes[n].view().links_down for n in ALL3), 2.0)
        finally:
            await c.stop_all()
    asyncio.run(asyncio.wait_for(body(), 120))
