"""Helpers of the daemon tests: a cluster of token resources (imported by name, not as conftest)."""

from __future__ import annotations

import os
from pathlib import Path

from hacore.config import load_config
from hacore.config.model import ClusterConfig

TOKEN = str(Path(__file__).parent / "agents" / "token")


def token_config(tmp_path: Path, nodes: int = 3, services: dict[str, list[str]] | None = None,
                 extra: str = "", monitor_interval: float = 0.3,
                 node_loss_timeout: float = 1.0, stop_timeout: float = 5.0,
                 first: str | None = None) -> ClusterConfig:
    """A cluster of ``nodes`` nodes whose services are chains of token resources.

    ``first``: every service is in an ordered failover domain of every node (nofailback)
    with this node first, so it starts there (for tests about a service on the coordinator,
    n1: the placement tie-break alone would put it beside the coordinator)."""
    services = services if services is not None else {"web": ["web-a", "web-b"]}
    lines = ['[cluster]', 'name = "t"', 'config_version = 1', '']
    for i in range(1, nodes + 1):
        lines += ['[[nodes]]', f'name = "n{i}"', f'id = {i}', f'addresses = ["127.0.0.{i}"]', '']
    lines += ['[timing]', f'node_loss_timeout = {node_loss_timeout}', 'post_join_delay = 0.2',
              'self_stop_margin = 0.5', '']
    if first is not None:
        order = [first] + [f"n{i}" for i in range(1, nodes + 1) if f"n{i}" != first]
        members = ", ".join(f'"{n}"' for n in order)
        lines += [f'[domains.first-{first}]', f'members = [{members}]', 'ordered = true',
                  'nofailback = true', '']
    for svc, resources in services.items():
        for res in resources:
            lines += [f'[resources.{res}]', f'agent = "{TOKEN}"',
                      (f'operations = {{ monitor = {{ interval = {monitor_interval}, timeout = {min(5.0, 10 * monitor_interval)} }},'
                      f' start = {{ timeout = 5 }}, stop = {{ timeout = {stop_timeout} }} }}'), '']
        tree = ", ".join(f'"{r}"' for r in resources)
        lines += [f'[services.{svc}]', f'tree = [{tree}]', f'order = [{tree}]',
                  *([f'domain = "first-{first}"'] if first is not None else []),
                  f'stop_order = [{", ".join(repr(r).replace(chr(39), chr(34)) for r in reversed(resources))}]',
                  '']
    text = "\n".join(lines) + "\n" + extra
    path = tmp_path / "cluster.toml"
    path.write_text(text)
    return load_config(str(path))


def token_env(directory: Path, node: str) -> dict[str, str]:
    """The environment that makes the token agent keep its state in ``directory``."""
    os.makedirs(directory, exist_ok=True)
    return {"HACORE_TOKEN_DIR": str(directory), "HACORE_NODE": node}
