"""``apply``: the snapshot after some actions ran, given whether each one succeeded.

Used by ``hacore simulate`` and by the tests to play a scenario forward; the daemon builds
its snapshots from real facts instead. Pure like ``decide``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from hacore.config.model import ClusterConfig
from hacore.policy.actions import Action
from hacore.policy.snapshot import LostNode, Report, ServiceStatus, Snapshot

_NEW = ServiceStatus()


class _Builder:
    """Copy-on-write state for one ``apply`` call."""

    def __init__(self, config: ClusterConfig, snap: Snapshot, now: float) -> None:
        self.config = config
        self.snap = snap
        self.now = now
        self.services = dict(snap.services)
        self.reports: dict[str, Mapping[str, Report]] = dict(snap.reports)
        self.members = snap.members
        self.lost = snap.lost
        self.generation = snap.generation
        self.fenceable = {n.name for n in config.nodes if n.fence}

    def drop_report(self, service: str, node: str) -> None:
        by_node = self.reports.get(service)
        if by_node and node in by_node:
            rest = {n: r for n, r in by_node.items() if n != node}
            if rest:
                self.reports[service] = rest
            else:
                del self.reports[service]

    def set_report(self, service: str, node: str, report: Report) -> None:
        by_node = dict(self.reports.get(service, {}))
        by_node[node] = report
        self.reports[service] = by_node

    def fence(self, node: str, ok: bool) -> None:
        if not ok:
            return
        if node in self.members:
            self.members = {n: g for n, g in self.members.items() if n != node}
            self.generation += 1
        lost = dict(self.lost)
        lost[node] = LostNode(fenced=True, self_stop_deadline=None)
        self.lost = lost
        for svc in list(self.reports):
            self.drop_report(svc, node)
        for name, st in self.services.items():
            if st.stop_failed_on == node:
                self.services[name] = replace(st, stop_failed_on=None)

    def stop_failed(self, name: str, st: ServiceStatus, node: str,
                    disabling: bool = False) -> ServiceStatus:
        """A stop that failed on ``node``: fenced there first, then recovered; an admin's
        disable stays (acknowledged intents are never dropped: once the node is fenced
        the service ends disabled, it is not started elsewhere)."""
        intent = "disable" if disabling or st.intent == "disable" else None
        if node in self.fenceable:
            return replace(st, state="recovering", owner=node, stop_failed_on=node,
                           intent=intent, target=None)
        return replace(st, state="failed", owner=node, last_owner=node, stop_failed_on=node,
                       intent=intent, target=None)

    def service_action(self, a: Action, ok: bool) -> None:
        name, node = a.service, a.node
        assert name is not None
        st = self.services.get(name) or _NEW
        kind = a.kind
        if kind == "start":
            assert node is not None
            self.drop_report(name, node)
            if ok:
                st = ServiceStatus(state="started", owner=node, last_owner=node, frozen=st.frozen,
                                   restarts=st.restarts, subtree_restarts=st.subtree_restarts,
                                   placed_gen=self.generation, maintenance=st.maintenance,
                                   reprobe=st.reprobe)
            else:
                st = replace(st, state="recovering", owner=node, last_owner=node,
                             avoid=st.avoid | {node})
        elif kind == "stop":
            assert node is not None
            self.drop_report(name, node)
            if a.state is None:  # a stray copy on a node that does not own it
                if not ok:  # the owner's copy is fine; the stray one must be fenced away
                    st = replace(st, stop_failed_on=node,
                                 state=st.state if node in self.fenceable else "failed")
            elif ok:
                forget = a.intent == "recover" or a.state == "disabled"
                st = replace(st, state=a.state, owner=None, last_owner=node, intent=a.intent,
                             target=a.target, stopped_subtrees=frozenset(),
                             restarts=() if forget else st.restarts,
                             subtree_restarts={} if forget else st.subtree_restarts,
                             avoid=frozenset() if a.state == "disabled" else st.avoid)
            else:
                st = self.stop_failed(name, st, node, disabling=a.state == "disabled")
        elif kind == "restart":
            assert node is not None
            self.drop_report(name, node)
            restarts = st.restarts if a.intent == "restart" else st.restarts + (self.now,)
            if ok:
                st = replace(st, state="started", owner=node, restarts=restarts, intent=None,
                             target=None, stopped_subtrees=frozenset())
            else:
                svc = self.config.service(name)
                then = "disable" if svc is not None and svc.recovery == "restart-disable" \
                    else "recover"
                st = replace(st, state="recovering", owner=node, restarts=restarts, intent=then,
                             target=None, avoid=st.avoid | {node})
        elif kind == "set-state":
            assert a.state is not None
            if a.state == "started":
                assert node is not None
                self.drop_report(name, node)
                st = replace(st, state="started", owner=node, last_owner=node, intent=None,
                             target=None, placed_gen=self.generation)
            elif a.state in ("stopped", "disabled"):
                st = replace(st, state=a.state, owner=None,
                             last_owner=st.owner or st.last_owner, intent=None, target=None,
                             stop_failed_on=None if a.state == "disabled" else st.stop_failed_on,
                             avoid=frozenset() if a.state == "disabled" else st.avoid)
            else:
                st = replace(st, state=a.state, owner=st.owner or node)
        elif kind == "stop-subtree":
            assert node is not None and a.target is not None
            self.drop_report(name, node)
            if ok:
                st = replace(st, stopped_subtrees=st.stopped_subtrees | {a.target})
            else:
                st = self.stop_failed(name, st, node)
        elif kind == "restart-subtree":
            assert node is not None and a.target is not None
            self.drop_report(name, node)
            history = dict(st.subtree_restarts)
            history[a.target] = history.get(a.target, ()) + (self.now,)
            st = replace(st, subtree_restarts=history)
            if not ok:  # the subtree would not come back: the whole service has failed
                self.set_report(name, node, Report("failed"))
        elif kind == "start-subtree":
            assert node is not None and a.target is not None
            self.drop_report(name, node)
            rest = st.stopped_subtrees - {a.target} if ok else st.stopped_subtrees
            st = replace(st, stopped_subtrees=rest, intent=None, target=None)
        elif kind == "freeze":
            st = replace(st, frozen=True)
        elif kind == "probe" and ok:  # every member probed it after maintenance
            st = replace(st, reprobe=False)
        self.services[name] = st

    def snapshot(self) -> Snapshot:
        return replace(self.snap, members=self.members, lost=self.lost,
                       generation=self.generation, services=self.services, reports=self.reports)


def apply(config: ClusterConfig, snapshot: Snapshot, actions: Sequence[Action],
          outcomes: Sequence[bool] | None = None, *, now: float = 0.0) -> Snapshot:
    """The snapshot after ``actions`` ran in order; ``outcomes[i]`` False = action i failed.

    ``now`` stamps restart history. Without ``outcomes`` every action succeeded.
    """
    if outcomes is not None and len(outcomes) != len(actions):
        raise ValueError(f"{len(outcomes)} outcomes for {len(actions)} actions")
    builder = _Builder(config, snapshot, now)
    for i, action in enumerate(actions):
        ok = True if outcomes is None else bool(outcomes[i])
        if action.kind == "fence":
            assert action.node is not None
            builder.fence(action.node, ok)
        else:
            builder.service_action(action, ok)
    return builder.snapshot()
