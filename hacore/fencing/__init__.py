"""Fencing: fence devices as plugins, fence-agents scripts unchanged, and the rules of when
to fence.

Public API::

    from hacore.fencing import Fencer, FenceFailure, hookimpl      # write a native fencer
    from hacore.fencing import fence_node, FenceOutcome            # fence a node by its methods
    from hacore.fencing import describe_fence_agent, fence_device_parameters
    from hacore.fencing import rules                               # pure: when to fence

Importing this package is cheap: the pure rules (used by the policy engine) do not pull in
subprocess handling or plugin loading; the rest is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hacore.fencing.base import FenceFailure, Fencer
    from hacore.fencing.hookspec import hookimpl

_LAZY = {
    "Fencer": "hacore.fencing.base",
    "FenceFailure": "hacore.fencing.base",
    "hookimpl": "hacore.fencing.hookspec",
    "fence_node": "hacore.fencing.methods",
    "FenceOutcome": "hacore.fencing.methods",
    "DeviceReply": "hacore.fencing.protocol",
    "describe_fence_agent": "hacore.fencing.catalog",
    "fence_device_parameters": "hacore.fencing.catalog",
    "resolve_fence_agent": "hacore.fencing.catalog",
    "FenceAgentInfo": "hacore.fencing.metadata",
    "FenceParameter": "hacore.fencing.metadata",
    "parse_fence_metadata": "hacore.fencing.metadata",
    "fence_parameter_problems": "hacore.fencing.checks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hacore.fencing' has no attribute {name!r}")


__all__ = [
    "DeviceReply", "FenceAgentInfo", "FenceFailure", "FenceOutcome", "FenceParameter", "Fencer",
    "describe_fence_agent", "fence_device_parameters", "fence_node", "fence_parameter_problems",
    "hookimpl", "parse_fence_metadata", "resolve_fence_agent",
]
