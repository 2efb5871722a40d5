"""Pure snapshot updates for new facts: a node lost or joined, a node's report.

The daemon (from its membership layer and agent results) and the simulator build the next
snapshot with these, so both follow the same rules: a lost node's self-stop deadline, a new
membership generation, quorum recomputed with votequorum's arithmetic.
"""

from __future__ import annotations

from dataclasses import replace

from hacore.config.model import ClusterConfig
from hacore.executor.operation import KILL_WAIT
from hacore.policy.index import index_for
from hacore.policy.quorum import is_quorate
from hacore.policy.snapshot import ACTIVE_STATES, LostNode, Report, Snapshot


def self_stop_deadline(config: ClusterConfig, snap: Snapshot, node: str,
                       last_heard: float) -> float:
    """When a lost node has surely stopped its services by itself (S3).

    Counted from the last message the survivors had from it: the node-loss timeout (it
    notices it is alone), the election grace (it may still hear a quorum of votes while no
    coordinator holds a lease, and waits that long before stopping), the stop timeouts of every service it runs with the executor's
    kill escalation after each (a timed-out stop is killed, then awaited up to KILL_WAIT),
    and the margin.
    """
    budget = sum(plan.service.stop_budget + KILL_WAIT * len(plan.service.walk())
                 for plan in index_for(config).plans if snap.status(plan.name).owner == node)
    timing = config.timing
    return (last_heard + timing.node_loss_timeout + timing.election_grace + budget
            + timing.self_stop_margin)


def _with_members(config: ClusterConfig, snap: Snapshot, members: dict[str, int],
                  seen_all: bool, **changes: object) -> Snapshot:
    order = [n.name for n in config.nodes]
    coordinator = min(members, key=lambda n: order.index(n) if n in order else len(order),
                      default=None)
    return replace(snap, members=members, generation=snap.generation + 1,  # type: ignore[arg-type]
                   quorate=is_quorate(config, members, seen_all=seen_all),
                   coordinator=coordinator, **changes)


def node_lost(config: ClusterConfig, snap: Snapshot, node: str, *, last_heard: float,
              seen_all: bool = True) -> Snapshot:
    """``node`` left the membership (crash or partition): not fenced, deadline set.

    ``seen_all``: every configured node was a member at once since start (wait_for_all).
    """
    members = {n: g for n, g in snap.members.items() if n != node}
    lost = dict(snap.lost)
    lost[node] = LostNode(fenced=False,
                          self_stop_deadline=self_stop_deadline(config, snap, node, last_heard))
    reports = {s: {n: r for n, r in by.items() if n != node} for s, by in snap.reports.items()}
    return _with_members(config, snap, members, seen_all, lost=lost,
                         reports={s: by for s, by in reports.items() if by})


def node_joined(config: ClusterConfig, snap: Snapshot, node: str, *,
                seen_all: bool = True, now: float | None = None) -> Snapshot:
    """``node`` joined the membership.

    What it ran is gone only when that is known: it was fenced (rebooted), its self-stop
    deadline passed by ``now`` (S2 made it stop), or it was not lost at all. A node that
    comes back before either (a view that dropped it for a moment, a partition healed
    early, a daemon restarted) may still run its services: they stay active there until
    its own status says otherwise, so nothing starts them elsewhere meanwhile (S1); one
    that was starting or stopping there is stopped there first, then placed again.
    """
    members = dict(snap.members)
    members[node] = snap.generation + 1
    prior = snap.lost.get(node)
    gone = (prior is None or prior.fenced
            or (now is not None and prior.deadline_passed(now)))
    lost = {n: ln for n, ln in snap.lost.items() if n != node}
    services = dict(snap.services)
    for name, st in services.items():
        if st.owner != node or st.state not in ACTIVE_STATES:
            continue
        if gone:
            services[name] = replace(st, state="stopped", owner=None, last_owner=node,
                                     stop_failed_on=None)
        elif st.state in ("starting", "stopping"):
            # the operation's result was lost with the node: stopped there first, then
            # placed again (as a new coordinator does with what its predecessor had in flight)
            services[name] = replace(st, state="recovering")
    return _with_members(config, snap, members, seen_all, lost=lost, services=services)


def with_report(snap: Snapshot, service: str, node: str, report: Report) -> Snapshot:
    """The snapshot with ``node``'s latest report about ``service``."""
    reports = dict(snap.reports)
    by_node = dict(reports.get(service, {}))
    by_node[node] = report
    reports[service] = by_node
    return replace(snap, reports=reports)
