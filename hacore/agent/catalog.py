"""Every agent this host can run, by name: native plugins, ocf:PROVIDER:TYPE, lsb:NAME, paths."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hacore.agent.info import AgentInfo
from hacore.agent.metadata import native_info
from hacore.agent.registry import NativeAgent, installed_agents
from hacore.agent.scripts import (
    INIT_DIR,
    ScriptAgent,
    is_executable_file,
    lsb_info,
    ocf_root,
    quick_ocf_shortdesc,
    read_lsb_header,
)
from hacore.errors import AgentNotFound, InputError

AgentHandle = NativeAgent | ScriptAgent


def resolve(name: str, agent_class: str | None = None) -> AgentHandle:
    """The agent a name stands for; AgentNotFound says what names would be valid."""
    if agent_class not in (None, "ocf", "lsb"):
        raise InputError(f"agent class {agent_class!r} is not one of ocf, lsb")
    if name.startswith("ocf:"):
        parts = name.split(":")
        if len(parts) != 3 or not all(parts[1:]) or any("/" in p for p in parts[1:]):
            raise InputError(f"agent {name!r}: write OCF agents as ocf:PROVIDER:TYPE, e.g. ocf:heartbeat:Dummy")
        path = os.path.join(ocf_root(), "resource.d", parts[1], parts[2])
        if not is_executable_file(path):
            raise AgentNotFound(f"agent {name!r}: no executable OCF script at {path}")
        return ScriptAgent(name, "ocf", path, provider=parts[1], type=parts[2])
    if name.startswith("lsb:"):
        script = name[4:]
        if not script or "/" in script:
            raise InputError(f"agent {name!r}: write init scripts as lsb:NAME, e.g. lsb:apache2")
        path = os.path.join(INIT_DIR, script)
        if not is_executable_file(path):
            raise AgentNotFound(f"agent {name!r}: no executable init script at {path}")
        return ScriptAgent(name, "lsb", path, type=script)
    if "/" in name:
        path = os.path.abspath(name)
        if not is_executable_file(path):
            raise AgentNotFound(f"agent {name!r}: {path} is not an executable file")
        kind = agent_class or "ocf"
        return ScriptAgent(path, kind, path, provider="local", type=os.path.basename(path))
    registry = installed_agents()
    if name in registry.agents:
        return registry.agents[name]
    known = ", ".join(sorted(registry.agents)) or "none installed"
    raise AgentNotFound(f"no agent named {name!r} (native agents: {known}; scripts are "
                        "ocf:PROVIDER:TYPE, lsb:NAME or a path; see `hacore agent list`)")


@dataclass(frozen=True)
class AgentListing:
    name: str
    agent_class: str
    origin: str
    shortdesc: str


def list_agents(include_lsb: bool = True) -> list[AgentListing]:
    """Every agent found on this host, cheaply (scripts are read, not run)."""
    out = [AgentListing(a.name, "native", a.distribution, a.cls.shortdesc)
           for a in sorted(installed_agents().agents.values(), key=lambda a: a.name)]
    base = Path(ocf_root()) / "resource.d"
    if base.is_dir():
        for provider in sorted(p for p in base.iterdir() if p.is_dir()):
            for script in sorted(provider.iterdir()):
                if is_executable_file(str(script)) and not script.name.startswith("."):
                    out.append(AgentListing(f"ocf:{provider.name}:{script.name}", "ocf", str(script),
                                            quick_ocf_shortdesc(str(script))))
    if include_lsb and os.path.isdir(INIT_DIR):
        for script in sorted(Path(INIT_DIR).iterdir()):
            if is_executable_file(str(script)) and not script.name.startswith((".", "README")):
                header = read_lsb_header(str(script))
                out.append(AgentListing(f"lsb:{script.name}", "lsb", str(script),
                                        header.get("Short-Description", "")))
    return out


def describe(handle: AgentHandle) -> AgentInfo:
    """The agent's meta-data as AgentInfo (an OCF script's meta-data action is run)."""
    if isinstance(handle, NativeAgent):
        return native_info(handle.cls, handle.distribution)
    if handle.agent_class == "lsb":
        return lsb_info(handle)
    from hacore.executor import run_metadata

    return run_metadata(handle)


def describe_agent(name: str, agent_class: str | None = None) -> AgentInfo:
    """AgentInfo for an agent name; AgentNotFound for an unknown one."""
    return describe(resolve(name, agent_class))
