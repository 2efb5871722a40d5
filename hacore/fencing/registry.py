"""The fence plugin host: finds fencer distributions (entry point group ``hacore.fencers``).

Built like the agent host: one broken plugin never stops the others; every problem is a
PluginProblem naming the distribution and the fencer.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata

import pluggy

from hacore.agent.params import Param
from hacore.fencing import hookspec
from hacore.fencing.base import REQUIRED_METHODS, Fencer

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
OPTIONAL_METHODS = ("reboot", "monitor", "list")


@dataclass(frozen=True)
class PluginProblem:
    """Why a fencer distribution, or one fencer of it, was refused."""

    distribution: str
    fencer: str | None
    message: str

    def __str__(self) -> str:
        who = f"fencer {self.fencer!r} from {self.distribution}" if self.fencer else self.distribution
        return f"{who} refused: {self.message}"


@dataclass(frozen=True)
class NativeFencer:
    """A registered fencer class and the distribution it comes from."""

    cls: type[Fencer]
    distribution: str

    @property
    def name(self) -> str:
        return self.cls.name


@dataclass
class FencerRegistry:
    fencers: dict[str, NativeFencer] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)

    def register_class(self, cls: object, distribution: str) -> None:
        """Check one fencer class and add it, or record why it was refused."""
        label = getattr(cls, "name", None) or getattr(cls, "__name__", repr(cls))
        problem = check_fencer_class(cls)
        if problem is None and cls.name in self.fencers:  # type: ignore[union-attr]
            other = self.fencers[cls.name].distribution  # type: ignore[union-attr]
            problem = f"the name {cls.name!r} is already taken by {other}"  # type: ignore[union-attr]
        if problem:
            self.problems.append(PluginProblem(distribution, str(label), problem))
            return
        self.fencers[cls.name] = NativeFencer(cls, distribution)  # type: ignore[union-attr,arg-type]

    def load_plugin(self, module: object, distribution: str) -> None:
        """Register one plugin module with pluggy and collect the fencers it registers."""
        manager = pluggy.PluginManager(hookspec.PROJECT)
        manager.add_hookspecs(hookspec)
        try:
            manager.register(module, name=distribution)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.problems.append(PluginProblem(distribution, None, f"bad hook implementation: {exc}"))
            return
        impls = manager.hook.hacore_register_fencers.get_hookimpls()
        if not impls:
            self.problems.append(PluginProblem(
                distribution, None, "it implements no hacore_register_fencers hook "
                "(decorate it with hacore.fencing.hookimpl)"))
            return
        for impl in impls:
            try:
                impl.function(register=lambda cls: self.register_class(cls, distribution))
            except Exception as exc:  # noqa: BLE001 - a plugin's own bug must not stop the others
                self.problems.append(PluginProblem(
                    distribution, None, f"hacore_register_fencers raised {type(exc).__name__}: {exc}"))


def check_fencer_class(cls: object) -> str | None:
    """Why a fencer class cannot be accepted, or None when it is sound."""
    if not (inspect.isclass(cls) and issubclass(cls, Fencer)):
        return "register() takes a subclass of hacore.fencing.Fencer"
    if not isinstance(cls.name, str) or not NAME_RE.match(cls.name):
        return (f"name {cls.name!r} is not valid (lower case letters, digits, '-' or '_', "
                "starting with a letter)")
    if cls.name.startswith("fence_"):
        return f"name {cls.name!r} starts with 'fence_', which is kept for fence-agents scripts"
    if not cls.shortdesc:
        return "shortdesc is empty: say in one line what device it drives"
    for method in REQUIRED_METHODS:
        if getattr(cls, method) is getattr(Fencer, method):
            return f"method {method}() is missing"
    for method in REQUIRED_METHODS + OPTIONAL_METHODS:
        func = getattr(cls, method)
        if not callable(func):
            return f"{method} is not a method"
        params = list(inspect.signature(func).parameters.values())
        extra = [p.name for p in params[1:] if p.default is inspect.Parameter.empty
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not params or extra:
            return (f"method {method}(self) must take no arguments besides self "
                    f"(has {', '.join(extra) or 'none'})")
        if inspect.iscoroutinefunction(func):
            return f"method {method}() is async; fencer methods are plain functions"
    if not isinstance(cls.parameters, tuple) or not all(isinstance(p, Param) for p in cls.parameters):
        return "parameters must be a tuple of hacore.agent.Param"
    names = [p.name for p in cls.parameters]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        return f"parameter {', '.join(duplicates)} is declared twice"
    reserved = sorted(set(names) & {"action", "option", "nodename"})
    if reserved:
        return f"parameter {', '.join(reserved)} is reserved by the fence protocol"
    return None


def _entry_points() -> Iterable[importlib_metadata.EntryPoint]:
    return importlib_metadata.entry_points(group=hookspec.ENTRY_POINT_GROUP)


def _distribution_of(entry_point: importlib_metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    if dist is not None:
        return f"{dist.metadata['Name']} {dist.version}"
    return entry_point.value


def load_fencer_registry() -> FencerRegistry:
    """Find every installed fencer distribution and check its fencers."""
    registry = FencerRegistry()
    seen: set[tuple[str, str]] = set()
    for entry_point in sorted(_entry_points(), key=lambda ep: ep.name):
        distribution = _distribution_of(entry_point)
        if (entry_point.value, distribution) in seen:
            continue
        seen.add((entry_point.value, distribution))
        try:
            module = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - a broken distribution must not stop the rest
            registry.problems.append(PluginProblem(
                distribution, None, f"importing {entry_point.value} failed: {type(exc).__name__}: {exc}"))
            continue
        registry.load_plugin(module, distribution)
    return registry


_cached: FencerRegistry | None = None


def installed_fencers() -> FencerRegistry:
    """The fencer registry of this process, loaded once."""
    global _cached
    if _cached is None:
        _cached = load_fencer_registry()
    return _cached
