"""``hacore why SERVICE``: where a service runs and why, or why it does not run.

``explain_service`` reads one snapshot (the cluster state this node knows, with this node's
own quorum) and answers with the blocking reason ``hacore.policy.why.waiting_reasons``
gives, and for every node of the cluster whether it could take the service now and why
not. Pure: no I/O, the time is an argument.
"""

from __future__ import annotations

from typing import Any

from hacore.config.model import ClusterConfig
from hacore.errors import InputError
from hacore.policy.index import ServicePlan, index_for
from hacore.policy.placement import Round, explain_choice, explain_no_node
from hacore.policy.snapshot import Snapshot
from hacore.policy.why import waiting_reasons


def explain_service(config: ClusterConfig, snap: Snapshot, service: str,
                    now: float) -> dict[str, Any]:
    """``{service, state, owner, running, reason, blocking, candidates: [{node, eligible,
    why}]}``; InputError for a service the configuration does not have."""
    ix = index_for(config)
    plan = next((p for p in ix.plans if p.name == service), None)
    if plan is None:
        names = ", ".join(p.name for p in ix.plans) or "none"
        raise InputError(f"no service named {service!r} (services: {names})")
    st = snap.status(service)
    rnd = Round(ix, snap, now)
    blocking = _blocking(config, snap, service, now)
    running = st.state == "started" and st.owner in snap.members and blocking is None
    unmanaged_ok = (st.state == "started" and st.owner in snap.members and snap.quorate
                    and snap.unmanaged(service)
                    and snap.reports.get(service, {}).get(st.owner or "") is None)
    if unmanaged_ok:  # in maintenance, and its monitors on its owner report nothing wrong
        running = True
        reason = f"{service} runs on {st.owner}, {blocking}"
    elif running:
        assert st.owner is not None
        tier = plan.rank.get(st.owner, 0)
        reason = f"{service} runs on {st.owner}: " + explain_choice(plan, st.owner, tier)
        if st.owner not in plan.rank:
            reason = f"{service} runs on {st.owner}"
    elif blocking is not None:
        where = f" (owner {st.owner})" if st.owner else ""
        reason = f"{service} is {st.state}{where}: {blocking}"
    else:
        reason = f"{service} is {st.state}" + (f" on {st.owner}" if st.owner else "")
    return {"service": service, "state": st.state, "owner": st.owner, "running": running,
            "frozen": st.frozen, "maintenance": snap.unmanaged(service),
            "quorate": snap.quorate, "reason": reason,
            "blocking": blocking,
            "candidates": [_candidate(rnd, plan, snap, n.name, service)
                           for n in config.nodes]}


def _blocking(config: ClusterConfig, snap: Snapshot, service: str, now: float) -> str | None:
    st = snap.status(service)
    if st.state == "disabled" and not st.frozen:
        return "disabled by an administrator: it stays stopped until `hacore service enable`"
    reason = waiting_reasons(config, snap, now).get(service)
    if reason is None and st.state == "stopped" and snap.quorate:
        ix = index_for(config)
        plan = next(p for p in ix.plans if p.name == service)
        rnd = Round(ix, snap, now)
        if rnd.choose(plan, exclude=st.avoid) is None:  # never placed: decide says nothing
            reason = explain_no_node(rnd, plan, st.avoid)
    return reason


def _candidate(rnd: Round, plan: ServicePlan, snap: Snapshot, node: str,
               service: str) -> dict[str, Any]:
    st = snap.status(service)
    domain = plan.domain
    why = ""
    if node not in plan.rank:
        why = (f"outside restricted domain {domain.name}" if domain is not None
               else "not allowed to run it")
    elif node not in snap.members:
        why = "not a member of the cluster now (lost or down)"
    elif st.stop_failed_on == node:
        why = "a stop of the service failed there"
    elif node in st.avoid:
        why = "its start failed there during this attempt"
    elif node in snap.standby:
        why = "in standby"
    elif plan.service.exclusive and rnd.load.get(node, 0) > 0 and st.owner != node:
        why = f"{service} is exclusive and {node} already runs a service"
    elif node in rnd.exclusive_on and st.owner != node:
        why = f"{node} runs an exclusive service"
    eligible = not why
    if eligible:
        why = "runs it now" if st.owner == node and st.state == "started" else "eligible"
    return {"node": node, "eligible": eligible, "why": why,
            "tier": plan.rank.get(node)}
