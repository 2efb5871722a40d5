"""A clean departure moves services first (hacore node leave, SIGTERM): in-process daemons."""

from __future__ import annotations

import asyncio
import time

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.daemon.departure import DRAIN_TIMEOUT
from hacore.errors import InputError, OperationFailed

pytestmark = pytest.mark.slow


def test_departure_drains_first_and_lifts_its_standby_on_return(tmp_path, executor):
    """n1 leaving runs web's stop as the coordinator's drain op, web starts elsewhere, n1
    is not fenced-waited, and on its return n1 is out of standby again."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, stop_timeout=5.0, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web", "n3")["owner"] == "n1", what="web on n1")
            n1 = c.daemons.pop("n1")
            await n1.stop(stop_services=True, drain=True)
            stops = [r for r in n1.state.done.values()
                     if r["kind"] == "stop" and r["service"] == "web" and r["ok"]]
            assert stops, "web was stopped by the shutdown, not moved by the coordinator"
            assert n1.state.unstandby_on_join
            c.bus.crash("n1")
            await wait_for(lambda: c.runs("web-a") in (["n2"], ["n3"]) and
                           c.service("web", "n2")["state"] == "started", what="web moved")
            await c.boot("n1")

            def out_of_standby():
                coord = next((d.coordinator for d in c.daemons.values()
                              if d.coordinator.active and d.coordinator.snap), None)
                return (coord is not None and "n1" not in coord.snap.standby
                        and not c.daemons["n1"].state.unstandby_on_join)

            await wait_for(out_of_standby, what="n1 out of standby after its return")

    asyncio.run(go())


def test_leave_is_asked_of_the_leaving_node_itself(tmp_path, executor):
    """hacore node leave NAME through another node's socket is an input error; through its
    own it triggers the daemon's clean shutdown."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            with pytest.raises(InputError, match="ask n2's own daemon"):
                await c.daemons["n1"].api_node("leave", "n2")
            with pytest.raises(OperationFailed, match="cannot leave on request"):
                await c.daemons["n2"].api_node("leave", "n2")
            asked = asyncio.Event()
            c.daemons["n2"].on_leave = asked.set
            assert (await c.daemons["n2"].api_node("leave", "n2"))["leaving"] == "n2"
            await asyncio.wait_for(asked.wait(), 5)

    asyncio.run(go())


def test_departure_does_not_wait_for_a_frozen_service(tmp_path, executor):
    """A frozen web is not moved by the cluster: the departure does not wait the drain
    timeout for it, and stops it here."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            await c.daemons["n2"].api_service("freeze", "web", None)
            await wait_for(lambda: c.service("web", "n1")["frozen"], what="frozen")
            n1 = c.daemons.pop("n1")
            began = time.monotonic()
            await n1.stop(stop_services=True, drain=True)
            assert time.monotonic() - began < DRAIN_TIMEOUT / 2, "waited for the drain timeout"
            assert "n1" not in c.runs("web-a")
            c.bus.crash("n1")

    asyncio.run(go())
