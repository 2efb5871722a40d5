"""The executor: every agent operation in its own child, process group and cgroup, killable.

Importing the package is cheap (the policy engine reads its limits); the machinery loads
when an operation runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hacore.executor.operation import KILL_WAIT, OperationRequest, OperationResult

if TYPE_CHECKING:
    from hacore.agent.info import AgentInfo
    from hacore.agent.scripts import ScriptAgent
    from hacore.executor.cgroups import CgroupTree

_tree: CgroupTree | None = None


def cgroup_tree() -> CgroupTree:
    from hacore.executor.cgroups import CgroupTree

    global _tree
    if _tree is None:
        _tree = CgroupTree.discover()
    return _tree


def run_operation(request: OperationRequest, handle=None) -> OperationResult:
    """Run one operation from this process (fork, wait, kill at the timeout)."""
    from hacore.agent.catalog import resolve
    from hacore.executor.spawn import RunningOperation, wait_for

    handle = handle if handle is not None else resolve(request.agent, request.agent_class)
    op = RunningOperation(request, handle, cgroup_tree())
    op.start()
    return wait_for(op)


def run_metadata(handle: ScriptAgent, timeout: float = 10.0) -> AgentInfo:
    """Run an OCF script's meta-data action and parse what it prints."""
    from hacore.agent.codes import OCF
    from hacore.agent.metadata import MetadataError, parse_metadata

    request = OperationRequest(handle.name, "meta-data", handle.type or "metadata", timeout=timeout)
    result = run_operation(request, handle)
    if result.code != OCF.SUCCESS:
        raise MetadataError(f"agent {handle.name}: meta-data failed with {result.code.label} "
                            f"({result.reason or 'no reason given'})")
    return parse_metadata(result.stdout, name=handle.name, agent_class=handle.agent_class,
                          origin=handle.path)


__all__ = [
    "KILL_WAIT",
    "OperationRequest",
    "OperationResult",
    "cgroup_tree",
    "run_metadata",
    "run_operation",
]
