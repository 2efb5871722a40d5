"""The fence plugin host: finds fencer distributions (entry point group ``hacore.fencers``).

Built like the agent host: one broken plugin never stops the others; every problem is a
PluginProblem naming the distribution and the fencer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hacore.fencing import hookspec
from hacore.fencing.base import REQUIRED_METHODS, Fencer
from hacore.plugins import PluginKind, PluginProblem, PluginRegistry, Registered, check_plugin_class

OPTIONAL_METHODS = ("reboot", "monitor", "list")

__all__ = ["FencerRegistry", "NativeFencer", "PluginProblem", "check_fencer_class",
           "installed_fencers", "load_fencer_registry"]


@dataclass(frozen=True)
class NativeFencer(Registered):
    """A registered fencer class and the distribution it comes from."""


def check_fencer_class(cls: object) -> str | None:
    """Why a fencer class cannot be accepted, or None when it is sound."""
    problem = check_plugin_class(cls, Fencer, REQUIRED_METHODS, OPTIONAL_METHODS, "fencer")
    if problem:
        return problem
    if cls.name.startswith("fence_"):  # type: ignore[attr-defined]
        return f"name {cls.name!r} starts with 'fence_', which is kept for fence-agents scripts"  # type: ignore[attr-defined]
    reserved = sorted({p.name for p in cls.parameters} & {"action", "option", "nodename"})  # type: ignore[attr-defined]
    if reserved:
        return f"parameter {', '.join(reserved)} is reserved by the fence protocol"
    return None


FENCERS = PluginKind("fencer", hookspec, "hacore_register_fencers", hookspec.ENTRY_POINT_GROUP,
                     "hacore.fencing.hookimpl", check_fencer_class, NativeFencer)


@dataclass
class FencerRegistry(PluginRegistry):
    kind: PluginKind = field(default=FENCERS)

    @property
    def fencers(self) -> dict[str, NativeFencer]:
        return self.items


def load_fencer_registry() -> FencerRegistry:
    """Find every installed fencer distribution and check its fencers."""
    registry = FencerRegistry()
    registry.load_installed()
    return registry


_cached: FencerRegistry | None = None


def installed_fencers() -> FencerRegistry:
    """The fencer registry of this process, loaded once."""
    global _cached
    if _cached is None:
        _cached = load_fencer_registry()
    return _cached
