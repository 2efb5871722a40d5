"""The policy during ``hacore cluster stop``: stop every service where it runs, start nothing.

While ``Snapshot.cluster_stop`` is set, ``decide`` calls ``cluster_stop_actions`` instead of
its usual rules (lost nodes are still fenced as always). Services stop in the reverse of
the order they start in: a service stops only once every service that depends on it
(``depend``, hard or soft) is stopped; services with no dependency between them stop in the
same round (they start in the same round too), listed in reverse configuration order. A
service is stopped where it runs and never moved; a relocation or failback under way ends
where it stands. The admin intent stays: a stopped service is ``stopped`` (it starts again
at the next cluster start), a disabled one stays ``disabled``, and one being disabled ends
``disabled``. A stop that fails marks the service ``failed`` on its node (as without a
fence device; fencing buys nothing when nothing is to start elsewhere), which ends the stop
there: the daemons stay up for the administrator. Pure, like ``decide``.
"""

from __future__ import annotations

from hacore.config.model import ClusterConfig
from hacore.fencing import rules as fencing
from hacore.policy.actions import Action
from hacore.policy.index import ServicePlan
from hacore.policy.placement import Round
from hacore.policy.snapshot import ACTIVE_STATES, ServiceStatus, Snapshot


def _stop(name: str, node: str, ends: str) -> str:
    return f"stop {name} on {node}: the cluster is stopping (hacore cluster stop); it stays {ends}"


def _stray(name: str, node: str) -> str:
    return (f"stop {name} on {node}: the cluster is stopping and {node} reports a copy of "
            f"{name} running that the cluster did not start")


def _lost(name: str, owner: str, cause: str) -> str:
    how = "was fenced" if cause == "fenced" else "passed its self-stop deadline"
    return (f"mark {name} stopped: its owner {owner} left and {how}; the cluster is stopping, "
            "so it is not started elsewhere")


def _ended(name: str) -> str:
    return f"mark {name} stopped: the cluster is stopping, so its move ends here"


def _failed(name: str, node: str) -> str:
    return (f"mark {name} failed: stopping it on {node} failed while the cluster is stopping; "
            f"check {node}, then `hacore service disable {name}`")


def dependents(config: ClusterConfig) -> dict[str, set[str]]:
    """service -> the services that depend on it (directly, hard or soft)."""
    out: dict[str, set[str]] = {s.name: set() for s in config.services}
    for svc in config.services:
        if svc.depend:
            out.setdefault(svc.depend, set()).add(svc.name)
    return out


def holds(st: ServiceStatus | None) -> bool:
    """The service is (or may be) active somewhere, or failed there (its owner may hold it)."""
    return st is not None and (st.state in ACTIVE_STATES or st.state == "failed")


def stop_order(config: ClusterConfig) -> list[list[str]]:
    """The rounds a cluster stop takes with every service running: each a list of services
    stopped together (reverse configuration order within a round)."""
    after = dependents(config)
    left = [s.name for s in reversed(config.services)]
    rounds: list[list[str]] = []
    while left:
        now = [n for n in left if not (after.get(n, set()) & set(left))]
        if not now:  # a dependency cycle (the config checks refuse it): stop the rest
            now = left
        rounds.append(now)
        left = [n for n in left if n not in now]
    return rounds


def cluster_stop_actions(rnd: Round, out: list[Action]) -> None:
    """Append the actions of one round of a cluster stop (see the module docstring)."""
    snap = rnd.snap
    after = dependents(rnd.ix.config)
    for plan in reversed(rnd.ix.plans):
        st = snap.services.get(plan.name)
        if st is None:
            continue
        reps = snap.reports.get(plan.name) or {}
        owner = st.owner if st.state in ACTIVE_STATES else None
        strays = [n for n, r in sorted(reps.items())
                  if r.status == "running" and n in rnd.members and n != owner]
        for node in strays:
            out.append(Action("stop", plan.name, node, plan.stop_resources,
                              why=(_stray, plan.name, node)))
        if any(holds(snap.services.get(d)) for d in after.get(plan.name, ())):
            continue  # what depends on it stops first
        _one(rnd, plan, st, out)


def _one(rnd: Round, plan: ServicePlan, st: ServiceStatus, out: list[Action]) -> None:
    name, owner, state = plan.name, st.owner, st.state
    if state in ("failed", "disabled") or (state == "stopped" and owner is None):
        return
    if owner is not None and owner not in rnd.members:
        cause = fencing.recovery_clearance(rnd.snap.lost.get(owner), rnd.now,
                                           stop_failed=owner in rnd.stop_failed_nodes)
        if cause is None:
            if owner in rnd.ix.fenceable and owner not in rnd.fenced_this_round:
                rnd.fenced_this_round.add(owner)
                out.append(Action("fence", None, owner, why=(_fence_lost, owner, name)))
            return
        out.append(Action("set-state", name, None, state=_ends(st),
                          why=(_lost, name, owner, cause)))
        return
    if state in ("starting", "stopping"):
        return  # an operation is in flight; its outcome comes as a new fact
    if st.stop_failed_on is not None:
        out.append(Action("set-state", name, st.stop_failed_on, state="failed",
                          why=(_failed, name, st.stop_failed_on)))
        return
    if owner is None:  # between the stop and the start of a move
        out.append(Action("set-state", name, None, state=_ends(st), why=(_ended, name)))
        return
    out.append(Action("stop", name, owner, plan.stop_resources, state=_ends(st),
                      why=(_stop, name, owner, _ends(st))))


def _ends(st: ServiceStatus) -> str:
    return "disabled" if st.intent == "disable" else "stopped"


def _fence_lost(node: str, service: str) -> str:
    return (f"fence {node}: {node} left the membership while running {service}; the cluster "
            "stop waits until it is fenced (S3)")


def stop_outcome(config: ClusterConfig, snap: Snapshot) -> tuple[list[tuple[str, str]],
                                                                  list[tuple[str, str | None]]]:
    """(failed, left): services failed (with their node) and services still active (with
    their owner), in configuration order. Both empty: every service is stopped."""
    failed: list[tuple[str, str]] = []
    left: list[tuple[str, str | None]] = []
    for svc in config.services:
        st = snap.services.get(svc.name)
        if st is None:
            continue
        if st.state == "failed":
            failed.append((svc.name, st.stop_failed_on or st.owner or "?"))
        elif st.state in ACTIVE_STATES:
            left.append((svc.name, st.owner))
    return failed, left

