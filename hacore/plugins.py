"""The plugin host shared by agents and fence devices.

A distribution names a module in an entry point group; the module implements one pluggy
hook that registers classes; each class is checked at once. One broken plugin never stops
the others: every problem is recorded as a PluginProblem naming the distribution and the
class, and the commands that list plugins show them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from importlib import metadata as importlib_metadata

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class PluginKind:
    """What one family of plugins looks like: its hook, entry point group and class check."""

    noun: str  # "agent", "fencer"
    hookspecs: ModuleType  # defines PROJECT and the hook
    hook: str  # "hacore_register_agents"
    group: str  # "hacore.agents"
    hookimpl_name: str  # "hacore.agent.hookimpl", for the error message
    check: Callable[[object], str | None]
    entry: type  # the Registered subclass stored for each accepted class


@dataclass(frozen=True)
class PluginProblem:
    distribution: str
    item: str | None
    message: str
    noun: str = "agent"

    @property
    def agent(self) -> str | None:
        return self.item

    def __str__(self) -> str:
        who = f"{self.noun} {self.item!r} from {self.distribution}" if self.item else self.distribution
        return f"{who} refused: {self.message}"


@dataclass(frozen=True)
class Registered:
    """An accepted plugin class and the distribution it comes from."""

    cls: Any
    distribution: str

    @property
    def name(self) -> str:
        return self.cls.name


@dataclass
class PluginRegistry:
    kind: PluginKind
    items: dict[str, Any] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)

    def _problem(self, distribution: str, item: str | None, message: str) -> None:
        self.problems.append(PluginProblem(distribution, item, message, self.kind.noun))

    def register_class(self, cls: object, distribution: str) -> None:
        """Check one class and add it, or record why it was refused."""
        label = getattr(cls, "name", None) or getattr(cls, "__name__", repr(cls))
        problem = self.kind.check(cls)
        name = getattr(cls, "name", None)
        if problem is None and name in self.items:
            problem = f"the name {name!r} is already taken by {self.items[name].distribution}"
        if problem:
            self._problem(distribution, str(label), problem)
            return
        self.items[name] = self.kind.entry(cls, distribution)  # type: ignore[index]

    def load_plugin(self, module: object, distribution: str) -> None:
        """Register one plugin module with pluggy and collect the classes it registers."""
        manager = pluggy.PluginManager(self.kind.hookspecs.PROJECT)
        manager.add_hookspecs(self.kind.hookspecs)
        try:
            manager.register(module, name=distribution)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self._problem(distribution, None, f"bad hook implementation: {exc}")
            return
        impls = getattr(manager.hook, self.kind.hook).get_hookimpls()
        if not impls:
            self._problem(distribution, None, f"it implements no {self.kind.hook} hook "
                          f"(decorate it with {self.kind.hookimpl_name})")
            return
        for impl in impls:
            try:
                impl.function(register=lambda cls: self.register_class(cls, distribution))
            except Exception as exc:  # noqa: BLE001 - a plugin's own bug must not stop the others
                self._problem(distribution, None, f"{self.kind.hook} raised {type(exc).__name__}: {exc}")

    def load_installed(self, found: list[FoundPlugin] | None = None) -> None:
        """Find every installed distribution of this kind and check its classes.

        ``found``: the entry points already found (``find_plugins_in_child``)."""
        for plugin in find_plugins(self.kind.group) if found is None else found:
            try:
                module = load_entry_point(plugin.value)
            except Exception as exc:  # noqa: BLE001 - one broken plugin never stops the others
                self._problem(plugin.distribution, None,
                              f"importing {plugin.value} failed: {type(exc).__name__}: {exc}")
                continue
            self.load_plugin(module, plugin.distribution)


@dataclass(frozen=True)
class FoundPlugin:
    """One entry point of a plugin group: its value (``module[:attr]``) and distribution."""

    name: str
    value: str
    distribution: str


def entry_points(group: str) -> Iterable[importlib_metadata.EntryPoint]:
    from importlib import metadata

    return metadata.entry_points(group=group)


def distribution_of(entry_point: importlib_metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    if dist is not None:
        return f"{dist.metadata['Name']} {dist.version}"
    return entry_point.value


def find_plugins(group: str) -> list[FoundPlugin]:
    """The group's entry points by name, each (value, distribution) once."""
    seen: set[tuple[str, str]] = set()
    out = []
    for entry_point in sorted(entry_points(group), key=lambda ep: ep.name):
        distribution = distribution_of(entry_point)
        if (entry_point.value, distribution) not in seen:
            seen.add((entry_point.value, distribution))
            out.append(FoundPlugin(entry_point.name, entry_point.value, distribution))
    return out


def find_plugins_in_child(group: str) -> list[FoundPlugin]:
    """``find_plugins`` run in a forked child, so that importlib.metadata (with zipfile,
    csv, email, ...: about 2 MiB) never loads into this process: the executor's helper,
    which every operation is forked from, lives all day. Falls back to finding them here
    when the child fails. Call it while the process has a single thread."""
    import json
    import os

    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return find_plugins(group)
    if pid == 0:  # the child: find, write, exit without any cleanup of the parent's
        status = 1
        try:
            os.close(read_end)
            data = json.dumps([[p.name, p.value, p.distribution]
                               for p in find_plugins(group)]).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as reader:
        while chunk := reader.read(65536):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return find_plugins(group)
    try:
        return [FoundPlugin(*map(str, item)) for item in json.loads(b"".join(chunks))]
    except (ValueError, TypeError):
        return find_plugins(group)


def load_entry_point(value: str) -> Any:
    """What an entry point's value names: ``module``, or ``module:attr.attr``, as
    importlib.metadata.EntryPoint.load() finds it (extras in brackets are ignored)."""
    import importlib

    module_name, _, attrs = value.partition(":")
    target: Any = importlib.import_module(module_name.strip())
    for attr in attrs.split("[", 1)[0].strip().split("."):
        if attr:
            target = getattr(target, attr)
    return target


def check_plugin_class(cls: object, base: type, required: tuple[str, ...],
                       optional: tuple[str, ...], noun: str) -> str | None:
    """The checks every plugin class shares: subclass, name, shortdesc, method signatures,
    parameter schema. None when they pass."""
    from hacore.agent.params import Param

    if not (inspect.isclass(cls) and issubclass(cls, base)):
        return f"register() takes a subclass of {base.__module__.rsplit('.', 1)[0]}.{base.__name__}"
    if not isinstance(cls.name, str) or not NAME_RE.match(cls.name):
        return (f"name {cls.name!r} is not valid (lower case letters, digits, '-' or '_', "
                "starting with a letter)")
    if not cls.shortdesc:
        return f"shortdesc is empty: say in one line what the {noun} manages"
    for method in required:
        if getattr(cls, method) is getattr(base, method):
            return f"method {method}() is missing"
    for method in required + optional:
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
            return f"method {method}() is async; {noun} methods are plain functions"
    if not isinstance(cls.parameters, tuple) or not all(isinstance(p, Param) for p in cls.parameters):
        return "parameters must be a tuple of hacore.agent.Param"
    names = [p.name for p in cls.parameters]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        return f"parameter {', '.join(duplicates)} is declared twice"
    return None
