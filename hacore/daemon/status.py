"""What ``hacore status`` and ``hacore nodes`` print, built from the view and the state.

Pure functions of (config, membership view, cluster snapshot, now): the same dicts are the
``--json`` output (stable keys) and the source of the tables.
"""

from __future__ import annotations

from typing import Any

from hacore.config.model import ClusterConfig
from hacore.membership.contract import MembershipView
from hacore.policy import Snapshot
from hacore.policy.why import waiting_reasons


def build_status(config: ClusterConfig, view: MembershipView, snap: Snapshot | None,
                 now: float, state_version: int) -> dict[str, Any]:
    """Cluster name, quorum, members (Online/Offline, local, coordinator, standby), services
    with owner, last owner, state and a reason for every service not running."""
    members = set(view.member_names())
    standby = snap.standby if snap is not None else frozenset()
    nodes = []
    for node in config.nodes:
        nodes.append({"name": node.name, "id": node.id,
                      "state": "Online" if node.name in members else "Offline",
                      "local": node.name == view.local,
                      "coordinator": node.name == view.coordinator,
                      "standby": node.name in standby})
    services = []
    reasons = waiting_reasons(config, snap, now) if snap is not None else {}
    for svc in config.services:
        st = snap.services.get(svc.name) if snap is not None else None
        state = st.state if st is not None else "unknown"
        entry: dict[str, Any] = {
            "name": svc.name, "state": state,
            "owner": st.owner if st is not None else None,
            "last_owner": st.last_owner if st is not None else None,
            "frozen": bool(st and st.frozen),
            "partial": bool(st and st.partial),
            "intent": st.intent if st is not None else None,
            "maintenance": bool(st and st.maintenance),
            "unmanaged": bool(snap is not None and snap.unmanaged(svc.name)),
            "reports": _reports(snap, svc.name),
            "reason": None,
        }
        if st is None:
            entry["reason"] = ("no cluster state yet: the coordinator has not decided"
                               if snap is not None else "this node has no cluster state yet")
        elif svc.name in reasons:
            entry["reason"] = reasons[svc.name]
        elif state == "disabled":
            entry["reason"] = "disabled: enable it to start it"
        elif state != "started":
            entry["reason"] = f"{state}{' on ' + st.owner if st.owner else ''}"
        services.append(entry)
    q = view.quorum
    return {"cluster": config.name, "config_version": config.config_version,
            "local": view.local, "quorate": view.quorate, "coordinator": view.coordinator,
            "epoch": view.epoch, "state_version": state_version,
            "maintenance": bool(snap is not None and snap.maintenance),
            "quorum": {"expected": q.expected, "total": q.total, "needed": q.quorum},
            "members": nodes, "services": services,
            "stopping": bool(snap is not None and snap.cluster_stop)}


def _reports(snap: Snapshot | None, service: str) -> dict[str, dict[str, Any]]:
    """What members report about a service in maintenance (kept in the replicated state):
    node -> {status: failed|stopped|running, resource}; empty otherwise."""
    if snap is None:
        return {}
    return {node: {"status": r.status, "resource": r.resource}
            for node, r in sorted(snap.reports.get(service, {}).items())}


def build_nodes(config: ClusterConfig, view: MembershipView) -> dict[str, Any]:
    """Per configured node: id, state, incarnation, joined, votes, name (cman_tool nodes)."""
    out = []
    for node in config.nodes:
        member = view.member(node.name)
        out.append({"id": node.id, "name": node.name,
                    "state": "member" if member else "lost",
                    "incarnation": member.incarnation if member else None,
                    "joined": member.joined if member else None,
                    "votes": node.votes, "local": node.name == view.local,
                    "address": member.address if member else None})
    return {"cluster": config.name, "nodes": out}
