"""The agent plugin host: distributions in entry point group ``hacore.agents``.

Built on the plugin host shared with fence devices (hacore.plugins): a bad plugin is
refused at load with an error naming its distribution and agent; the others still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hacore.agent import hookspec
from hacore.agent.base import Agent
from hacore.plugins import (
    FoundPlugin,
    PluginKind,
    PluginProblem,
    PluginRegistry,
    Registered,
    check_plugin_class,
    find_plugins_in_child,
)

REQUIRED_METHODS = ("start", "stop", "monitor")
OPTIONAL_METHODS = ("validate",)

__all__ = ["AgentRegistry", "NativeAgent", "PluginProblem", "check_agent_class",
           "installed_agents", "load_registry"]


@dataclass(frozen=True)
class NativeAgent(Registered):
    """A registered native agent class and the distribution it comes from."""


def check_agent_class(cls: object) -> str | None:
    """Why an agent class cannot be accepted, or None when it is sound."""
    problem = check_plugin_class(cls, Agent, REQUIRED_METHODS, OPTIONAL_METHODS, "agent")
    if problem:
        return problem
    from hacore.agent.metadata import native_metadata

    try:
        native_metadata(cls)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - whatever a plugin's schema does wrong is refused
        return f"its meta-data cannot be generated: {exc}"
    return None


AGENTS = PluginKind("agent", hookspec, "hacore_register_agents", hookspec.ENTRY_POINT_GROUP,
                    "hacore.agent.hookimpl", check_agent_class, NativeAgent)


@dataclass
class AgentRegistry(PluginRegistry):
    kind: PluginKind = field(default=AGENTS)

    @property
    def agents(self) -> dict[str, NativeAgent]:
        return self.items


def load_registry(found: list[FoundPlugin] | None = None) -> AgentRegistry:
    """Find every installed agent distribution (or take ``found``) and check its agents."""
    registry = AgentRegistry()
    registry.load_installed(found)
    return registry


_cached: AgentRegistry | None = None


def installed_agents(*, discover_in_child: bool = False) -> AgentRegistry:
    """The registry of this process, loaded once. ``discover_in_child``: the entry points
    are found by a forked child (``find_plugins_in_child``), for the executor's helper."""
    global _cached
    if _cached is None:
        found = find_plugins_in_child(AGENTS.group) if discover_in_child else None
        _cached = load_registry(found)
    return _cached
