"""Small config builders for the policy unit tests (the compact scenario form)."""

from __future__ import annotations

from typing import Any

from scenarios.compact import build_config

from hacore.config.model import ClusterConfig


def cluster(nodes: int = 3, services: dict[str, Any] | None = None, **extra: Any) -> ClusterConfig:
    """n1..nN, each with a fence method unless listed in ``no_fence``."""
    data: dict[str, Any] = {"nodes": [f"n{i}" for i in range(1, nodes + 1)],
                            "services": services if services is not None else {"web": {}}}
    data.update(extra)
    return build_config(data)
