"""ClusterConfig -> JSON-ready dict (``hacore config show --json``) and -> cluster.toml text.

``config_to_toml`` writes the schema the loader reads, so ``load(to_toml(cfg)) == cfg``;
with ``minimal=True`` it leaves out what equals the defaults, which is what an admin wants
to read (the importer writes that).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

from hacore.config.build_services import DEFAULT_MONITOR_INTERVAL, DEFAULT_TIMEOUT
from hacore.config.checks import quorum_needed
from hacore.config.model import (
    ClusterConfig,
    Metrics,
    Operation,
    Quorum,
    Resource,
    Service,
    Timing,
    WebSettings,
)
from hacore.config.ordering import start_order, stop_order

SECRET_WORDS = ("passwd", "password", "secret", "community", "token")
MASK = "********"
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def is_secret_param(name: str) -> bool:
    """Parameter names that hold passwords (their values are masked in show output)."""
    return any(word in name.lower() for word in SECRET_WORDS) and not name.endswith("_script")


def _params(params: dict[str, str], mask: bool) -> dict[str, str]:
    return {k: (MASK if mask and is_secret_param(k) else v) for k, v in params.items()}


def resource_to_dict(res: Resource, mask: bool = True, children: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": res.name, "agent": res.agent, "params": _params(res.params, mask),
        "secret_files": dict(res.secret_files),
        "operations": [asdict(op) for op in res.operations],
        "independent": res.independent, "non_critical": res.non_critical,
        "max_restarts": res.max_restarts, "restart_expire_time": res.restart_expire_time,
    }
    if children:
        out["children"] = [resource_to_dict(c, mask) for c in res.children]
    return out


def config_to_dict(cfg: ClusterConfig, mask: bool = True) -> dict[str, Any]:
    """The normalised configuration with every default filled in (secrets masked)."""
    quorum = asdict(cfg.quorum)
    quorum["votes_needed"] = quorum_needed(cfg)
    return {
        "cluster": {"name": cfg.name, "config_version": cfg.config_version,
                    "message_port": cfg.message_port},
        "nodes": [{
            "name": n.name, "id": n.id, "addresses": list(n.addresses), "votes": n.votes,
            "fence": [{"method": m.name, "devices": [
                {"device": d.device, "params": _params(d.params, mask)} for d in m.devices]}
                for m in n.fence],
            "watchdog": n.watchdog,
        } for n in cfg.nodes],
        "quorum": quorum,
        "timing": asdict(cfg.timing),
        "fence_devices": [{"name": d.name, "agent": d.agent, "params": _params(d.params, mask),
                           "secret_files": dict(d.secret_files)} for d in cfg.fence_devices],
        "domains": [{"name": d.name, "ordered": d.ordered, "restricted": d.restricted,
                     "nofailback": d.nofailback,
                     "members": [{"node": m.node, "priority": m.priority} for m in d.members]}
                    for d in cfg.domains],
        "resources": [resource_to_dict(r, mask, children=False) for r in cfg.resources],
        "services": [{
            "name": s.name, "domain": s.domain, "autostart": s.autostart,
            "exclusive": s.exclusive, "recovery": s.recovery, "max_restarts": s.max_restarts,
            "restart_expire_time": s.restart_expire_time, "depend": s.depend,
            "depend_mode": s.depend_mode, "start_order": list(s.start_order),
            "stop_order": list(s.stop_order),
            "tree": [resource_to_dict(r, mask) for r in s.resources],
        } for s in cfg.services],
        "alerts": [{"name": a.name, "script": a.script, "url": a.url, "events": list(a.events),
                    "services": list(a.services), "timeout": a.timeout} for a in cfg.alerts],
        "metrics": {"listen": cfg.metrics.listen},
    }


# -- TOML ------------------------------------------------------------------------------------

def toml_key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # JSON escapes are TOML escapes; TOML also forbids a raw DEL
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) \
            + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _table(lines: list[str], header: str, items: dict[str, Any]) -> None:
    lines.append("")
    lines.append(header)
    for key, value in items.items():
        lines.append(f"{toml_key(key)} = {toml_value(value)}")


def _drop_defaults(items: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in items.items() if k not in defaults or defaults[k] != v}


def _default_op(op: Operation) -> bool:
    if op.name in ("start", "stop"):
        return op.timeout == DEFAULT_TIMEOUT and op.interval == 0 and op.depth == 0
    if op.name == "monitor":
        return (op.timeout == DEFAULT_TIMEOUT and op.interval == DEFAULT_MONITOR_INTERVAL
                and op.depth == 0)
    return False


def _operations(ops: tuple[Operation, ...], minimal: bool) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    monitors = [op for op in ops if op.name == "monitor"]
    for op in ops:
        if minimal and _default_op(op) and not (op.name == "monitor" and len(monitors) > 1):
            continue
        spec: dict[str, Any] = {"timeout": op.timeout}
        if op.interval or op.name == "monitor":
            spec["interval"] = op.interval
        if op.depth:
            spec["depth"] = op.depth
        grouped.setdefault(op.name, []).append(spec)
    return {name: specs[0] if len(specs) == 1 else specs for name, specs in grouped.items()}


_FLAG_DEFAULTS = {"independent": False, "non_critical": False, "max_restarts": 0,
                  "restart_expire_time": 0.0}


def _flags(res: Resource) -> dict[str, Any]:
    return {k: getattr(res, k) for k in _FLAG_DEFAULTS}


def _definition(res: Resource, minimal: bool, flags: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"agent": res.agent}
    if res.params or not minimal:
        out["params"] = dict(res.params)
    if res.secret_files:
        out["secrets"] = dict(res.secret_files)
    ops = _operations(res.operations, minimal)
    if ops:
        out["operations"] = ops
    if flags:
        out.update(_drop_defaults(_flags(res), _FLAG_DEFAULTS if minimal else {}))
    return out


def _same_definition(a: Resource, b: Resource) -> bool:
    return (a.agent, a.params, a.secret_files) == (b.agent, b.params, b.secret_files)


def _tree(svc: Service, shared: dict[str, Resource], local: dict[str, Resource],
          minimal: bool) -> list[Any]:
    def entry(res: Resource) -> Any:
        base = shared.get(res.name)
        if base is None or not _same_definition(base, res):
            local[res.name] = res
            base = Resource(res.name, res.agent, res.params, res.operations)
        spec: dict[str, Any] = {"resource": res.name}
        if res.children:
            spec["children"] = [entry(c) for c in res.children]
        spec.update({k: v for k, v in _flags(res).items() if getattr(base, k) != v})
        if res.operations != base.operations:
            spec["operations"] = _operations(res.operations, False)
        return res.name if len(spec) == 1 else spec

    return [entry(r) for r in svc.resources]


def config_to_toml(cfg: ClusterConfig, minimal: bool = True, header: str = "") -> str:
    """The cluster.toml that loads back into ``cfg``."""
    lines: list[str] = [f"# {line}".rstrip() for line in header.splitlines()]
    cluster: dict[str, Any] = {"name": cfg.name, "config_version": cfg.config_version}
    if not minimal or cfg.message_port != 5416:
        cluster["message_port"] = cfg.message_port
    _table(lines, "[cluster]", cluster)
    for n in cfg.nodes:
        node: dict[str, Any] = {"name": n.name, "id": n.id, "addresses": list(n.addresses),
                                "votes": n.votes}
        if minimal and n.votes == 1:
            del node["votes"]
        if n.fence:
            node["fence"] = [{"method": m.name, "devices": [
                {"device": d.device, **d.params} if d.params else d.device
                for d in m.devices]} for m in n.fence]
        if n.watchdog:
            node["watchdog"] = n.watchdog
        _table(lines, "[[nodes]]", node)
    quorum = asdict(cfg.quorum)
    qdefaults = asdict(Quorum(sum(n.votes for n in cfg.nodes) or 1,
                              wait_for_all=cfg.quorum.two_node))
    _table(lines, "[quorum]", _drop_defaults(quorum, qdefaults) if minimal else quorum)
    timing = asdict(cfg.timing)
    loss = cfg.timing.node_loss_timeout
    tdefaults = asdict(Timing.derived(loss))
    tdefaults.pop("node_loss_timeout")
    _table(lines, "[timing]", _drop_defaults(timing, tdefaults) if minimal else timing)
    for d in cfg.fence_devices:
        dev: dict[str, Any] = {"agent": d.agent}
        if d.params or not minimal:
            dev["params"] = dict(d.params)
        if d.secret_files:
            dev["secrets"] = dict(d.secret_files)
        _table(lines, f"[fence_devices.{toml_key(d.name)}]", dev)
    for dom in cfg.domains:
        members = [{"node": m.node, "priority": m.priority} for m in dom.members]
        if all(m.priority == i + 1 for i, m in enumerate(dom.members)):
            members = [m.node for m in dom.members]  # type: ignore[misc]
        spec = {"members": members, "ordered": dom.ordered, "restricted": dom.restricted,
                "nofailback": dom.nofailback}
        _table(lines, f"[domains.{toml_key(dom.name)}]",
               _drop_defaults(spec, {"ordered": False, "restricted": False,
                                     "nofailback": False}) if minimal else spec)
    shared = {r.name: r for r in cfg.resources}
    for res in cfg.resources:
        _table(lines, f"[resources.{toml_key(res.name)}]", _definition(res, minimal, True))
    for svc in cfg.services:
        _service(lines, svc, shared, minimal)
    for alert in cfg.alerts:
        spec = {"name": alert.name, "script": alert.script, "url": alert.url,
                "events": list(alert.events), "services": list(alert.services),
                "timeout": alert.timeout}
        spec = {k: v for k, v in spec.items() if v is not None and (v != [] or not minimal)
                and not (minimal and k == "timeout" and v == 10.0)}
        _table(lines, "[[alerts]]", spec)
    if not minimal or cfg.metrics != Metrics():
        _table(lines, "[metrics]", {"listen": cfg.metrics.listen or ""})
    if cfg.web is not None:
        web = {k: v for k, v in asdict(cfg.web).items() if v is not None}
        _table(lines, "[web]", _drop_defaults(web, asdict(WebSettings())) if minimal else web)
    return "\n".join(lines).lstrip("\n") + "\n"


def _service(lines: list[str], svc: Service, shared: dict[str, Resource],
             minimal: bool) -> None:
    local: dict[str, Resource] = {}
    spec: dict[str, Any] = {
        "domain": svc.domain, "autostart": svc.autostart, "exclusive": svc.exclusive,
        "recovery": svc.recovery, "max_restarts": svc.max_restarts,
        "restart_expire_time": svc.restart_expire_time, "depend": svc.depend,
        "depend_mode": svc.depend_mode,
    }
    spec = {k: v for k, v in spec.items() if v is not None}
    if minimal:
        spec = _drop_defaults(spec, {"autostart": True, "exclusive": False,
                                     "recovery": "restart", "max_restarts": 0,
                                     "restart_expire_time": 0.0, "depend_mode": "hard"})
    spec["tree"] = _tree(svc, shared, local, minimal)
    expected_stop = tuple(stop_order(svc.resources))
    if tuple(start_order(svc.resources)) != svc.start_order:
        spec["order"] = list(svc.start_order)
        expected_stop = tuple(reversed(svc.start_order))
    if expected_stop != svc.stop_order:
        spec["stop_order"] = list(svc.stop_order)
    _table(lines, f"[services.{toml_key(svc.name)}]", spec)
    for res in local.values():
        _table(lines, f"[services.{toml_key(svc.name)}.resources.{toml_key(res.name)}]",
               _definition(res, minimal, False))


def mask_config(cfg: ClusterConfig) -> ClusterConfig:
    """A copy with password-like parameter values replaced by a mask, for printing."""
    from dataclasses import replace

    def res(r: Resource) -> Resource:
        return replace(r, params=_params(r.params, True), children=tuple(map(res, r.children)))

    return replace(
        cfg,
        fence_devices=tuple(replace(d, params=_params(d.params, True))
                            for d in cfg.fence_devices),
        nodes=tuple(replace(n, fence=tuple(replace(m, devices=tuple(
            replace(d, params=_params(d.params, True)) for d in m.devices)) for m in n.fence))
            for n in cfg.nodes),
        resources=tuple(map(res, cfg.resources)),
        services=tuple(replace(s, resources=tuple(map(res, s.resources)))
                       for s in cfg.services),
    )
