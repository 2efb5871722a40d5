"""cluster.conf <rm>: global resources, services and their trees -> hacore model pieces."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hacore.config.build_services import complete_operations
from hacore.config.model import Operation, Resource, Service
from hacore.config.ordering import start_order, stop_order
from hacore.config.rhcs.agents import PRIMARY, UNSUPPORTED, TypeMap, type_map
from hacore.config.rhcs.notes import Notes, safe_name, seconds, truthy

SUBTREE_NOTES = {
    "__enforce_timeouts": "hacore always enforces operation timeouts",
    "__max_failures": "hacore acts on the first failed monitor",
    "__failure_expire_time": "hacore acts on the first failed monitor",
    "inherit": "hacore passes the service name itself",
}
SERVICE_NOTES = {
    "priority": "central_processing priorities are not supported",
    "nfslock": "NFS lock recovery is not carried over",
    "nfs_client_cache": "NFS workarounds are not carried over",
    "hardrecovery": "a failed stop is fenced when fencing is configured",
}


@dataclass
class RmPart:
    resources: list[Resource] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    #: (rgmanager type, primary value) -> global resource
    refs: dict[tuple[str, str], Resource] = field(default_factory=dict)


class RmReader:
    def __init__(self, notes: Notes, catalogue: Callable[[str], Any] | None) -> None:
        self.notes = notes
        self.catalogue = catalogue
        self.part = RmPart()
        self.kinds: dict[str, str] = {}  # resource name -> rgmanager type (for ordering)

    # -- one resource element ------------------------------------------------------------

    def _name(self, elem: ET.Element, kind: str) -> str:
        primary = PRIMARY.get(kind, "name")
        value = elem.attrib.get(primary) or elem.attrib.get("name") or kind
        if kind == "ip":
            value = "ip-" + value.split("/")[0]
        return safe_name(value)

    def _params(self, elem: ET.Element, kind: str, mapping: TypeMap) -> dict[str, str]:
        params = dict(mapping.fixed)
        for attr, value in elem.attrib.items():
            if attr == "ref" or attr.startswith("__") or attr in SUBTREE_NOTES:
                continue
            self.notes.take(elem, attr)
            if attr == "name" and attr not in mapping.rename:
                continue
            if attr in mapping.rename:
                params[mapping.rename[attr]] = value
            elif mapping.passthrough:
                params[attr] = value
            else:
                self.notes.add(elem, f"attribute {attr}=\"{value}\" not carried over: "
                               + mapping.dropped.get(attr, f"agent {mapping.agent} has no "
                                                     "such parameter"))
        if kind == "netfs" and "host" in elem.attrib and "export" in elem.attrib:
            params["device"] = f"{elem.attrib['host']}:{elem.attrib['export']}"
            params.setdefault("fstype", "nfs")
        return self._filter_by_metadata(elem, mapping.agent, params)

    def _filter_by_metadata(self, elem: ET.Element, agent: str,
                            params: dict[str, str]) -> dict[str, str]:
        if self.catalogue is None or not agent.startswith("ocf:"):
            return params
        try:
            known = {p.name for p in self.catalogue(agent).parameters}
        except Exception:  # noqa: BLE001 - not installed here: keep every parameter
            return params
        for name in [p for p in params if p not in known]:
            self.notes.add(elem, f"parameter {name}=\"{params.pop(name)}\" not carried over: "
                           f"{agent} has no such parameter")
        return params

    def _operations(self, elem: ET.Element, mapping: TypeMap) -> tuple[Operation, ...]:
        monitors = {depth: interval for interval, depth in mapping.monitors}
        timeouts: dict[str, float] = {}
        if mapping.start_timeout:
            timeouts["start"] = mapping.start_timeout
        if mapping.stop_timeout:
            timeouts["stop"] = mapping.stop_timeout
        monitor_timeout = 20.0
        for action in elem.findall("action"):
            self._action(action, monitors, timeouts)
            monitor_timeout = timeouts.pop("monitor", monitor_timeout)
        ops = [Operation(name, t) for name, t in timeouts.items()]
        ops += [Operation("monitor", monitor_timeout, interval, depth)
                for depth, interval in sorted(monitors.items())]
        return complete_operations(mapping.agent, ops, None)

    def _action(self, action: ET.Element, monitors: dict[int, float],
                timeouts: dict[str, float]) -> None:
        name = self.notes.get(action, "name", "")
        try:
            interval = seconds(action.attrib["interval"]) if "interval" in action.attrib \
                else None
            timeout = seconds(action.attrib["timeout"]) if "timeout" in action.attrib else None
        except ValueError:
            self.notes.element(action, "interval/timeout is not a time")
            return
        self.notes.take(action, "interval", "timeout", "depth")
        if name in ("status", "monitor"):
            depth_raw = action.attrib.get("depth", "0")
            if interval is not None:
                if depth_raw == "*":
                    for depth in monitors:
                        monitors[depth] = interval
                elif depth_raw.isdigit():
                    monitors[int(depth_raw)] = interval
                else:
                    self.notes.add(action, f"depth=\"{depth_raw}\" is not a depth")
            if timeout:
                timeouts["monitor"] = timeout
        elif name in ("start", "stop") and timeout:
            timeouts[name] = timeout
        elif name in ("start", "stop"):
            self.notes.add(action, f"{name} action without a timeout: the default is kept")
        else:
            self.notes.element(action, f"action {name!r} is not carried over")
        self.notes.leftovers(action)

    def definition(self, elem: ET.Element) -> tuple[Resource, str] | None:
        kind = elem.tag
        mapping = type_map(kind)
        if mapping is None:
            reason = UNSUPPORTED.get(kind, f"no hacore agent and no ocf:heartbeat:{kind} "
                                     "script on this machine")
            self.notes.element(elem, f"resource type {kind!r} not carried over ({reason})")
            return None
        name = self._name(elem, kind)
        res = Resource(name, mapping.agent, self._params(elem, kind, mapping),
                       self._operations(elem, mapping))
        return res, kind

    # -- <rm> ---------------------------------------------------------------------------

    def read_resources(self, elem: ET.Element) -> None:
        for child in elem:
            if not isinstance(child.tag, str):
                continue
            found = self.definition(child)
            if found is None:
                continue
            res, kind = found
            self.notes.leftovers(child, SUBTREE_NOTES)
            for sub in child:
                if isinstance(sub.tag, str) and sub.tag != "action":
                    self.notes.element(sub, "children of a global resource definition are "
                                       "ignored by rgmanager too")
            self.part.resources.append(res)
            primary = PRIMARY.get(kind, "name")
            value = child.attrib.get(primary, res.name)
            self.part.refs[(kind, value)] = res
            self.part.refs[(kind, value.split("/")[0])] = res
            self.kinds[res.name] = kind

    def tree_node(self, elem: ET.Element, seen: set[str]) -> Resource | None:
        kind = elem.tag
        if "ref" in elem.attrib:
            ref = self.notes.get(elem, "ref") or ""
            base = self.part.refs.get((kind, ref)) or self.part.refs.get((kind,
                                                                         ref.split("/")[0]))
            if base is None:
                self.notes.element(elem, f"ref=\"{ref}\" names no global <{kind}> resource "
                                   "that was carried over")
                return None
            ops = base.operations
            actions = elem.findall("action")
            if actions:
                mapping = type_map(kind)
                ops = self._operations(elem, mapping) if mapping else ops
            res = replace(base, operations=ops)
            for attr in elem.attrib:
                if attr != "ref" and not attr.startswith("__") and attr not in SUBTREE_NOTES:
                    self.notes.take(elem, attr)
                    self.notes.add(elem, f"attribute {attr}=\"{elem.attrib[attr]}\" on a "
                                   "reference not carried over: set it on the global resource")
        else:
            found = self.definition(elem)
            if found is None:
                return None
            res, kind = found
        self.kinds[res.name] = kind
        if res.name in seen:
            self.notes.element(elem, f"resource {res.name!r} appears twice in this service; "
                               "the second use is dropped")
            return None
        seen.add(res.name)
        sub = elem.attrib.get("__independent_subtree", "0").strip().lower()
        self.notes.take(elem, "__independent_subtree", "__max_restarts",
                        "__restart_expire_time")
        children = tuple(c for c in (self.tree_node(x, seen) for x in elem
                                     if isinstance(x.tag, str) and x.tag != "action")
                         if c is not None)
        try:
            max_restarts = int(elem.attrib.get("__max_restarts", "0"))
            expire = seconds(elem.attrib.get("__restart_expire_time", "0"))
        except ValueError:
            self.notes.add(elem, "__max_restarts/__restart_expire_time are not numbers")
            max_restarts, expire = 0, 0.0
        self.notes.leftovers(elem, SUBTREE_NOTES)
        return replace(res, children=children, independent=sub in ("1", "yes"),
                       non_critical=sub in ("2", "non-critical"), max_restarts=max_restarts,
                       restart_expire_time=expire)

    def read_service(self, elem: ET.Element) -> None:
        n = self.notes
        name = safe_name(n.get(elem, "name") or "service")
        roots = tuple(r for r in (self.tree_node(x, set()) for x in elem
                                  if isinstance(x.tag, str) and x.tag != "action")
                      if r is not None)
        for action in elem.findall("action"):
            n.element(action, "actions on a service are not carried over")
        recovery = n.get(elem, "recovery", "restart") or "restart"
        if recovery not in ("restart", "relocate", "restart-disable", "disable"):
            n.add(elem, f"recovery=\"{recovery}\" is not known; restart used")
            recovery = "restart"
        depend = n.get(elem, "depend")
        depend_mode = n.get(elem, "depend_mode", "hard") or "hard"
        if depend_mode not in ("hard", "soft"):
            n.add(elem, f"depend_mode=\"{depend_mode}\" is not known; hard used")
            depend_mode = "hard"
        try:
            max_restarts = int(n.get(elem, "max_restarts", "0") or 0)
            expire = seconds(n.get(elem, "restart_expire_time", "0") or "0")
        except ValueError:
            n.add(elem, "max_restarts/restart_expire_time are not numbers; 0 used")
            max_restarts, expire = 0, 0.0
        domain = n.get(elem, "domain")
        svc = Service(
            name=name, resources=roots, domain=safe_name(domain) if domain else None,
            autostart=truthy(n.get(elem, "autostart", "1")),
            exclusive=truthy(n.get(elem, "exclusive", "0")), recovery=recovery,  # type: ignore
            max_restarts=max_restarts, restart_expire_time=expire,
            depend=safe_name(depend.split(":", 1)[-1]) if depend else None,
            depend_mode=depend_mode)  # type: ignore[arg-type]
        kind_of = lambda r: self.kinds.get(r.name)
        svc = replace(svc, start_order=tuple(start_order(roots, kind_of)),
                      stop_order=tuple(stop_order(roots, kind_of)))
        n.leftovers(elem, SERVICE_NOTES)
        self.part.services.append(svc)

    def read_rm(self, rm: ET.Element) -> list[ET.Element]:
        """Resources and services of <rm>; returns the <failoverdomains> elements."""
        domains = []
        self.notes.leftovers(rm, {
            "central_processing": "hacore always decides centrally",
            "status_poll_interval": "each resource's monitor interval is used",
            "status_child_max": "hacore has no such limit",
            "transition_throttling": "hacore has no such setting",
            "log_level": "hacore logs through its own settings",
            "log_facility": "hacore logs through its own settings"})
        for child in rm:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "failoverdomains":
                domains.append(child)
            elif child.tag == "resources":
                self.read_resources(child)
        for child in rm:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "service":
                self.read_service(child)
            elif child.tag == "vm":
                self.notes.element(child, UNSUPPORTED["vm"])
            elif child.tag == "events":
                self.notes.element(child, "central-processing event scripts are not supported")
            elif child.tag not in ("failoverdomains", "resources"):
                self.notes.element(child, "unknown in <rm>")
        return domains
