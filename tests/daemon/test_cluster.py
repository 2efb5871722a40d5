"""Three NodeDaemons over the in-process bus: placement, admin requests, failures, S1-S4."""

from __future__ import annotations

import asyncio
import time

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.api.client import ApiError

pytestmark = pytest.mark.slow


def _config(tmp_path, **kw):
    """web prefers n1, the coordinator (an ordered domain of every node, nofailback)."""
    return token_config(tmp_path, services={"web": ["web-a", "web-b"]}, first="n1", **kw)


def test_service_starts_on_one_node_and_status_says_where(tmp_path, executor):
    """web (no domain) starts once, beside the coordinator n1 (every node is idle: the tie goes
    to a node that is not the coordinator, n2 unless n3 joined first), and every node's
    status says so."""
    config = token_config(tmp_path, services={"web": ["web-a", "web-b"]})

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.service("web")["state"] == "started", what="web started")
            owner = c.service("web")["owner"]
            assert owner in ("n2", "n3")
            assert c.runs("web-a") == [owner] and c.runs("web-b") == [owner]
            await wait_for(lambda: c.service("web", "n3")["owner"] == owner, what="n3 knows")
            st = c.status("n2")
            assert st["quorate"] and st["coordinator"] == "n1"
            assert [m["state"] for m in st["members"]] == ["Online"] * 3
    asyncio.run(go())


def test_relocate_disable_enable(tmp_path, executor):
    """Admin requests through any node: relocate moves web, disable stops it, enable starts it."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.service("web")["state"] == "started")
            await c.daemons["n3"].api_service("relocate", "web", "n2")
            await wait_for(lambda: c.service("web")["owner"] == "n2"
                           and c.service("web")["state"] == "started", what="on n2")
            assert c.runs("web-a") == ["n2"]
            await c.daemons["n2"].api_service("disable", "web", None)
            await wait_for(lambda: c.service("web")["state"] == "disabled", what="disabled")
            assert c.runs("web-a") == []
            assert "disabled" in c.service("web")["reason"]
            await c.daemons["n1"].api_service("enable", "web", "n3")
            await wait_for(lambda: c.service("web")["owner"] == "n3"
                           and c.service("web")["state"] == "started", what="on n3")
            assert c.runs("web-b") == ["n3"]
    asyncio.run(go())


def test_refused_request_says_why(tmp_path, executor):
    """A request the policy refuses comes back with the reason and exit code 1; a bad name 2."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.service("web")["state"] == "started")
            await c.daemons["n2"].api_service("freeze", "web", None)
            with pytest.raises(ApiError, match="frozen; unfreeze it first") as err:
                await c.daemons["n2"].api_service("relocate", "web", None)
            assert err.value.exit_code == 1
            with pytest.raises(Exception, match="no service named 'nope'") as bad:
                await c.daemons["n2"].api_service("enable", "nope", None)
            assert bad.value.exit_code == 2
    asyncio.run(go())


def test_monitor_failure_restarts_in_place(tmp_path, executor):
    """A resource that stops by itself is restarted where it ran (recovery = restart)."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-b") == ["n1"])
            (c.tokens("n1") / "web-b.running").unlink()
            await wait_for(lambda: c.runs("web-b") == ["n1"] and
                           c.daemons["n1"].coordinator.snap.status("web").restarts,
                           what="restarted on n1")
            assert c.service("web")["state"] == "started" and c.runs("web-a") == ["n1"]
    asyncio.run(go())


def test_lost_owner_is_replaced_after_its_self_stop_deadline(tmp_path, executor):
    """Without fence methods, web moves from a crashed n1 only after n1's self-stop deadline."""
    config = token_config(tmp_path, services={"web": ["web-a"]},
                          stop_timeout=1.0, node_loss_timeout=1.0, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            await c.crash("n1")
            (c.tokens("n1") / "web-a.running").unlink()  # n1 "stopped it by itself"
            lost_at = asyncio.get_running_loop().time()
            await wait_for(lambda: c.runs("web-a") == ["n2"], what="web on n2")
            waited = asyncio.get_running_loop().time() - lost_at
            deadline = 1.0 + 1.0 + 0.5  # node loss + stop budget + margin
            assert waited >= deadline - 0.2, f"recovered after {waited:.2f} s, before S3 allows"
            assert c.service("web")["last_owner"] in ("n1", "n2")
    asyncio.run(go())


def test_minority_stops_its_services(tmp_path, executor):
    """n1 cut off alone loses quorum and stops web by itself (S2); the majority runs it."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, stop_timeout=1.0, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            c.bus.partition(["n1"], ["n2", "n3"])
            await wait_for(lambda: "n1" not in c.runs("web-a"), what="n1 stops web")
            await wait_for(lambda: c.runs("web-a") == ["n2"], what="web on n2")
            assert not c.daemons["n1"].api_status()["quorate"]
    asyncio.run(go())


def test_an_op_id_never_runs_twice(tmp_path, executor):
    """A retried op message gets the recorded answer; the operation does not run again."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            n2 = c.daemons["n2"]
            msg = {"id": "test.1", "kind": "start", "service": "web", "resources": ["web-a"]}
            n2.local.on_op("n1", msg)
            await wait_for(lambda: "test.1" in n2.state.done, what="op done")
            (c.tokens("n2") / "web-a.running").unlink()
            n2.local.on_op("n1", msg)
            await asyncio.sleep(0.3)
            assert not (c.tokens("n2") / "web-a.running").exists()
            n2.local.on_op("n3", {**msg, "id": "test.2"})  # not the coordinator: ignored
            await asyncio.sleep(0.3)
            assert "test.2" not in n2.state.done
    asyncio.run(go())


def test_copy_started_by_hand_is_found_and_stopped(tmp_path, executor):
    """A second copy started outside the cluster is found by the idle probe and stopped (S1)."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor,
                                  probe_interval=0.5) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            (c.tokens("n3") / "web-a.running").write_text("by hand")
            await wait_for(lambda: c.runs("web-a") == ["n1"], what="the copy on n3 stopped")
            assert c.service("web")["owner"] == "n1" and c.runs("web-b") == ["n1"]
    asyncio.run(go())


def test_daemon_restart_adopts_what_runs(tmp_path, executor):
    """A daemon that comes back finds web running and keeps it: adopted, not restarted."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web", "n2")["owner"] == "n1")
            await wait_for(lambda: c.service("web", "n3")["owner"] == "n1")
            stamp = (c.tokens("n1") / "web-a.running").stat().st_mtime_ns
            before = c.daemons["n1"].coordinator.incarnations["n1"]
            await c.crash("n1")
            await c.boot("n1")

            def adopted():  # the new n1 is a member and its own status says web runs there
                coord = next((d.coordinator for d in c.daemons.values()
                              if d.coordinator.active and d.coordinator.snap), None)
                if coord is None or coord.incarnations.get("n1") in (None, before):
                    return False
                st = coord.snap.status("web")
                said = (coord.status_of("n1") or {}).get("services", {}).get("web", {})
                return st.owner == "n1" and st.state == "started" and \
                    said.get("status") == "running"

            await wait_for(adopted, what="adopted")
            await asyncio.sleep(0.5)
            assert c.runs("web-a") == ["n1"]
            assert (c.tokens("n1") / "web-a.running").stat().st_mtime_ns == stamp, "restarted"
            assert not any(r["kind"] == "start" for r in c.daemons["n1"].state.done.values()
                           if r.get("node") == "n1" and r["id"].startswith("n2."))
    asyncio.run(go())


def test_whole_cluster_restart_remembers_a_disabled_service(tmp_path, executor):
    """A disabled service stays disabled after every daemon stopped and started again (S5)."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            await c.daemons["n2"].api_service("disable", "web", None)
            await wait_for(lambda: c.service("web")["state"] == "disabled")
            for name in ["n3", "n2", "n1"]:
                await c.crash(name)
            for name in ["n3", "n2", "n1"]:
                await c.boot(name)

            def decided():
                coord = next((d.coordinator for d in c.daemons.values()
                              if d.coordinator.active and d.coordinator.snap), None)
                return coord is not None and coord.ready(time.time())

            await wait_for(decided, what="a coordinator deciding")
            await asyncio.sleep(1.0)
            assert c.service("web")["state"] == "disabled" and c.runs("web-a") == []
    asyncio.run(go())


def test_clean_leave_is_not_waited_for(tmp_path, executor):
    """A node that stops its services and says it leaves is not waited for: web moves at once."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, stop_timeout=5.0, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            await wait_for(lambda: c.service("web", "n3")["owner"] == "n1")
            daemon = c.daemons.pop("n1")
            left = time.monotonic()
            await daemon.stop(stop_services=True)
            c.bus.crash("n1")
            await wait_for(lambda: c.runs("web-a") in (["n2"], ["n3"]), what="web moved")
            # a crash would wait node loss 1 + stop 5 + margin 0.5 s (the self-stop deadline)
            assert time.monotonic() - left < 5.0
    asyncio.run(go())


def test_failed_stop_keeps_the_service_off_every_node(tmp_path, executor):
    """A stop that fails on a node without fence methods marks web failed, started nowhere (S4)."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            (c.tokens("n1") / "web-b.fail-stop").write_text("")
            await c.daemons["n2"].api_service("relocate", "web", "n2")
            await wait_for(lambda: c.service("web")["state"] == "failed", what="failed")
            await asyncio.sleep(1.0)
            assert c.runs("web-a") == ["n1"] and c.runs("web-b") == ["n1"], "started elsewhere"
            assert "(S4)" in c.service("web", "n3")["reason"]
    asyncio.run(go())


def test_failed_start_is_stopped_there_then_placed_elsewhere(tmp_path, executor):
    """web fails to start on n1: it is stopped there and started on another node."""
    async def go():
        (tmp_path / "n1" / "tokens").mkdir(parents=True)
        (tmp_path / "n1" / "tokens" / "web-b.fail-start").write_text("")
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.service("web")["state"] == "started"
                           and c.service("web")["owner"] != "n1", what="started elsewhere")
            assert c.runs("web-a") == [c.service("web")["owner"]]
    asyncio.run(go())
