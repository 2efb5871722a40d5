"""Maintenance mode in running daemons (in-process cluster, token resources)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from inproc import inproc_cluster, wait_for
from test_journal import fenced_config

from hacore.api.client import ApiError
from hacore.errors import HacoreError

pytestmark = pytest.mark.slow


def _coordinator(c):
    return next(d.coordinator for d in c.daemons.values()
                if d.coordinator.active and d.coordinator.snap is not None)


def _ops(c, service, kinds=("start", "stop", "restart")):
    """Every op of ``kinds`` each live daemon ran for ``service`` (id, node, kind)."""
    return sorted((r["id"], r["node"], r["kind"]) for d in c.daemons.values()
                  for r in d.state.done.values()
                  if r["service"] == service and r["kind"] in kinds)


def test_service_maintenance_monitor_failure_is_shown_not_acted_on(tmp_path, executor):
    """web in maintenance: its resource vanishing on n2 shows in status and why on another
    node, nothing restarts it, restart is refused naming the way out; maintenance off
    re-probes and restarts it."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n2")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n2"] and
                           c.service("web", "n3")["state"] == "started", what="web on n2")
            await c.daemons["n3"].api_service("maintenance-on", "web", None)
            await wait_for(lambda: c.service("web", "n3")["maintenance"], what="maintenance")
            before = _ops(c, "web")
            (c.tokens("n2") / "web-a.running").unlink()  # killed by hand
            await wait_for(lambda: c.service("web", "n3")["reports"].get("n2"),
                           what="the failed monitor reported")
            svc = c.service("web", "n3")
            assert "in maintenance; its monitor on n2 fails" in svc["reason"]
            assert "hacore does nothing until maintenance is off" in svc["reason"]
            why = c.daemons["n1"].api_why("web")
            assert why["maintenance"] and "its monitor on n2 fails" in why["reason"]
            with pytest.raises(ApiError, match="is in maintenance.*maintenance off web"):
                await c.daemons["n1"].api_service("restart", "web", None)
            await asyncio.sleep(1.5)  # five monitor intervals: nothing is done about it
            assert c.runs("web-a") == [] and _ops(c, "web") == before
            assert _coordinator(c).snap.status("web").restarts == ()
            await c.daemons["n3"].api_service("maintenance-off", "web", None)
            await wait_for(lambda: c.runs("web-a") == ["n2"] and
                           c.service("web", "n3")["state"] == "started"
                           and not c.service("web", "n3")["unmanaged"], what="web recovered")
            probes = [r for d in c.daemons.values() for r in d.state.done.values()
                      if r["kind"] == "probe" and r["service"] == "web"]
            assert sorted(r["node"] for r in probes) == ["n1", "n2", "n3"]

    asyncio.run(go())


def test_copy_started_by_hand_is_reported_then_stopped_after_maintenance(tmp_path, executor):
    """A copy of web started by hand on n3 during maintenance is found by the periodic
    probes and reported, not stopped; leaving maintenance stops it there (S1), n2 keeps its
    copy."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n2")

    async def go():
        async with inproc_cluster(config, tmp_path, executor, probe_interval=0.3) as c:
            await wait_for(lambda: c.runs("web-a") == ["n2"] and
                           c.service("web", "n1")["state"] == "started", what="web on n2")
            await c.daemons["n1"].api_service("maintenance-on", "web", None)
            (c.tokens("n3") / "web-a.running").write_text("by hand\n")
            await wait_for(lambda: c.service("web", "n1")["reports"].get("n3"),
                           what="the copy on n3 reported")
            assert "ALSO REPORTED RUNNING on n3" in c.service("web", "n1")["reason"]
            await asyncio.sleep(1.0)
            assert c.runs("web-a") == ["n2", "n3"]
            await c.daemons["n1"].api_service("maintenance-off", "web", None)
            await wait_for(lambda: c.runs("web-a") == ["n2"], what="the copy on n3 stopped")
            assert c.service("web", "n1")["owner"] == "n2"

    asyncio.run(go())


def test_cluster_maintenance_daemon_stop_leaves_services_and_is_adopted(tmp_path, executor):
    """Cluster maintenance on: n2's daemon stops cleanly, web keeps running there, n2 is not
    fenced and web not recovered elsewhere; n2's daemon returns and adopts web (no start);
    maintenance off changes nothing. Enable is refused meanwhile."""
    config = fenced_config(tmp_path, services={"web": ["web-a"], "db": ["db-a"]}, first="n2")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n2"] and c.runs("db-a") == ["n2"]
                           and c.service("db", "n1")["state"] == "started", what="both on n2")
            reply = await c.daemons["n1"].api_cluster_maintenance(True)
            assert reply["maintenance"] and reply["version"] > 0
            await wait_for(lambda: c.status("n3")["maintenance"], what="flag on n3")
            token = (c.tokens("n2") / "web-a.running").stat().st_mtime_ns
            n2 = c.daemons.pop("n2")
            await n2.stop(stop_services=True, drain=True)
            c.bus.crash("n2")
            ran = set(_ops(c, "web") + _ops(c, "db")) | {
                (r["id"], r["node"], r["kind"]) for r in n2.state.done.values()
                if r["kind"] in ("start", "stop", "restart")}
            await wait_for(lambda: "n2" in _coordinator(c).snap.lost, what="n2 lost")
            lost = _coordinator(c).snap.lost["n2"]
            assert lost.kept_running and not lost.fenced
            assert "left with it running" in c.service("web", "n1")["reason"]
            with pytest.raises(ApiError, match="the cluster is in maintenance"):
                await c.daemons["n1"].api_service("enable", "web", None)
            await asyncio.sleep(1.5)
            assert c.runs("web-a") == ["n2"] and c.runs("db-a") == ["n2"]
            assert not (tmp_path / "fence.log").exists()
            await c.boot("n2")
            await wait_for(lambda: "n2" not in _coordinator(c).snap.lost
                           and c.service("web", "n1")["owner"] == "n2"
                           and c.service("db", "n1")["owner"] == "n2"
                           and c.service("web", "n1")["state"] == "started", what="adopted")
            await c.daemons["n1"].api_cluster_maintenance(False)
            await wait_for(lambda: not c.status("n3")["maintenance"] and not any(
                s["unmanaged"] for s in c.status("n1")["services"]), what="managed again")
            await asyncio.sleep(1.0)
            assert c.runs("web-a") == ["n2"] and c.runs("db-a") == ["n2"]
            assert (c.tokens("n2") / "web-a.running").stat().st_mtime_ns == token
            assert set(_ops(c, "web") + _ops(c, "db")) == ran  # no start, stop, restart since
            assert not (tmp_path / "fence.log").exists()

    asyncio.run(go())


def test_cluster_maintenance_refused_without_quorum_and_bad_input(tmp_path, executor):
    """The cluster flag needs quorum (exit 1 with the reason) and a boolean (exit 2)."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor, nodes=["n1"]) as c:
            with pytest.raises(HacoreError, match="not quorate") as err:
                await c.daemons["n1"].api_cluster_maintenance(True)
            assert err.value.exit_code == 1
            reply = await c.daemons["n1"].api.call("cluster_maintenance", {"on": "yes"})
            assert reply["error"]["exit_code"] == 2

    asyncio.run(go())


def test_maintenance_commands_print_one_line_and_json(tmp_path, executor):
    """The CLI: service and cluster maintenance on/off print their line (or JSON), status
    shows the cluster flag on its first line, an unknown service exits 2."""
    from test_cli import ClusterThread, hacore

    with ClusterThread(tmp_path, executor) as cluster:
        sock = cluster.socket("n2")
        out = hacore("service", "maintenance", "on", "web", "--socket", sock).stdout
        assert out.strip() == "service web is in maintenance: hacore will neither start nor stop it"
        st = json.loads(hacore("status", "--json", "--socket", cluster.socket("n3")).stdout)
        web = next(s for s in st["services"] if s["name"] == "web")
        assert web["maintenance"] and web["unmanaged"] and "in maintenance" in web["reason"]
        out = hacore("service", "maintenance", "off", "web", "--json", "--socket", sock).stdout
        reply = json.loads(out)
        assert reply["maintenance"] is False and reply["state"] == "started"
        out = hacore("cluster", "maintenance", "on", "--socket", sock).stdout
        assert out.strip().startswith("the cluster is in maintenance")
        first = hacore("status", "--socket", cluster.socket("n1")).stdout.splitlines()[0]
        assert "[MAINTENANCE: nothing is started or stopped]" in first
        refused = hacore("service", "disable", "db", "--socket", sock, check=False)
        assert refused.returncode == 1 and "cluster maintenance off" in refused.stderr
        out = hacore("cluster", "maintenance", "off", "--json", "--socket", sock).stdout
        assert json.loads(out)["maintenance"] is False
        bad = hacore("service", "maintenance", "on", "nope", "--socket", sock, check=False)
        assert bad.returncode == 2 and "no service named 'nope'" in bad.stderr
        assert cluster.cluster.runs("web-a") and cluster.cluster.runs("db-a")


def test_monitor_keeps_watching_in_maintenance(tmp_path, executor):
    """In maintenance, a resource that failed and is fixed by hand is seen running again
    (the failure disappears from status) without hacore starting anything."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n2")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n2"] and
                           c.service("web", "n1")["state"] == "started", what="web on n2")
            await c.daemons["n1"].api_service("maintenance-on", "web", None)
            before = _ops(c, "web")
            token = c.tokens("n2") / "web-a.running"
            token.unlink()
            await wait_for(lambda: c.service("web", "n1")["reports"].get("n2"), what="failed")
            token.write_text("n2\n")  # fixed by hand
            await wait_for(lambda: not c.service("web", "n1")["reports"], what="running again")
            assert "its monitors on n2 report it running" in c.service("web", "n1")["reason"]
            token.unlink()  # the monitor runs again: a second failure is seen too
            await wait_for(lambda: c.service("web", "n1")["reports"].get("n2"),
                           what="failed again")
            assert _ops(c, "web") == before

    asyncio.run(go())


def test_whole_cluster_restart_keeps_maintenance_over_a_stale_node(tmp_path, executor):
    """n3 is down while web and then the cluster go into maintenance; n2 stops next, so n1,
    alone, stops web anyway (the no-quorum rule, S2, holds in maintenance). Every daemon
    starts again, n3 first: the flags come back from the quorum's newer state (S5), and
    nothing starts web while the cluster is in maintenance."""
    from daemon_support import token_config

    config = token_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web", "n2")["state"] == "started", what="web on n1")
            await c.crash("n3")
            await c.daemons["n2"].api_service("maintenance-on", "web", None)
            await c.daemons["n2"].api_cluster_maintenance(True)
            await c.crash("n2")
            await wait_for(lambda: c.runs("web-a") == [], what="n1 alone stops web (S2)")
            ran = set(_ops(c, "web"))
            await c.crash("n1")
            for name in ["n3", "n2", "n1"]:
                await c.boot(name)
            await wait_for(lambda: any(d.coordinator.active and d.coordinator.snap
                                       and d.coordinator.ready(time.time())
                                       for d in c.daemons.values()), what="a coordinator")
            await wait_for(lambda: c.status("n3")["maintenance"], what="the flag on n3")
            assert c.service("web", "n3")["maintenance"]
            await asyncio.sleep(1.0)
            assert c.runs("web-a") == [] and set(_ops(c, "web")) <= ran  # nothing started

    asyncio.run(go())


def test_leaving_maintenance_sees_a_partly_running_service(tmp_path, executor):
    """web-b of web stopped by hand in maintenance while web-a runs: the probes after
    maintenance find web partly running, so it is restarted (not taken as running)."""
    config = fenced_config(tmp_path, services={"web": ["web-a", "web-b"]}, first="n2")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-b") == ["n2"] and
                           c.service("web", "n1")["state"] == "started", what="web on n2")
            await c.daemons["n1"].api_service("maintenance-on", "web", None)
            (c.tokens("n2") / "web-b.running").unlink()
            await wait_for(lambda: c.service("web", "n1")["reports"].get("n2"), what="failed")
            await asyncio.sleep(0.7)  # the watch probes web: web-a alone is not "running"
            assert c.service("web", "n1")["reports"].get("n2")
            await c.daemons["n1"].api_service("maintenance-off", "web", None)
            await wait_for(lambda: c.runs("web-b") == ["n2"] and c.runs("web-a") == ["n2"]
                           and c.service("web", "n1")["state"] == "started"
                           and not c.service("web", "n1")["unmanaged"], what="web whole again")

    asyncio.run(go())


def test_why_in_maintenance_says_running_or_failing(tmp_path, executor):
    """hacore why: a healthy service in maintenance runs (exit 0 in the CLI) and says it is
    in maintenance; once its monitor fails it does not run and says what failed."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n2")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n2"] and
                           c.service("web", "n1")["state"] == "started", what="web on n2")
            await c.daemons["n1"].api_service("maintenance-on", "web", None)
            await wait_for(lambda: c.service("web", "n3")["maintenance"], what="maintenance")
            why = c.daemons["n3"].api_why("web")
            assert why["running"] and why["reason"].startswith("web runs on n2, in maintenance")
            (c.tokens("n2") / "web-a.running").unlink()
            await wait_for(lambda: not c.daemons["n3"].api_why("web")["running"], what="fails")
            assert "its monitor on n2 fails" in c.daemons["n3"].api_why("web")["reason"]

    asyncio.run(go())
