"""A daemon starting into maintenance: the no-quorum rule spares the services in
maintenance its start-up probes found, until it first sees quorum or a grace passes."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from daemon_support import token_config

from hacore.daemon.local import LocalNode
from hacore.daemon.runner import ServiceRunner
from hacore.daemon.store import LocalStore


def _node(tmp_path, view) -> tuple[LocalNode, list[str]]:
    config = token_config(tmp_path, services={"web": ["web-a"], "db": ["db-a"]})
    store = LocalStore(str(tmp_path / "state"))
    node = LocalNode(config, "n1", ServiceRunner(config, "n1", None), store,  # type: ignore[arg-type]
                     store.load(), lambda *_: None, lambda: view)
    stopped: list[str] = []

    async def stop_alone(service: str, resources: list[str]) -> None:
        stopped.append(service)

    node._stop_alone = stop_alone  # type: ignore[method-assign]
    node.active = {"web": ["web-a"], "db": ["db-a"]}
    return node, stopped


def _alone() -> SimpleNamespace:
    quorum = SimpleNamespace(quorate=False, total=1, quorum=2, reason="")
    return SimpleNamespace(quorate=False, quorum=quorum, member_names=lambda: ["n1"])


def test_held_services_are_spared_until_the_grace_passes(tmp_path):
    """Without quorum, db (not held) is stopped at once; web (held) only after the grace."""
    async def go():
        node, stopped = _node(tmp_path, _alone())
        node.hold_at_startup({"web"}, grace=0.3)
        node.enforce_no_quorum()
        await asyncio.sleep(0)
        assert stopped == ["db"]
        node._stopping.clear()
        deadline = time.monotonic() + 5.0
        while "web" not in stopped and time.monotonic() < deadline:
            node.enforce_no_quorum()
            await asyncio.sleep(0.05)
        assert "web" in stopped

    asyncio.run(go())


def test_quorum_seen_once_ends_the_hold(tmp_path):
    """Once the daemon has seen quorum, a later loss of quorum stops held services too."""
    async def go():
        view = _alone()
        node, stopped = _node(tmp_path, view)
        node.hold_at_startup({"web", "db"}, grace=60.0)
        node.enforce_no_quorum()
        await asyncio.sleep(0)
        assert stopped == []
        view.quorate = True
        node.enforce_no_quorum()
        view.quorate = False
        node.enforce_no_quorum()
        await asyncio.sleep(0)
        assert sorted(stopped) == ["db", "web"]

    asyncio.run(go())
