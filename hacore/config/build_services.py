"""[resources.NAME] and [services.NAME] (with their resource trees) -> model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hacore.config.build_cluster import _named_tables, check_name, read_secrets
from hacore.config.fields import Table, type_name
from hacore.config.model import Operation, Resource, Service
from hacore.config.ordering import start_order, stop_order
from hacore.config.positions import Path
from hacore.config.problems import Findings

OPERATION_NAMES = ("start", "stop", "monitor", "reload", "promote", "demote", "notify",
                   "migrate_to", "migrate_from", "validate-all")
RESOURCE_KEYS = ("agent", "params", "secrets", "operations", "independent", "non_critical",
                 "max_restarts", "restart_expire_time")
TREE_KEYS = ("resource", "children", "independent", "non_critical", "max_restarts",
             "restart_expire_time", "operations")
SERVICE_KEYS = ("domain", "autostart", "exclusive", "recovery", "max_restarts",
                "restart_expire_time", "depend", "depend_mode", "tree", "order", "stop_order",
                "resources")
DEFAULT_TIMEOUT = 20.0
DEFAULT_MONITOR_INTERVAL = 30.0
MAX_TREE_DEPTH = 32

#: (agent, action) -> the agent's recommended timeout, or None when unknown
TimeoutSource = Callable[[str, str], float | None]


@dataclass
class ServiceBuild:
    """What the service reader produced, plus where each definition came from."""

    resources: tuple[Resource, ...] = ()
    services: tuple[Service, ...] = ()
    definitions: list[tuple[Resource, Path]] = field(default_factory=list)


def read_operations(f: Findings, raw: Any, path: Path) -> list[Operation]:
    """``operations = { monitor = {interval = 30, timeout = 20}, stop = {timeout = 60} }``."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        f.error(path, f"operations must be a table of operation name = {{ timeout, interval, "
                f"depth }}, not {type_name(raw)}")
        return []
    ops: list[Operation] = []
    for name, spec in raw.items():
        here = path + (name,)
        if name not in OPERATION_NAMES:
            hint = " (rgmanager's status is monitor here)" if name == "status" else ""
            f.error(here, f"unknown operation {name!r}{hint}; valid: "
                    + ", ".join(OPERATION_NAMES))
            continue
        specs = spec if isinstance(spec, list) else [spec]
        for i, one in enumerate(specs):
            opath = here + (i,) if isinstance(spec, list) else here
            t = Table(f, one, opath, ("timeout", "interval", "depth"), f"operation {name}")
            if name == "stop" and t.ok and not t.has("timeout"):
                f.error(opath + ("timeout",), "stop needs a timeout > 0: without one a failed "
                        "node's services would wait forever before recovery")
            if name == "stop" and t.ok and t.raw("timeout") == 0:
                f.error(opath + ("timeout",), "a stop timeout of 0 means no limit, and recovery "
                        "would wait forever; give a number of seconds > 0")
                timeout = DEFAULT_TIMEOUT
            else:
                timeout = t.number("timeout", DEFAULT_TIMEOUT, positive=True)
            interval = t.number("interval", DEFAULT_MONITOR_INTERVAL if name == "monitor"
                                else 0.0, minimum=0)
            depth = t.integer("depth", 0, minimum=0)
            ops.append(Operation(name, timeout, interval, depth))
    return ops


def complete_operations(agent: str, ops: list[Operation],
                        timeouts: TimeoutSource | None) -> tuple[Operation, ...]:
    """Fill in start, stop and monitor from the agent's meta-data (or 20 s / every 30 s).

    Operations come out in a canonical order: start, stop, monitor(s) in file order, others.
    """
    names = {op.name for op in ops}
    extra = []
    for action in ("start", "stop", "monitor"):
        if action not in names:
            timeout = (timeouts(agent, action) if timeouts else None) or DEFAULT_TIMEOUT
            interval = DEFAULT_MONITOR_INTERVAL if action == "monitor" else 0.0
            extra.append(Operation(action, float(timeout), interval))
    rank = {name: i for i, name in enumerate(OPERATION_NAMES)}
    return tuple(sorted(extra + ops, key=lambda op: rank.get(op.name, len(rank))))


def read_definition(f: Findings, name: str, raw: Any, path: Path,
                    timeouts: TimeoutSource | None, named_list: bool = False) -> Resource:
    t = Table(f, raw, path, RESOURCE_KEYS + (("name",) if named_list else ()), "a resource")
    agent = t.string("agent", "", required=True) or ""
    ops = read_operations(f, t.raw("operations"), path + ("operations",))
    return Resource(
        name=name, agent=agent, params=t.params("params"),
        operations=complete_operations(agent, ops, timeouts),
        independent=t.boolean("independent"), non_critical=t.boolean("non_critical"),
        max_restarts=t.integer("max_restarts", 0, minimum=0),
        restart_expire_time=t.number("restart_expire_time", 0.0, minimum=0),
        secret_files=read_secrets(f, t),
    )


def _override_ops(base: tuple[Operation, ...], override: list[Operation]) -> tuple[Operation,
                                                                                   ...]:
    names = {op.name for op in override}
    return tuple(op for op in base if op.name not in names) + tuple(override)


class _TreeReader:
    def __init__(self, f: Findings, local: dict[str, Resource], shared: dict[str, Resource],
                 service: str) -> None:
        self.f, self.local, self.shared, self.service = f, local, shared, service

    def entries(self, raw: Any, path: Path, depth: int) -> tuple[Resource, ...]:
        if depth > MAX_TREE_DEPTH:
            self.f.error(path, f"resource tree nested deeper than {MAX_TREE_DEPTH} levels")
            return ()
        if not isinstance(raw, list):
            self.f.error(path, "a resource tree is a list of resource names or tables "
                         f"{{resource = NAME, children = [...]}}, not {type_name(raw)}")
            return ()
        out = []
        for i, item in enumerate(raw):
            res = self.entry(item, path + (i,), depth)
            if res is not None:
                out.append(res)
        return tuple(out)

    def entry(self, item: Any, path: Path, depth: int) -> Resource | None:
        if isinstance(item, str):
            return self.lookup(item, path)
        t = Table(self.f, item, path, TREE_KEYS, "a resource tree entry")
        name = t.string("resource", None, required=True)
        if not t.ok or name is None:
            return None
        base = self.lookup(name, path + ("resource",))
        children = self.entries(t.raw("children"), path + ("children",), depth + 1) \
            if t.has("children") else ()
        if base is None:
            return None
        ops = read_operations(self.f, t.raw("operations"), path + ("operations",))
        return replace(
            base, children=children, operations=_override_ops(base.operations, ops),
            independent=t.boolean("independent", base.independent),
            non_critical=t.boolean("non_critical", base.non_critical),
            max_restarts=t.integer("max_restarts", base.max_restarts, minimum=0),
            restart_expire_time=t.number("restart_expire_time", base.restart_expire_time,
                                         minimum=0),
        )

    def lookup(self, name: str, path: Path) -> Resource | None:
        found = self.local.get(name) or self.shared.get(name)
        if found is None:
            known = sorted(set(self.local) | set(self.shared))
            self.f.error(path, f"resource {name!r} is not defined in [resources] or "
                         f"[services.{self.service}.resources]; defined: "
                         + (", ".join(known) or "none"))
        return found


def read_services(f: Findings, data: dict[str, Any],
                  timeouts: TimeoutSource | None) -> ServiceBuild:
    build = ServiceBuild()
    shared: dict[str, Resource] = {}
    raw_resources = data.get("resources")
    for name, item, path in _named_tables(f, raw_resources, "resources"):
        check_name(f, path, name, "resource")
        if name in shared:
            f.error(path, f"resource {name!r} is defined twice")
        res = read_definition(f, name, item, path, timeouts, isinstance(raw_resources, list))
        shared[name] = res
        build.definitions.append((res, path))
    build.resources = tuple(shared.values())
    services = []
    for name, item, path in _named_tables(f, data.get("services"), "services"):
        check_name(f, path, name, "service")
        t = Table(f, item, path, SERVICE_KEYS, "a service")
        local: dict[str, Resource] = {}
        for rname, ritem, rpath in _named_tables(f, t.raw("resources"), "resources"):
            rpath = path + rpath
            check_name(f, rpath, rname, "resource")
            if rname in shared:
                f.warn(rpath, f"resource {rname!r} of service {name!r} hides the global "
                       f"resource of the same name in this service's tree")
            res = read_definition(f, rname, ritem, rpath, timeouts)
            local[rname] = res
            build.definitions.append((res, rpath))
        roots = _TreeReader(f, local, shared, name).entries(t.raw("tree") or [], path +
                                                             ("tree",), 1)
        if not t.has("tree"):
            f.warn(path, f"service {name!r} has no tree: it manages no resources")
        depend = t.string("depend")
        if isinstance(depend, str) and depend.startswith("service:"):
            depend = depend[len("service:"):]
        service = Service(
            name=name, resources=roots, domain=t.string("domain"),
            autostart=t.boolean("autostart", True), exclusive=t.boolean("exclusive"),
            recovery=t.string("recovery", "restart",
                              choices=("restart", "relocate", "restart-disable", "disable")),
            max_restarts=t.integer("max_restarts", 0, minimum=0),
            restart_expire_time=t.number("restart_expire_time", 0.0, minimum=0),
            depend=depend,
            depend_mode=t.string("depend_mode", "hard", choices=("hard", "soft")),
        )
        services.append(_with_order(f, service, t, path))
    build.services = tuple(services)
    return build


def _explicit(f: Findings, t: Table, key: str, names: list[str], path: Path
              ) -> tuple[str, ...] | None:
    if not t.has(key):
        return None
    order = t.string_list(key)
    if sorted(order) != sorted(names):
        missing = sorted(set(names) - set(order))
        unknown = sorted(set(order) - set(names))
        f.error(path + (key,), f"{key} must list every resource of the tree exactly once "
                f"(missing: {', '.join(missing) or 'none'}; not in the tree: "
                f"{', '.join(unknown) or 'none'})")
        return None
    return tuple(order)


def _with_order(f: Findings, service: Service, t: Table, path: Path) -> Service:
    """rgmanager's order from the tree, unless ``order`` / ``stop_order`` give it."""
    names = [r.name for r in service.walk()]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            f.error(path + ("tree",), f"resource {name!r} appears twice in service "
                    f"{service.name!r}; a resource runs once per service")
        seen.add(name)
    start = _explicit(f, t, "order", names, path)
    stop = _explicit(f, t, "stop_order", names, path)
    if stop is None:
        stop = tuple(reversed(start)) if start else tuple(stop_order(service.resources))
    if start is None:
        start = tuple(start_order(service.resources))
    return replace(service, start_order=start, stop_order=stop)
