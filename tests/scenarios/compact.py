"""Build a ClusterConfig from the compact scenario form (TOML tables, few keys).

Scenario files say only what matters to the rule they test:

    nodes = ["n1", "n2", "n3"]        # every node has a fence method unless in no_fence
    no_fence = ["n3"]
    [quorum]   two_node / wait_for_all / no_quorum_policy / expected_votes
    [domains.NAME]  members = ["n1", "n2:2"] (node[:priority]), ordered, restricted, nofailback
    [services.NAME] domain, autostart, exclusive, recovery, max_restarts, restart_expire_time,
                    depend, depend_mode, resources = ["vip", {name = "logs", independent = true}]

Or ``config_file = "path"`` (relative to the scenario) to use a real cluster.toml.
``start_members`` (read by the runner) forms the cluster with only those nodes up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hacore.config.model import (
    ClusterConfig,
    DomainMember,
    FailoverDomain,
    FenceDeviceRef,
    FenceMethod,
    Node,
    Operation,
    Quorum,
    Resource,
    Service,
)


def _resource(raw: Any) -> Resource:
    if isinstance(raw, str):
        raw = {"name": raw}
    children = tuple(_resource(c) for c in raw.get("children", []))
    return Resource(
        name=raw["name"], agent=raw.get("agent", "script"),
        operations=(Operation("stop", float(raw.get("stop_timeout", 20.0))),),
        children=children, independent=bool(raw.get("independent", False)),
        non_critical=bool(raw.get("non_critical", False)),
        max_restarts=int(raw.get("max_restarts", 0)),
        restart_expire_time=float(raw.get("restart_expire_time", 0.0)),
    )


def _flatten(resources: tuple[Resource, ...]) -> list[str]:
    out: list[str] = []
    for r in resources:
        out.append(r.name)
        out.extend(_flatten(r.children))
    return out


SERVICE_KEYS = {"resources", "domain", "autostart", "exclusive", "recovery", "max_restarts",
                "restart_expire_time", "depend", "depend_mode"}


def build_config(data: dict[str, Any], base: Path | None = None) -> ClusterConfig:
    """The ClusterConfig described by a compact scenario table."""
    if "config_file" in data:
        from hacore.config import load_config

        return load_config((base or Path(".")) / data["config_file"])
    no_fence = set(data.get("no_fence", []))
    nodes = tuple(
        Node(name=name, id=i, addresses=(f"10.99.0.{i}",),
             fence=() if name in no_fence else
             (FenceMethod("power", (FenceDeviceRef("pdu", {"port": name}),)),))
        for i, name in enumerate(data["nodes"], 1)
    )
    q = data.get("quorum", {})
    quorum = Quorum(expected_votes=int(q.get("expected_votes", len(nodes))),
                    two_node=bool(q.get("two_node", False)),
                    wait_for_all=bool(q.get("wait_for_all", False)),
                    no_quorum_policy=q.get("no_quorum_policy", "stop"))
    domains = []
    for name, d in data.get("domains", {}).items():
        members = []
        for i, m in enumerate(d["members"], 1):
            node, _, prio = m.partition(":")
            members.append(DomainMember(node, int(prio) if prio else i))
        domains.append(FailoverDomain(name, tuple(members), ordered=bool(d.get("ordered", False)),
                                      restricted=bool(d.get("restricted", False)),
                                      nofailback=bool(d.get("nofailback", False))))
    services = []
    for name, s in data.get("services", {}).items():
        unknown = set(s) - SERVICE_KEYS
        if unknown:  # e.g. a top-level key written after the [services.X] header
            raise ValueError(f"[services.{name}]: unknown keys {sorted(unknown)} "
                             f"(valid: {sorted(SERVICE_KEYS)})")
        resources = tuple(_resource(r) for r in s.get("resources", [f"{name}-res"]))
        order = tuple(_flatten(resources))
        services.append(Service(
            name=name, resources=resources, start_order=order,
            stop_order=tuple(reversed(order)), domain=s.get("domain"),
            autostart=bool(s.get("autostart", True)), exclusive=bool(s.get("exclusive", False)),
            recovery=s.get("recovery", "restart"), max_restarts=int(s.get("max_restarts", 0)),
            restart_expire_time=float(s.get("restart_expire_time", 0.0)),
            depend=s.get("depend"), depend_mode=s.get("depend_mode", "hard"),
        ))
    return ClusterConfig(name=data.get("name", "scenario"), config_version=1, nodes=nodes,
                         quorum=quorum, domains=tuple(domains), services=tuple(services))
