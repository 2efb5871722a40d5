"""Maintenance mode, per service and for the whole cluster: the policy's side (pure).

A service in maintenance (``ServiceStatus.maintenance``), or every service while the
cluster is (``Snapshot.maintenance``), is *unmanaged*: ``decide`` starts, stops, restarts,
recovers and moves none of it. Its monitors keep running on its owner and what they report
is shown, not acted on (so no failure counts toward max_restarts). A copy found on another
node by the periodic S1 probes is reported, not stopped; a copy found while the cluster
knows no owner is only recorded as the owner (adoption: bookkeeping, nothing runs).

What maintenance does not suspend: a lost node is still fenced (S3, its services are not
recovered elsewhere while in maintenance) and a node without quorum still applies the
no-quorum rule (S2): both protect data from a node the cluster cannot see, which no
administrator's promise about one service can cover.

Leaving maintenance sets ``reprobe``: ``decide`` then asks every member to probe the
service (one ``probe`` action, node None = every member) and acts on it only once the
fresh answers are in, so a copy started by hand during maintenance is found and stopped.

A node that leaves cleanly during cluster maintenance leaves its services running
(``LostNode.kept_running``): it is not fenced while every service it owns stays in
maintenance; once one of them is managed again and the node is still away, it is fenced
before that service is recovered elsewhere (S3).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from hacore.config.model import ClusterConfig
from hacore.policy.actions import Action
from hacore.policy.facts import node_lost
from hacore.policy.index import ServicePlan
from hacore.policy.placement import Round
from hacore.policy.snapshot import ACTIVE_STATES, LostNode, Report, ServiceStatus, Snapshot


def service_in_maintenance(snap: Snapshot, service: str) -> bool:
    """The service itself or the whole cluster is in maintenance (not only re-probing)."""
    return snap.maintenance or snap.status(service).maintenance


def kept_running_spared(snap: Snapshot, node: str) -> bool:
    """``node`` left cleanly in maintenance with its services running, and every service it
    owns is still in maintenance: it is not fenced (see the module docstring)."""
    lost = snap.lost.get(node)
    if lost is None or not lost.kept_running or lost.fenced:
        return False
    return all(service_in_maintenance(snap, name)
               for name, st in snap.services.items() if st.owner == node)


def _probe_reason(name: str) -> str:
    return (f"probe {name} on every member: it left maintenance, so the cluster checks what "
            "really runs before it acts on it again")


def _adopt_reason(name: str, node: str) -> str:
    return (f"mark {name} started on {node}: it is in maintenance and {node} reports it "
            "running, so the cluster records it there (nothing is started or stopped)")


def unmanaged_actions(rnd: Round, plan: ServicePlan, st: ServiceStatus,
                      reps: Mapping[str, Report] | None, out: list[Action]) -> None:
    """What ``decide`` does for an unmanaged service: a probe when it left maintenance,
    the adoption of a copy found while it has no owner, nothing else."""
    snap, name = rnd.snap, plan.name
    if st.reprobe and not service_in_maintenance(snap, name):
        out.append(Action("probe", name, None, why=(_probe_reason, name)))
        return
    if st.state in ("failed", "disabled") or not reps:
        return
    if st.owner is not None and st.state in ACTIVE_STATES:
        return
    order = rnd.ix.node_order
    found = sorted((n for n, r in reps.items() if r.status == "running" and n in rnd.members),
                   key=lambda n: (plan.rank.get(n, len(plan.tiers)), order.get(n, len(order)),
                                  n))
    if found:
        out.append(Action("set-state", name, found[0], state="started",
                          why=(_adopt_reason, name, found[0])))


def set_service_maintenance(snap: Snapshot, service: str, on: bool) -> Snapshot:
    """The snapshot with ``service`` in maintenance (on) or leaving it (re-probe first)."""
    st = snap.status(service)
    if st.maintenance == on:
        return snap
    new = replace(st, maintenance=on, reprobe=not on)
    services = dict(snap.services)
    services[service] = new
    return replace(snap, services=services)


def set_cluster_maintenance(snap: Snapshot, on: bool) -> Snapshot:
    """The snapshot with the whole cluster in maintenance, or leaving it: then every
    service not in maintenance of its own is re-probed before the policy acts on it."""
    if snap.maintenance == on:
        return snap
    if on:
        return replace(snap, maintenance=True)
    services = {name: st if st.maintenance else replace(st, reprobe=True)
                for name, st in snap.services.items()}
    return replace(snap, maintenance=False, services=services)


def maintenance_reason(snap: Snapshot, service: str, fenceable: Collection[str]) -> str:
    """One phrase for ``hacore status``/``why``: in maintenance, what its monitors say, and
    what hacore does about it (nothing), e.g. "in maintenance; its monitor on n2 fails:
    resource apache; hacore does nothing until maintenance is off"."""
    st = snap.status(service)
    if st.reprobe and not service_in_maintenance(snap, service):
        return ("leaving maintenance: every member probes it, then the policy acts on what "
                "really runs")
    head = "in maintenance (the whole cluster)" if snap.maintenance else "in maintenance"
    way_out = ("`hacore cluster maintenance off`" if snap.maintenance and not st.maintenance
               else f"`hacore service maintenance off {service}`")
    parts = [head]
    owner = st.owner
    reps = snap.reports.get(service, {})
    if owner is not None and st.state in ACTIVE_STATES:
        lost = snap.lost.get(owner)
        if owner not in snap.members:
            if lost is not None and lost.kept_running and not lost.fenced:
                parts.append(f"{owner} left with it running and is not monitored; it is not "
                             "recovered elsewhere (nor fenced) while in maintenance")
            elif lost is not None and lost.fenced:
                parts.append(f"{owner} was lost and fenced; it is not recovered elsewhere "
                             "while in maintenance")
            elif owner in fenceable:
                parts.append(f"{owner} is lost: it is fenced (S3) but the service is not "
                             "recovered elsewhere while in maintenance")
            else:
                parts.append(f"{owner} is lost; the service is not recovered elsewhere while "
                             "in maintenance")
        else:
            rep = reps.get(owner)
            if rep is None:
                parts.append(f"its monitors on {owner} report it running")
            elif rep.status == "failed":
                parts.append(f"its monitor on {owner} fails: "
                             f"{'resource ' + rep.resource if rep.resource else 'failed'}")
            elif rep.status == "stopped":
                parts.append(f"its monitor on {owner} fails: not running")
    elif st.state not in ("disabled", "failed"):
        parts.append(f"{st.state}, nothing is started")
    also = sorted(n for n, r in reps.items() if r.status == "running" and n != owner)
    if also:
        parts.append(f"ALSO REPORTED RUNNING on {', '.join(also)} (S1): reported, not stopped")
    return "; ".join(parts) + f"; hacore does nothing until maintenance is off ({way_out})"


def node_left_running(config: ClusterConfig, snap: Snapshot, node: str, *,
                      seen_all: bool = True) -> Snapshot:
    """``node``'s daemon stopped cleanly in maintenance and left its services running: lost,
    not fenced, no self-stop deadline (it stopped nothing), ``kept_running``."""
    snap = node_lost(config, snap, node, last_heard=0.0, seen_all=seen_all)
    lost = dict(snap.lost)
    lost[node] = LostNode(fenced=False, self_stop_deadline=None, kept_running=True)
    return replace(snap, lost=lost)
