"""The self-stop budget a node's health is judged by: it follows the active services and
the configuration, although it is only recomputed when one of them changed."""

from __future__ import annotations

from daemon_support import token_config

from hacore.daemon.local import LocalNode
from hacore.daemon.runner import ServiceRunner
from hacore.daemon.store import LocalStore
from hacore.executor.operation import KILL_WAIT


def local_node(tmp_path, config) -> LocalNode:
    store = LocalStore(str(tmp_path / "state"))
    return LocalNode(config, "n1", ServiceRunner(config, "n1", None), store,  # type: ignore[arg-type]
                     store.load(), lambda *_: None, lambda: None)  # type: ignore[arg-type,return-value]


def test_budget_follows_active_services_and_configuration(tmp_path):
    """Stop timeouts plus the kill wait of every resource of every active service; a
    service becoming active, one stopping and a new configuration each change it."""
    services = {"web": ["web-a", "web-b"], "db": ["db-a"]}
    config = token_config(tmp_path, services=services, stop_timeout=5.0)
    node = local_node(tmp_path, config)
    assert node.self_stop_budget() == 0.0
    node.active["web"] = ["web-a", "web-b"]
    assert node.self_stop_budget() == 2 * (5.0 + KILL_WAIT)
    assert node.self_stop_budget() == 2 * (5.0 + KILL_WAIT)  # asked again: the same
    node.active["db"] = ["db-a"]
    assert node.self_stop_budget() == 3 * (5.0 + KILL_WAIT)
    del node.active["web"]
    assert node.self_stop_budget() == 5.0 + KILL_WAIT
    (tmp_path / "new").mkdir()
    node.config = token_config(tmp_path / "new", services=services, stop_timeout=20.0)
    assert node.self_stop_budget() == 20.0 + KILL_WAIT
