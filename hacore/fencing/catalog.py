"""Every fence agent this host can run, by name: native fencers (plugins), fence-agents
scripts (``fence_ipmilan`` found in PATH, /usr/sbin, ...), or a path to a script.

``fence_device_parameters(agent)`` is what ``hacore config validate`` checks device
parameters against.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import Literal

from hacore.errors import AgentNotFound, InputError
from hacore.fencing.metadata import (
    FenceAgentInfo,
    FenceMetadataError,
    FenceParameter,
    parse_fence_metadata,
)

FENCE_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin")
METADATA_TIMEOUT = 20.0
#: device parameters hacore reads itself and never sends to the agent
HACORE_DEVICE_PARAMS = (
    FenceParameter("hacore_timeout", type="second",
                   shortdesc="Seconds one call of this device may take (default: timing.fence_timeout)"),
    FenceParameter("hacore_retries", type="integer", default="1",
                   shortdesc="How many more times a failed call is tried (default 1)"),
)


@dataclass(frozen=True)
class FenceAgentHandle:
    """How to run one fence agent: a native fencer in a child, or a script."""

    name: str
    kind: Literal["native", "script"]
    argv: tuple[str, ...]
    origin: str


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_fence_script(name: str) -> str | None:
    """The path of a fence-agents script: PATH, the sbin directories, then the directory of
    this Python's console scripts (where pip puts e.g. fence_hacore_testbed)."""
    found = shutil.which(name)
    if found:
        return os.path.abspath(found)
    for directory in (*FENCE_DIRS, os.path.dirname(sys.executable)):
        path = os.path.join(directory, name)
        if _is_executable(path):
            return path
    return None


def resolve_fence_agent(name: str) -> FenceAgentHandle:
    """The fence agent a name stands for; AgentNotFound says what names would be valid."""
    if not name:
        raise InputError("a fence device needs an agent (e.g. agent = \"fence_ipmilan\")")
    if "/" in name:
        path = os.path.abspath(name)
        if not _is_executable(path):
            raise AgentNotFound(f"fence agent {name!r}: {path} is not an executable file")
        return FenceAgentHandle(path, "script", (path,), path)
    if name.startswith("fence_"):  # never a native fencer's name (check_fencer_class)
        path = find_fence_script(name)
        if path is not None:  # no plugin scan: a daemon's first fence would pay ~20 ms
            return FenceAgentHandle(name, "script", (path,), path)
    from hacore.fencing.registry import installed_fencers

    registry = installed_fencers()
    native = registry.fencers.get(name)
    if native is not None:
        return FenceAgentHandle(name, "native",
                                (sys.executable, "-m", "hacore.fencing.native", name),
                                native.distribution)
    path = find_fence_script(name)
    if path is not None:
        return FenceAgentHandle(name, "script", (path,), path)
    natives = ", ".join(sorted(registry.fencers)) or "none installed"
    raise AgentNotFound(f"no fence agent named {name!r}: no such script in PATH or "
                        f"{', '.join(FENCE_DIRS)}, and no native fencer by that name "
                        f"(native fencers: {natives}); fence-agents scripts are named fence_*")


_info_cache: dict[tuple[str, str], FenceAgentInfo] = {}


def describe_fence_agent(name: str) -> FenceAgentInfo:
    """The agent's meta-data (a script's ``metadata`` action is run once per process)."""
    handle = resolve_fence_agent(name)
    key = (handle.kind, handle.origin)
    if key in _info_cache:
        return _info_cache[key]
    if handle.kind == "native":
        from hacore.fencing.native import native_fence_info
        from hacore.fencing.registry import installed_fencers

        info = native_fence_info(installed_fencers().fencers[name].cls, handle.origin)
    else:
        from hacore.program import run_agent_process

        result = run_agent_process(list(handle.argv), "action=metadata\n", METADATA_TIMEOUT)
        if result.timed_out or result.exit_status != 0:
            why = ("timed out" if result.timed_out else result.error
                   or f"exited {result.exit_status}: {result.stderr.strip()[-200:]}")
            raise FenceMetadataError(f"fence agent {name!r} ({handle.origin}): metadata {why}")
        info = parse_fence_metadata(result.stdout, origin=handle.origin)
    _info_cache[key] = info
    return info


def fence_device_parameters(agent_name: str) -> list[FenceParameter]:
    """The parameters a device of this agent may set: the agent's own (from its meta-data)
    plus hacore's ``hacore_timeout``/``hacore_retries``. Raises AgentNotFound or
    FenceMetadataError (both HacoreError) when the agent cannot be found or described."""
    return list(describe_fence_agent(agent_name).parameters) + list(HACORE_DEVICE_PARAMS)
