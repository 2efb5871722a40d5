"""An agreed view is published on the confirmation that agrees it, not at a later tick.

The coordinator fences a lost node only on an agreed view (every member confirmed its epoch).
A member confirms a new view as soon as it adopts it, and the coordinator publishes the view
as agreed as soon as that confirmation arrives: the wait between a node's loss and its fence
is a round trip, not up to two heartbeat intervals of polling.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .cluster import LocalCluster, make_config


def run(coro) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(asyncio.wait_for(coro, 120))


def _trace_ticks(provider: Any, flags: dict[str, bool], name: str) -> None:
    """Mark while ``provider`` runs its periodic step (everything else is a packet)."""
    step = provider._step

    def traced(now: float) -> None:
        flags[name] = True
        try:
            step(now)
        finally:
            flags[name] = False

    provider._step = traced


def test_lost_node_view_is_confirmed_and_agreed_on_packets_not_ticks() -> None:
    """n3 crashes: n2 confirms n1's new view outside its tick, and n1 publishes the view as
    agreed outside its tick (on receiving that confirmation)."""
    async def body() -> None:
        c = LocalCluster(make_config(3))
        await c.start_all()
        try:
            await c.wait_for(lambda: c.agreed(["n1", "n2", "n3"], "n1"), 20)
            await c.wait_for(lambda: c.nodes["n1"].view().agreed is True, 10)
            n1, n2 = c.nodes["n1"], c.nodes["n2"]
            in_tick = {"n1": False, "n2": False}
            _trace_ticks(n1, in_tick, "n1")
            _trace_ticks(n2, in_tick, "n2")
            agreed_events: list[bool] = []  # True: published by a tick
            n1.on_event(lambda e: agreed_events.append(in_tick["n1"])
                        if e.kind == "view" and e.view.agreed
                        and "n3" not in e.view.member_names() else None)
            sends: list[tuple[int, bool, int]] = []  # (peer id, in a tick, epoch carried)
            send = n2._send_heartbeat

            def traced_send(peer_id: int, link: int, now: float, ask_ack: bool = False) -> None:
                sends.append((peer_id, in_tick["n2"], n2.state.epoch))
                send(peer_id, link, now, ask_ack)

            n2._send_heartbeat = traced_send
            await c.crash("n3")
            await c.wait_for(lambda: bool(agreed_events), 20)
            epoch = n1.view().epoch
            assert agreed_events[0] is False, "n1 published the agreed view only at a tick"
            assert any(peer == 1 and not tick and carried >= epoch
                       for peer, tick, carried in sends), sends
            assert c.violations == []
        finally:
            await c.stop_all()
    run(body())
