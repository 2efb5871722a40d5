"""Agreed views (MembershipView.agreed) and quorum figures that say why, on loopback.

A view is agreed when its coordinator holds the lease, every member confirmed its epoch and
no node the coordinator reaches is left out. The fencer fences only on an agreed view, so
the property that matters is: an agreed view never leaves out a live node the coordinator
hears both ways, even right after a coordinator change, when the new coordinator already
has a quorum of grants but not yet every vote.
"""

from __future__ import annotations

import asyncio

from hacore.membership.contract import MembershipEvent

from .cluster import LocalCluster, make_config

ALL5 = ["n1", "n2", "n3", "n4", "n5"]


def run(coro) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(asyncio.wait_for(coro, 120))


def test_after_the_coordinator_crashes_no_agreed_view_leaves_a_live_node_out() -> None:
    """5 nodes, n1 (the coordinator) crashes, n5 noticing it last: n2 takes over, and every sample of every
    survivor that says agreed includes all four survivors (never only the first quorate 3
    of them); the survivors end up agreed; their quorum-lost events never show figures that
    look quorate without saying why."""
    async def body() -> None:
        c = LocalCluster(make_config(5))
        await c.start_all()
        try:
            await c.wait_for(lambda: c.agreed(ALL5, "n1"), 20)
            await c.wait_for(lambda: all(c.nodes[n].view().agreed for n in ALL5), 10)
            mark = len(c.events)
            # n2..n4 stop hearing n1 0.4 s before n5 does, so they elect n2 while n5 still
            # promises its vote to n1: n2 holds a quorate lease before n5 follows it
            for n in ("n2", "n3", "n4"):
                c.filter.block("n1", n, one_way=True)
            await asyncio.sleep(0.4)
            await c.crash("n1")
            survivors = ALL5[1:]
            partial: list[tuple[str, ...]] = []
            for _ in range(1000):  # 20 ms samples, bounded at 20 s
                c.check()
                for n in survivors:
                    v = c.nodes[n].view()
                    if v.agreed and not set(survivors) <= set(v.member_names()):
                        partial.append(v.member_names())
                if c.agreed(survivors, "n2") and all(c.nodes[n].view().agreed
                                                     for n in survivors):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("survivors never agreed: " + c.describe())
            assert partial == [], partial
            lost: list[MembershipEvent] = [e for _, _, e in c.events[mark:]
                                           if e.kind == "quorum-lost"]
            assert lost, "no survivor reported losing quorum while n2 was elected"
            for e in lost:
                q = e.view.quorum
                assert not q.quorate and q.reason, e.detail
                if q.total >= q.quorum:
                    assert "no coordinator holds a lease" in e.detail, e.detail
            assert c.violations == []
        finally:
            await c.stop_all()
    run(body())


def test_a_member_outside_the_view_but_reached_keeps_it_unagreed() -> None:
    """A restarted member is heard again before it joins: until it is in the view and
    confirmed the epoch, the coordinator's view is not agreed; then it is, with it."""
    async def body() -> None:
        c = LocalCluster(make_config(3))
        await c.start_all()
        try:
            names = ["n1", "n2", "n3"]
            await c.wait_for(lambda: c.agreed(names, "n1"), 20)
            await c.wait_for(lambda: c.nodes["n1"].view().agreed, 10)
            await c.crash("n3")
            await c.wait_for(lambda: c.agreed(["n1", "n2"], "n1"), 15)
            await c.wait_for(lambda: c.nodes["n1"].view().agreed, 10)
            await c.start("n3")
            seen_unagreed = False
            for _ in range(1000):
                c.check()
                v = c.nodes["n1"].view()
                if not v.agreed:
                    seen_unagreed = True
                elif "n3" not in v.member_names():
                    assert not c.nodes["n1"].state.peers[3].reachable, c.describe()
                if c.agreed(names, "n1") and v.agreed:
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("n3 never rejoined an agreed view: " + c.describe())
            assert seen_unagreed
            assert c.violations == []
        finally:
            await c.stop_all()
    run(body())
