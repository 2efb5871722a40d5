"""`hacore cluster stop` on in-process daemons: services stop in reverse start order where
they run, nothing starts, every daemon leaves cleanly; a failed stop keeps them up."""

from __future__ import annotations

import asyncio
import logging

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.config import load_config
from hacore.errors import OperationFailed
from hacore.policy import RequestRefused

pytestmark = pytest.mark.slow


def _config(tmp_path):
    """db <- web (web depends on db), and batch; all start on n1 first."""
    token_config(tmp_path, services={"db": ["db-a"], "web": ["web-a"], "batch": ["batch-a"]},
                 first="n1")
    path = tmp_path / "cluster.toml"
    path.write_text(path.read_text().replace("[services.web]\n",
                                             '[services.web]\ndepend = "db"\n'))
    return load_config(str(path))


def _exits_on_leave(c, exited: list[str]) -> None:
    """Each daemon's on_leave does what hacore.daemon.main does: stop cleanly."""
    for name, daemon in c.daemons.items():
        async def leave(name=name, daemon=daemon):
            await daemon.stop(stop_services=True, drain=True)
            c.daemons.pop(name, None)
            exited.append(name)
        daemon.on_leave = lambda leave=leave: asyncio.ensure_future(leave())


def test_cluster_stop_stops_in_reverse_order_then_every_daemon(tmp_path, executor, caplog):
    """web stops before db, each once where it ran, no start and no fence on the way; every
    daemon leaves, the asked one last; started again, db and web run, batch stays
    disabled."""
    config = _config(tmp_path)
    caplog.set_level(logging.INFO, logger="hacore.daemon")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: all(c.runs(r) for r in ("db-a", "web-a", "batch-a")),
                           what="every service running")
            await c.daemons["n2"].api_service("disable", "batch", None)
            await wait_for(lambda: not c.runs("batch-a"), what="batch disabled")
            ran = {r: c.runs(r) for r in ("db-a", "web-a")}
            exited: list[str] = []
            _exits_on_leave(c, exited)
            mark = len(caplog.records)
            reply = await c.daemons["n2"].api_cluster_stop(30.0)
            assert sorted(reply["stopped"]) == ["db", "web"]
            await wait_for(lambda: len(exited) == 3, what="every daemon exited")
            assert exited[-1] == "n2", exited
            assert sorted(reply["exited"]) == ["n1", "n2", "n3"]
            assert not c.runs("db-a") and not c.runs("web-a")
            after = [r.getMessage() for r in caplog.records[mark:]]
            stops = [m.split(" (")[0] for m in after if m.startswith("done: stop ")]
            assert stops == [f"done: stop web on {ran['web-a'][0]}",
                             f"done: stop db on {ran['db-a'][0]}"], stops
            assert not [m for m in after if "start " in m and m.startswith("done:")], after
            assert not [m for m in after if m.lower().startswith("fenc")], after
            for name in ("n1", "n2", "n3"):
                await c.boot(name)
            await wait_for(lambda: c.runs("db-a") and c.runs("web-a"), timeout=30,
                           what="db and web started again")
            assert c.service("batch", "n1")["state"] == "disabled"
            assert not c.runs("batch-a")

    asyncio.run(go())


def test_a_failed_stop_names_the_service_and_keeps_the_daemons(tmp_path, executor):
    """web's stop fails: the request fails naming web and its node, web is failed there,
    db (which web depends on) keeps running, no daemon exits; n3 joining meanwhile starts
    nothing; --cancel ends the stop and batch runs again."""
    config = _config(tmp_path)

    async def go():
        async with inproc_cluster(config, tmp_path, executor, nodes=["n1", "n2"]) as c:
            await wait_for(lambda: c.runs("db-a") and c.runs("web-a"), what="running")
            node = c.runs("web-a")[0]
            (c.tokens(node) / "web-a.fail-stop").write_text("")
            exited: list[str] = []
            _exits_on_leave(c, exited)
            with pytest.raises(OperationFailed, match=f"stopping service web failed on {node}"):
                await c.daemons["n2"].api_cluster_stop(30.0)
            assert c.service("web", "n2")["state"] == "failed"
            assert c.status("n2")["stopping"] is True
            assert c.runs("db-a"), "db stopped under web, which depends on it"
            with pytest.raises(RequestRefused, match="service web on .* is failed"):
                await c.daemons["n2"].api_cluster_stop(30.0)
            assert not c.runs("batch-a")
            await c.boot("n3")
            await wait_for(lambda: c.daemons["n3"].api_status()["stopping"], what="n3 joined")
            await asyncio.sleep(1.5)
            assert not c.runs("batch-a"), "batch started while the cluster is stopping"
            assert "stopped by hacore cluster stop" in c.service("batch", "n3")["reason"]
            assert "hacore cluster stop" in c.daemons["n3"].api_why("batch")["reason"]
            assert not exited and len(c.daemons) == 3
            await c.daemons["n3"].api_cluster_stop(30.0, cancel=True)
            await wait_for(lambda: c.runs("batch-a"), what="batch runs again after --cancel")
            assert c.status("n1")["stopping"] is False

    asyncio.run(go())


def test_without_quorum_the_stop_is_refused(tmp_path, executor):
    """A node alone (two of three crashed) refuses: the stop needs quorum."""
    config = _config(tmp_path)

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("db-a"), what="running")
            await c.crash("n2")
            await c.crash("n3")
            await wait_for(lambda: not c.daemons["n1"].provider.view().quorate,
                           what="n1 inquorate")
            with pytest.raises(OperationFailed, match="not quorate"):
                await c.daemons["n1"].api_cluster_stop(10.0)

    asyncio.run(go())


def test_the_cli_prints_progress_on_stderr_and_exits_0(tmp_path, executor):
    """`hacore cluster stop --socket` against n3: progress lines on stderr, the summary on
    stdout, exit 0 once every daemon exited."""
    import sys

    config = _config(tmp_path)

    async def go():
        async with inproc_cluster(config, tmp_path, executor, socket=True) as c:
            await wait_for(lambda: c.runs("db-a") and c.runs("web-a"), what="running")
            exited: list[str] = []
            _exits_on_leave(c, exited)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hacore.cli.main", "cluster", "stop", "--timeout", "60",
                "--socket", str(tmp_path / "n3" / "hacore.sock"),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode == 0, err.decode()
            assert "stopping every service, then every daemon" in err.decode()
            assert "web: started on n1" in err.decode() and "web: stopped" in err.decode()
            assert "db: stopped" in err.decode(), err.decode()
            assert "the cluster is stopped" in out.decode()
            assert "daemons exited on n1, n2, n3" in out.decode(), out.decode()
            await wait_for(lambda: len(exited) == 3, what="every daemon exited")

    asyncio.run(go())
