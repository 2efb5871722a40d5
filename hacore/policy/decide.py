"""``decide(config, snapshot, now) -> list[Action]``: rgmanager's rules with hacore's safety.

Pure: no I/O, no clock, no randomness; the same inputs give the same actions in the same
order (services in config order). Each action changes one thing and waits for its outcome:
a relocation is a stop now and a start in the next round, once the stop is confirmed (S4).
Runs only in a quorate partition (S2): without quorum it returns no actions, see
``hacore.policy.noquorum`` for what a node without quorum does locally.

``stable_until(config, snapshot, now)`` says how long that answer holds: the earliest time
at which a rule reading ``now`` (a lost node's self-stop deadline, a restart window) can
flip for this snapshot. A rule that reads ``now`` must be covered there (the coordinator
skips rounds whose inputs did not change before that time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hacore.config.model import ClusterConfig
from hacore.fencing import rules as fencing
from hacore.policy import reasons as R
from hacore.policy.actions import Action
from hacore.policy.cluster_stop import cluster_stop_actions
from hacore.policy.index import ServicePlan, index_for
from hacore.policy.maintenance import kept_running_spared, unmanaged_actions
from hacore.policy.placement import Choice, Round, explain_choice, explain_no_node
from hacore.policy.snapshot import ACTIVE_STATES, Report, ServiceStatus, Snapshot

_NEW = ServiceStatus()


def idle_reason(snapshot: Snapshot) -> str | None:
    """Why ``decide`` would do nothing at all (no quorum), or None."""
    if not snapshot.quorate:
        return "this partition is not quorate: nothing is started or moved (S2)"
    return None


def decide(config: ClusterConfig, snapshot: Snapshot, now: float) -> list[Action]:
    """The actions that bring the cluster toward its configuration, each with its reason."""
    if not snapshot.quorate:
        return []
    ix = index_for(config)
    rnd = Round(ix, snapshot, now)
    out: list[Action] = []
    if snapshot.lost:
        _fence_lost_nodes(rnd, out)
    if snapshot.cluster_stop:  # hacore cluster stop: stop everything, start nothing
        cluster_stop_actions(rnd, out)
        return out
    services = snapshot.services
    reports = snapshot.reports
    for plan in ix.plans:
        st = services.get(plan.name)
        if st is None:
            if not plan.service.autostart:
                out.append(Action("set-state", plan.name, None, state="disabled",
                                  why=(R.autostart_off, plan.name)))
                continue
            if snapshot.lost and fencing.startup_fence_pending(config, snapshot.lost, plan.rank):
                continue  # it may still run on a node absent at formation: fence that first
            st = _NEW
        if st.frozen:
            continue
        reps = reports.get(plan.name)
        if snapshot.unmanaged(plan.name):  # maintenance: see hacore.policy.maintenance
            unmanaged_actions(rnd, plan, st, reps, out)
            continue
        if reps and _duplicates(rnd, plan, st, reps, out):
            continue
        _one(rnd, plan, st, reps, out)
    return out


def _duplicates(rnd: Round, plan: ServicePlan, st: ServiceStatus,
                reps: Mapping[str, Report], out: list[Action]) -> bool:
    """S1: the service is active where it should not be. Returns True if actions were added."""
    members = rnd.members
    order = rnd.ix.node_order
    owner = st.owner if st.state in ACTIVE_STATES and st.owner in members else None
    extra = sorted((n for n, r in reps.items()
                    if r.status == "running" and n in members and n != owner),
                   key=lambda n: (order.get(n, len(order)), n))
    if not extra or st.state == "failed":
        return False
    name = plan.name
    if st.state == "disabled":
        for node in extra:
            out.append(Action("stop", name, node, plan.stop_resources,
                              why=(R.stray_disabled, name, node)))
        return True
    keep = owner
    if keep is None:
        keep = min(extra, key=lambda n: (plan.rank.get(n, len(plan.tiers)),
                                         order.get(n, len(order)), n))
        out.append(Action("set-state", name, keep, state="started",
                          why=(R.adopt, name, keep, st.state)))
    seen = sorted({keep, *extra}, key=lambda n: (order.get(n, len(order)), n))
    for node in extra:
        if node != keep:
            out.append(Action("stop", name, node, plan.stop_resources,
                              why=(R.two_owners, name, tuple(seen), node, keep)))
    return True


def _fence_lost_nodes(rnd: Round, out: list[Action]) -> None:
    """Every lost node with a fence method is fenced, whatever it ran (like fenced)."""
    order = rnd.ix.node_order
    for node in sorted(rnd.snap.lost, key=lambda n: order.get(n, len(order))):
        if kept_running_spared(rnd.snap, node):
            continue  # left cleanly in maintenance, its services still in maintenance
        if fencing.must_fence_lost(rnd.ix.config, node, rnd.snap.lost[node], rnd.members):
            rnd.fenced_this_round.add(node)
            out.append(Action("fence", None, node, why=(R.fence_lost, node, rnd.snap)))


def _fence(rnd: Round, node: str, service: str, cause: str, out: list[Action]) -> None:
    if node in rnd.fenced_this_round:
        return
    rnd.fenced_this_round.add(node)
    out.append(Action("fence", None, node, why=(R.fence, node, service, cause)))


def _one(rnd: Round, plan: ServicePlan, st: ServiceStatus,
         reps: Mapping[str, Report] | None, out: list[Action]) -> None:
    state, owner, name = st.state, st.owner, plan.name
    if state in ("failed", "disabled"):
        return
    if owner is not None and owner not in rnd.members:
        _lost_owner(rnd, plan, st, owner, out)
        return
    if state in ("starting", "stopping"):
        return  # an operation is in flight; its outcome comes as a new fact
    if st.stop_failed_on is not None:
        node = st.stop_failed_on
        if fencing.stop_failure_response(rnd.ix.config, node) == "fence":
            _fence(rnd, node, name, "stop-failed", out)
        else:
            out.append(Action("set-state", name, node, state="failed",
                              why=(R.stop_failed_no_fence, name, node)))
        return
    if st.intent == "disable":
        if owner is not None:
            out.append(Action("stop", name, owner, plan.stop_resources, state="disabled",
                              why=(R.disable_stop, name, owner, st.state)))
        else:
            out.append(Action("set-state", name, None, state="disabled",
                              why=(R.disable_mark, name)))
        return
    if owner is not None and state == "recovering":
        out.append(Action("stop", name, owner, plan.stop_resources, state="recovering",
                          intent=st.intent, target=st.target,
                          why=(R.stop_after_failed_start, name, owner)))
        return
    if owner is not None and state == "started":
        _running(rnd, plan, st, owner, reps, out)
        return
    _place(rnd, plan, st, out)


def _lost_owner(rnd: Round, plan: ServicePlan, st: ServiceStatus, owner: str,
                out: list[Action]) -> None:
    """S3: recover only once the lost owner is fenced or surely stopped itself."""
    cause = fencing.recovery_clearance(rnd.snap.lost.get(owner), rnd.now,
                                       stop_failed=owner in rnd.stop_failed_nodes)
    if cause is None:
        if owner in rnd.ix.fenceable:
            _fence(rnd, owner, plan.name, "lost", out)
        return
    name = plan.name
    if st.intent == "disable":
        out.append(Action("set-state", name, None, state="disabled",
                          why=(R.lost_disabled, name, owner, cause)))
        return
    svc = plan.service
    if svc.depend and svc.depend_mode == "hard" and not rnd.running(svc.depend):
        out.append(Action("set-state", name, None, state="stopped",
                          why=(R.lost_dependency, name, owner, cause, svc.depend)))
        return
    exclude = st.avoid | {owner}
    choice = rnd.choose(plan, exclude)
    if choice is None:
        out.append(Action("set-state", name, None, state="stopped",
                          why=(R.lost_nowhere, name, owner, cause,
                               explain_no_node(rnd, plan, exclude))))
        return
    node, tier, spared = choice
    rnd.planned_start(plan, node)
    out.append(Action("start", name, node, plan.start_resources,
                      why=(R.lost_start, name, node, owner, cause, plan, tier, spared)))


def _recent(history: tuple[float, ...], expire: float, now: float) -> int:
    if expire <= 0:
        return len(history)
    return sum(1 for t in history if now < t + expire)  # the form _window_end reads


def _window_end(history: tuple[float, ...], expire: float, now: float) -> float:
    """When the next entry of ``history`` leaves ``_recent``'s window (inf: none will)."""
    if expire <= 0:
        return math.inf
    return min((t + expire for t in history if now < t + expire), default=math.inf)


def stable_until(config: ClusterConfig, snapshot: Snapshot, now: float) -> float:
    """A time ``u > now`` such that ``decide(config, snapshot, t)`` answers as at ``now`` for
    every ``t`` in ``[now, u)``: the earliest instant a rule reading the time can flip for
    this snapshot (the answer may still be the same then), ``math.inf`` when none can.
    The rules that read ``now``: a lost node's self-stop deadline (``recovery_clearance``,
    here and in a cluster stop) and the restart windows of services and subtrees
    (``_recent``). The round's other clocks (post_join_delay, fence retries and delays) are
    the coordinator's, not decide's."""
    if not snapshot.quorate:
        return math.inf  # decide answers nothing, whatever the time
    until = math.inf
    for lost in snapshot.lost.values():
        deadline = lost.self_stop_deadline
        if deadline is not None and now < deadline:
            until = min(until, deadline)
    services = snapshot.services
    for plan in index_for(config).plans:
        st = services.get(plan.name)
        if st is None:
            continue
        if st.restarts:
            until = min(until, _window_end(st.restarts, plan.service.restart_expire_time, now))
        if st.subtree_restarts:
            for sub in plan.subtrees.values():
                until = min(until, _window_end(st.subtree_restarts.get(sub.root, ()),
                                               sub.restart_expire_time, now))
    return until


def _running(rnd: Round, plan: ServicePlan, st: ServiceStatus, owner: str,
             reps: Mapping[str, Report] | None, out: list[Action]) -> None:
    name, svc = plan.name, plan.service
    rep = reps.get(owner) if reps else None
    if rep is not None and rep.status != "running":
        _failure(rnd, plan, st, owner, rep, out)
        return
    if st.intent == "enable" and st.stopped_subtrees:
        for root in sorted(st.stopped_subtrees):
            sub = plan.subtrees.get(root)
            if sub is not None:
                out.append(Action("start-subtree", name, owner, sub.start_resources, target=root,
                                  why=(R.convalesce, name, owner, root)))
        return
    if st.intent == "restart":
        out.append(Action("restart", name, owner, plan.start_resources, intent="restart",
                          why=(R.admin_restart, name, owner)))
        return
    if st.intent == "relocate":
        out.append(Action("stop", name, owner, plan.stop_resources, state="recovering",
                          intent="relocate", target=st.target,
                          why=(R.admin_relocate_stop, name, owner, st.target)))
        return
    if svc.depend and svc.depend_mode == "hard" and not rnd.running(svc.depend):
        out.append(Action("stop", name, owner, plan.stop_resources, state="stopped",
                          why=(R.dependency_stop, name, owner, svc.depend)))
        return
    if owner in rnd.snap.standby:
        choice = rnd.choose(plan, {owner})
        if choice is None:
            out.append(Action("stop", name, owner, plan.stop_resources, state="stopped",
                              why=(R.drain_nowhere, name, owner)))
        else:
            out.append(Action("stop", name, owner, plan.stop_resources, state="recovering",
                              intent="drain", target=choice[0],
                              why=(R.drain_stop, name, owner, choice[0])))
        return
    if plan.domain is not None and rnd.max_join > st.placed_gen:
        _failback(rnd, plan, st, owner, out)


def _failback(rnd: Round, plan: ServicePlan, st: ServiceStatus, owner: str,
              out: list[Action]) -> None:
    """Move toward a more preferred node that joined after the service was placed."""
    owner_tier = plan.rank.get(owner, len(plan.tiers))
    domain = plan.domain
    assert domain is not None
    if domain.nofailback and domain.ordered or not domain.ordered:
        if owner_tier < plan.member_tiers:
            return  # already inside the domain: no failback among members
        limit = plan.member_tiers
    else:
        limit = owner_tier
    if limit <= 0:
        return
    choice = rnd.choose(plan, {owner}, max_tier=limit, joined_after=st.placed_gen)
    if choice is None:
        return
    node, tier, spared = choice
    out.append(Action("stop", plan.name, owner, plan.stop_resources, state="recovering",
                      intent="failback", target=node,
                      why=(R.failback_stop, plan.name, owner, node, plan, tier, spared)))


def _failure(rnd: Round, plan: ServicePlan, st: ServiceStatus, owner: str, rep: Report,
             out: list[Action]) -> None:
    """A monitor on the owner failed (or found it stopped): subtree rules, then recovery."""
    name, svc, now = plan.name, plan.service, rnd.now
    res = rep.resource if rep.status == "failed" else None
    sub = plan.subtrees.get(res) if res is not None else None
    escalated = None
    if sub is not None:
        used = _recent(st.subtree_restarts.get(sub.root, ()), sub.restart_expire_time, now)
        counted = sub.max_restarts > 0
        if (counted and used < sub.max_restarts) or (not counted and not sub.non_critical):
            out.append(Action("restart-subtree", name, owner, sub.start_resources,
                              target=sub.root,
                              why=(R.subtree_restart, name, owner, res, sub, used)))
            return
        if sub.non_critical:
            out.append(Action("stop-subtree", name, owner, sub.stop_resources, target=sub.root,
                              why=(R.subtree_stop, name, owner, res, sub, used)))
            return
        escalated = sub
    what = res or "monitor"
    rec = svc.recovery
    if rec == "disable":
        out.append(Action("stop", name, owner, plan.stop_resources, state="disabled",
                          why=(R.failure_disable, name, owner, what)))
        return
    if rec == "relocate":
        out.append(Action("stop", name, owner, plan.stop_resources, state="recovering",
                          intent="recover", why=(R.failure_relocate, name, owner, what)))
        return
    used = _recent(st.restarts, svc.restart_expire_time, now)
    if svc.max_restarts > 0 and used >= svc.max_restarts:
        if rec == "restart-disable":
            out.append(Action("stop", name, owner, plan.stop_resources, state="disabled",
                              why=(R.failure_exhausted, name, owner, what, svc, "disable")))
        else:
            out.append(Action("stop", name, owner, plan.stop_resources, state="recovering",
                              intent="recover",
                              why=(R.failure_exhausted, name, owner, what, svc, "relocate")))
        return
    out.append(Action("restart", name, owner, plan.start_resources,
                      why=(R.failure_restart, name, owner, what, svc, used, escalated)))


def _place(rnd: Round, plan: ServicePlan, st: ServiceStatus, out: list[Action]) -> None:
    """Start a stopped or recovering service on the best eligible node."""
    name, svc = plan.name, plan.service
    # waits for its dependency (a soft one only before its first start)
    if (svc.depend and not rnd.running(svc.depend)
            and (svc.depend_mode == "hard" or st.last_owner is None)):
        return
    target, intent = st.target, st.intent
    admin = intent in ("relocate", "enable")
    if (target is not None and target not in st.avoid
            and rnd.eligible(plan, target, admin=admin)):
        rnd.planned_start(plan, target)
        out.append(Action("start", name, target, plan.start_resources,
                          why=(R.start_target, name, target, intent, st.last_owner, plan)))
        return
    exclude: frozenset[str] | set[str] = st.avoid
    prefer_not = st.last_owner if intent in ("recover", "relocate") else None
    if prefer_not is not None:
        exclude = exclude | {prefer_not}
    choice = rnd.choose(plan, exclude)
    if (choice is None and prefer_not is not None and prefer_not not in st.avoid
            and rnd.eligible(plan, prefer_not)):
        choice = Choice(prefer_not, plan.rank[prefer_not])
    if choice is None:
        if st.state != "stopped" or intent is not None:
            out.append(Action("set-state", name, None, state="stopped",
                              why=(R.nowhere, name, explain_no_node(rnd, plan, exclude))))
        return
    node, tier, spared = choice
    rnd.planned_start(plan, node)
    out.append(Action("start", name, node, plan.start_resources,
                      why=(R.start, name, node, intent, st, plan, tier, spared)))


__all__ = ["decide", "explain_choice", "idle_reason", "stable_until"]
