"""The coordinator: on exactly the node the membership view names, one decision per cycle.

Each cycle reads one immutable snapshot (the cluster state plus what nodes reported),
calls ``decide``, and carries the actions out: ``set-state``/``freeze`` are applied at
once, ``fence`` runs through the fencing library, every other action is sent to its node
as an op with an id (resent until its result comes; the node never runs an id twice).
Every action is logged as one sentence with its reason, every outcome as another. The
outcome is folded in with ``apply``. While an op runs, its service is ``starting`` or
``stopping`` with its owner set, so nothing else is decided for it, and if the node is lost
meanwhile its services count as possibly active there (S3).

A new coordinator first reads the cluster state from a quorum of nodes and takes the
newest (S5, see docs/design.md for what is not done yet); admin requests are acknowledged
only once a quorum of nodes has stored the state that holds them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.admin import AdminIntents
from hacore.daemon.decision_memo import DecisionMemo
from hacore.daemon.events import EventLog
from hacore.daemon.fencer import Fencer
from hacore.daemon.maintenance import MaintenanceSteps, ProbeRound
from hacore.daemon.statuses import MemberStatuses
from hacore.daemon.takeover import Takeover, _last_heard
from hacore.journal import compose
from hacore.membership.contract import MembershipView
from hacore.policy import (
    Action,
    LostNode,
    ServiceStatus,
    Snapshot,
    apply,
    decide,
    snapshot_to_dict,
)
from hacore.policy.facts import node_joined, node_lost

log = logging.getLogger("hacore.daemon")

RETRY_INTERVAL = 0.5
BUSY_STATES = {"start": "starting", "restart": "starting", "start-subtree": "starting",
               "restart-subtree": "starting", "stop": "stopping", "stop-subtree": "stopping"}


@dataclass
class Inflight:
    action: Action
    prior: ServiceStatus
    sent: float
    tries: int = 1
    incident: str | None = None


def cluster_part(snap: Snapshot) -> dict[str, Any]:
    """What is replicated to every node: the snapshot without its local view, and without
    reports except those about services in maintenance (hacore.daemon.maintenance)."""
    raw = snapshot_to_dict(snap)
    reports = {name: by for name, by in raw.pop("reports", {}).items() if snap.unmanaged(name)}
    if reports:
        raw["reports"] = reports
    raw.pop("local", None)
    return raw


class Coordinator(Takeover, Fencer, AdminIntents, MaintenanceSteps):
    """Runs the policy cycle while this node is the coordinator (see module docstring)."""

    def __init__(self, config: ClusterConfig, node: str, incarnation: int,
                 send: Callable[[str, str, dict[str, Any]], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.node = node
        self.send = send
        self.clock = clock
        self._ids = itertools.count(1)
        self._prefix = f"{node}.{incarnation}"
        self.active = False
        self.snap: Snapshot | None = None
        self.version = 0
        self.view: MembershipView | None = None
        self.inflight: dict[str, Inflight] = {}
        self.statuses = MemberStatuses()
        self.acks: dict[str, int] = {}
        self.fencing: dict[str, float] = {}  # node -> when the last attempt started
        self.fence_tasks: set[asyncio.Task[Any]] = set()
        self._gathered: dict[str, tuple[int, dict[str, Any]]] = {}
        self._gathering = False
        self._ready_at = 0.0
        self._pending_fence_logged: set[str] = set()
        self._delay_logged: set[str] = set()
        self.incarnations: dict[str, int] = {}
        #: a node fenced while a member -> its fenced incarnation, while the view still
        #: lists it (its silence not noticed yet): not a member again, so not fenced again
        self.fenced_incarnations: dict[str, int] = {}
        self.view_changed_at = 0.0
        #: node -> incarnation that said it stopped everything and leaves (shared with the
        #: NodeDaemon, which hears it whether or not this node coordinates)
        self.clean_leaves: dict[str, int] = {}
        self.kept_leaves: dict[str, list[str]] = {}  # see MaintenanceSteps.leave_keeping
        self.probing: dict[str, ProbeRound] = {}
        self.wake: Callable[[], None] = lambda: None  # asks for a cycle soon (new facts)
        self.on_publish: Callable[[int, dict[str, Any]], None] | None = None
        self.events = EventLog(None, node)  # the NodeDaemon gives its journal
        self.memo = DecisionMemo()  # skips rounds that would answer as the last (issue 9)

    # -- taking over and stepping down ----------------------------------------------------

    def step_down(self, why: str) -> None:
        if self.active:
            log.info("%s is no longer the coordinator: %s", self.node, why)
        self.active = False
        self._gathering = False
        self.snap = None
        self.inflight.clear()
        self.memo.forget()

    # -- facts ----------------------------------------------------------------------------

    def on_view(self, view: MembershipView) -> None:
        """Fold a membership change into the snapshot (node_lost / node_joined)."""
        if self.view is None or set(view.member_names()) != set(self.view.member_names()):
            self.view_changed_at = self.clock()
        self.view = view
        if self.snap is None:
            if self._gathering:
                self._ask_states()
            return
        snap = self.snap
        now = self.clock()
        current = {m.name: m.incarnation for m in view.members}
        for name in list(snap.members):
            restarted = name in current and current[name] != self.incarnations.get(name, current[name])
            if name not in current or restarted:
                self._record_lost(snap, name, _last_heard(view, name, now), now)
                snap = node_lost(self.config, snap, name, last_heard=_last_heard(view, name, now))
                why = "restarted its daemon" if restarted else "left the membership"
                if not self._left_cleanly(name):
                    log.warning("%s %s; its services count as active there until it is fenced "
                                "or its self-stop deadline passes (S3)", name, why)
                snap = self._clean_leave(snap, name)
                self._forget_node(name)
        for name, incarnation in self.incarnations.items():
            if name not in snap.members and current.get(name) != incarnation:
                self._forget_node(name)  # fenced while a member: its daemon is gone
        for name, incarnation in current.items():
            if name not in snap.members and self.fenced_incarnations.get(name) != incarnation:
                snap = node_joined(self.config, snap, name, now=now)
                log.info("%s joined the membership", name)
                self.events.record(compose.node_joined(name, incarnation=incarnation))
        self.incarnations = current
        self.fenced_incarnations = {n: i for n, i in self.fenced_incarnations.items()
                                    if current.get(n) == i}
        self.snap = replace(snap, quorate=view.quorate, coordinator=view.coordinator)
        self._publish()

    def _record_lost(self, snap: Snapshot, name: str, last_heard: float, now: float) -> None:
        ran = sorted(s for s, st in snap.services.items() if st.owner == name)
        self.events.record(compose.node_lost(name, silent_for=max(0.0, now - last_heard),
                                             services=ran))

    def _left_cleanly(self, name: str) -> bool:
        inc = self.clean_leaves.get(name)
        return inc is not None and inc == self.incarnations.get(name, inc)

    def _clean_leave(self, snap: Snapshot, name: str) -> Snapshot:
        """A node whose incarnation said it stopped everything and left: not fenced."""
        if not self._left_cleanly(name):
            return snap
        del self.clean_leaves[name]
        keeping = self.leave_keeping(snap, name)
        if keeping is not None:
            return keeping
        services = dict(snap.services)
        for svc, st in services.items():
            if st.owner == name:  # its daemon stopped it and said so before leaving
                services[svc] = replace(st, state="stopped", owner=None, last_owner=name,
                                        stop_failed_on=None)
        lost = dict(snap.lost)
        lost[name] = LostNode(fenced=True, self_stop_deadline=None)
        log.info("%s left cleanly after stopping its services: it is not fenced and what it "
                 "ran is placed again", name)
        return replace(snap, lost=lost, services=services)

    def _forget_node(self, name: str) -> None:
        """Drop what ``name``'s daemon said and the ops it was sent: it left, restarted or
        was fenced. A status of its next daemon (whose count starts again) is then heard."""
        for op_id, inf in list(self.inflight.items()):
            if inf.action.node == name:
                del self.inflight[op_id]
        self.statuses.forget(name)

    def status_of(self, node: str) -> dict[str, Any] | None:
        """The node's status of this term (see hacore.daemon.statuses)."""
        return self.statuses.of(node)

    def on_status(self, sender: str, body: dict[str, Any]) -> None:
        """A member's status. Kept even before this node takes over: members report as soon
        as they see a new coordinator, which may be before it has noticed itself."""
        kept, old = self.statuses.take(sender, body)
        if kept and self.probing:
            self.retry_probes(self.clock())  # a status a probe round waits for
        if not kept or not self.active or self.status_of(sender) is None:
            return
        if old is None and self.view is not None and self.clock() < self._ready_at \
                and self._everyone_reported():
            self.wake()  # the last status the start-up wait was for: decide now
        before = (old or {}).get("services", {})
        for name, info in body.get("services", {}).items():
            if info.get("status") == "failed" and \
                    before.get(name, {}).get("status") != "failed":
                self.events.record(compose.service_changed(
                    name, change="failed", owner=sender,
                    reason=f"{info.get('resource') or 'a resource'} failed there"))

    def on_ack(self, sender: str, version: int) -> None:
        self.acks[sender] = max(version, self.acks.get(sender, 0))

    def on_result(self, sender: str, body: dict[str, Any]) -> None:
        if self.on_probe_result(sender, body):
            return
        inf = self.inflight.pop(str(body.get("id")), None)
        if inf is None or self.snap is None:
            return  # a duplicate, or an op of a node lost meanwhile
        ok = bool(body.get("ok"))
        self.statuses.result_seen(sender, int(body.get("seq", 0)))
        action = inf.action
        assert action.service is not None
        st = self.snap.status(action.service)
        services = dict(self.snap.services)
        services[action.service] = replace(st, state=inf.prior.state, owner=inf.prior.owner)
        self.snap = apply(self.config, replace(self.snap, services=services), [action], [ok],
                          now=self.clock())
        self._record_change(action.service, inf.prior, inf.incident,
                            "" if ok else str(body.get("detail", "")))
        self.wake()
        verb = action.summary()
        if ok:
            log.info("done: %s (%.2f s)", verb, float(body.get("duration", 0.0)))
        else:
            log.warning("FAILED: %s: %s", verb, body.get("detail", ""))
        self._publish()

    # -- the cycle ------------------------------------------------------------------------

    def ready(self, now: float) -> bool:
        return (self.active and self.snap is not None and not self._gathering
                and self.view is not None and self.view.quorate
                and (now >= self._ready_at or self._everyone_reported()))

    def _everyone_reported(self) -> bool:
        """Every configured node is a member and has sent its status (the probes it runs
        before joining): no node can still join with a service running or need startup
        fencing, so the start-up wait (post_join_delay) has nothing left to wait for (as
        CMAN's fenced skips post_join_delay when every node is a member)."""
        assert self.view is not None
        members = set(self.view.member_names())
        return all(n.name in members and self.status_of(n.name) is not None
                   for n in self.config.nodes)

    def decision_snapshot(self) -> Snapshot:
        """The snapshot decide reads: state + reports. A member not heard from since it
        joined is kept out of placement (as if in standby) until its first status (its
        probe) arrives; a node whose last status predates its last result says nothing."""
        assert self.snap is not None
        snap = self.snap
        busy = {inf.action.service for inf in self.inflight.values()}
        reports, silent = self.statuses.reports(self.config, snap, busy)
        return replace(snap, reports=reports, standby=snap.standby | silent)

    def cycle(self) -> list[Action]:
        """One decision round; returns the actions acted on (for tests and the journal)."""
        now = self.clock()
        if not self.ready(now):
            return []
        assert self.snap is not None
        busy = {inf.action.service for inf in self.inflight.values()} | set(self.probing)
        inputs = frozenset(busy)
        seen = self.decision_snapshot()
        changed = self.keep_maintenance_reports(seen)
        if self.memo.same_answer(self.config, seen, inputs, now):
            if changed:  # see hacore.daemon.decision_memo for why the answer is the same
                self._publish()
            return []
        actions = decide(self.config, seen, now)
        acted: list[Action] = []
        for action in actions:
            if action.kind == "fence":
                if self._fence(action, now):
                    acted.append(action)
                continue
            if action.service in busy:
                continue
            if action.kind == "probe":  # a service leaves maintenance: every member probes
                if self.start_probe(action, now):
                    busy.add(action.service)
                    acted.append(action)
                continue
            if action.kind in ("set-state", "freeze"):
                incident = self.events.decision(action)
                prior = self.snap.status(action.service) if action.service else None
                self.snap = apply(self.config, self.snap, [action], now=now)
                if prior is not None and action.service is not None:
                    self._record_change(action.service, prior, incident, "")
                changed = True
            else:
                self._dispatch(action, now)
                busy.add(action.service)
                changed = True
            acted.append(action)
        self.memo.remember(self.config, seen, inputs, now, actions, acted)
        if changed:
            self._publish()
        return acted

    def _dispatch(self, action: Action, now: float) -> None:
        assert self.snap is not None and action.service is not None and action.node is not None
        op_id = f"{self._prefix}.{next(self._ids)}"
        prior = self.snap.status(action.service)
        if action.state is not None or action.kind != "stop":  # not a stray copy's stop
            services = dict(self.snap.services)
            services[action.service] = replace(prior, state=BUSY_STATES[action.kind],
                                               owner=action.node)
            self.snap = replace(self.snap, services=services)
        incident = self.events.decision(action)
        self.inflight[op_id] = Inflight(action, prior, now, incident=incident)
        self._send_op(op_id, self.inflight[op_id])

    def _send_op(self, op_id: str, inf: Inflight) -> None:
        action = inf.action
        assert action.node is not None
        body: dict[str, Any] = {"id": op_id, "kind": action.kind, "service": action.service,
                                "resources": list(action.resources), "incident": inf.incident}
        fenced = self._fenced_holder(action, inf.prior)
        if fenced is not None:
            body["fenced"] = fenced
        else:
            stopped = self._stopped_holder(action, inf.prior)
            if stopped is not None:
                body["stopped"] = stopped
        self.send(action.node, "op", body)

    def _fenced_holder(self, action: Action, prior: ServiceStatus) -> str | None:
        """For a start: the node that held the service last when a fence (or ``hacore fence
        ack``, or its clean leave) has confirmed it off. Agents may then skip a long
        duplicate check (the ip agent probes for 25 ms instead of 200). None after a
        self-stop deadline: that node is only presumed stopped."""
        if action.kind not in ("start", "start-subtree") or self.snap is None:
            return None
        for name in (prior.owner, prior.last_owner):
            lost = self.snap.lost.get(name) if name else None
            if lost is not None:
                return name if lost.fenced else None
        return None

    def _stopped_holder(self, action: Action, prior: ServiceStatus) -> str | None:
        """For a start that continues a move (relocate, recover, failback, drain, a start
        elsewhere after a failed one): the member that held the service and reported its stop
        succeeded, so none of its addresses is on that node any more. Like a confirmed
        fence, agents may then skip a long duplicate check. None otherwise (a stop that
        failed leaves ``owner`` set; a lost holder is ``_fenced_holder``'s case)."""
        if action.kind != "start" or self.snap is None:
            return None
        node = prior.last_owner
        if (prior.state == "recovering" and prior.owner is None and node is not None
                and prior.stop_failed_on is None and node in self.snap.members
                and node not in self.snap.lost):
            return node
        return None

    def _record_change(self, service: str, prior: ServiceStatus, incident: str | None,
                       detail: str) -> None:
        """Journal the service's new state after an outcome, when it changed."""
        assert self.snap is not None
        now = self.snap.status(service)
        if (now.state, now.owner) == (prior.state, prior.owner) and not detail:
            return
        self.events.record(compose.service_changed(
            service, change=now.state, owner=now.owner or (prior.owner if detail else None),
            previous_owner=prior.owner or prior.last_owner, reason=detail), incident)

    def retry(self) -> None:
        """Resend ops whose result has not come (same id: never run twice), and state."""
        now = self.clock()
        if self._gathering:
            self._ask_states()
            return
        for op_id, inf in self.inflight.items():
            if now - inf.sent >= RETRY_INTERVAL * min(inf.tries, 4):
                inf.tries += 1
                inf.sent = now
                self._send_op(op_id, inf)
        self.retry_probes(now)
        if self.view is not None and self.snap is not None:
            behind = [m for m in self.view.member_names() if self.acks.get(m, 0) < self.version]
            if behind:
                self._broadcast(behind)

    # -- replication ----------------------------------------------------------------------

    def _publish(self) -> int:
        assert self.snap is not None
        self.version += 1
        self.acks[self.node] = self.version
        if self.on_publish is not None:
            self.on_publish(self.version, cluster_part(self.snap))
        if self.view is not None:
            self._broadcast([m for m in self.view.member_names() if m != self.node])
        return self.version

    def _broadcast(self, nodes: list[str]) -> None:
        assert self.snap is not None
        body = {"version": self.version, "state": cluster_part(self.snap)}
        for name in nodes:
            if name != self.node:
                self.send(name, "state", body)
