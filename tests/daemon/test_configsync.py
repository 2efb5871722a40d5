"""Configuration distribution between in-process daemons whose messages travel over TLS."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.config.model import ClusterConfig
from hacore.daemon.configsync import newest_config, stored_path

pytestmark = pytest.mark.slow

WEB = {"web": ["web-a", "web-b"]}


def _text(tmp_path: Path, name: str, version: int, services: dict[str, list[str]]) -> str:
    """The cluster.toml of ``services`` at ``config_version = version``."""
    folder = tmp_path / name
    folder.mkdir()
    token_config(folder, services=services)
    text = (folder / "cluster.toml").read_text()
    return text.replace("config_version = 1", f"config_version = {version}")


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


def _versions(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {name: d.config.config_version for name, d in c.daemons.items()}


def test_push_adds_a_service_that_starts_and_leaves_the_others_alone(tmp_path: Path,
                                                                     executor) -> None:
    """A push through a non-coordinator returns once a quorum stored it; every node runs
    the new version, the new service starts, the unchanged one is not restarted, and a
    later push that removes a service stops it."""
    config: ClusterConfig = token_config(tmp_path, services=WEB)

    async def go() -> None:
        async with inproc_cluster(config, tmp_path, executor, tls=True) as c:
            await wait_for(lambda: c.service("web")["state"] == "started", what="web started")
            owner = c.runs("web-a")[0]
            before = _stamp(c.tokens(owner) / "web-a.running")
            v2 = _text(tmp_path, "v2", 2, {**WEB, "db": ["db-a"]})
            reply = await c.daemons["n3"].api.call("config_push", {"text": v2})
            assert reply == {"version": 2}
            stored = [n for n in c.daemons if os.path.exists(
                stored_path(str(tmp_path / n / "state")))]
            assert len(stored) >= 2  # a quorum of 3
            await wait_for(lambda: _versions(c) == {"n1": 2, "n2": 2, "n3": 2},
                           what="every node runs version 2")
            await wait_for(lambda: c.service("db")["state"] == "started", what="db started")
            assert len(c.runs("db-a")) == 1
            assert _stamp(c.tokens(owner) / "web-a.running") == before
            v3 = _text(tmp_path, "v3", 3, {"db": ["db-a"]})
            assert await c.daemons["n1"].api.call("config_push", {"text": v3}) == \
                {"version": 3}
            await wait_for(lambda: c.runs("web-a") == [] and c.runs("web-b") == [],
                           what="the removed service stopped")
            assert len(c.runs("db-a")) == 1
    asyncio.run(go())


def test_push_refuses_an_old_version_or_a_bad_text_and_changes_nothing(
        tmp_path: Path, executor) -> None:
    """A version not above the running one, an invalid text or a changed node list are
    refused with exit code 2 and a reason; every node keeps version 1."""
    config = token_config(tmp_path, services=WEB)

    async def go() -> None:
        async with inproc_cluster(config, tmp_path, executor, tls=True) as c:
            await wait_for(lambda: c.service("web")["state"] == "started")
            api = c.daemons["n2"].api
            same = _text(tmp_path, "same", 1, {**WEB, "db": ["db-a"]})
            reply = await api.call("config_push", {"text": same})
            assert reply["error"]["exit_code"] == 2
            assert "not greater than the running one (1)" in reply["error"]["message"]
            bad = _text(tmp_path, "bad", 2, WEB).replace('recovery', 'recovery') + \
                '\n[services.db]\ntree = ["nosuch"]\n'
            reply = await api.call("config_push", {"text": bad})
            assert reply["error"]["exit_code"] == 2
            assert "nosuch" in reply["error"]["message"]
            nodes = _text(tmp_path, "nodes", 2, WEB).replace("127.0.0.3", "127.0.0.9")
            reply = await api.call("config_push", {"text": nodes})
            assert "cannot change the nodes" in reply["error"]["message"]
            await asyncio.sleep(0.5)
            assert _versions(c) == {"n1": 1, "n2": 1, "n3": 1}
            assert not any(os.path.exists(stored_path(str(tmp_path / n / "state")))
                           for n in c.daemons)
    asyncio.run(go())


def test_node_down_during_push_gets_it_on_return(tmp_path: Path, executor) -> None:
    """n3 is down during the push; started again with the old --config it runs the pushed
    version from its peers; n1 restarted with the old file uses the one it stored."""
    config = token_config(tmp_path, services=WEB)

    async def go() -> None:
        async with inproc_cluster(config, tmp_path, executor, tls=True) as c:
            await wait_for(lambda: c.service("web")["state"] == "started")
            await c.crash("n3")
            await wait_for(lambda: len(c.status("n1")["members"]) >= 2 and
                           c.status("n1")["quorate"], what="n1, n2 quorate")
            v2 = _text(tmp_path, "v2", 2, {**WEB, "db": ["db-a"]})
            assert await c.daemons["n2"].api.call("config_push", {"text": v2}) == \
                {"version": 2}
            assert not os.path.exists(stored_path(str(tmp_path / "n3" / "state")))
            back = await c.boot("n3")
            assert back.config.config_version == 1
            await wait_for(lambda: back.config.config_version == 2, what="n3 gets version 2")
            assert os.path.exists(stored_path(str(tmp_path / "n3" / "state")))
            assert newest_config(config, str(tmp_path / "n1" / "state")).config_version == 2
            await c.crash("n1")
            again = await c.boot("n1")
            assert again.config.config_version == 2
            assert again.config.service("db") is not None
    asyncio.run(go())
