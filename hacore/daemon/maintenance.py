"""Maintenance mode on the coordinator (a base class of ``Coordinator``).

- ``cluster_maintenance(on)``: the whole cluster's flag, recorded once no operation is in
  flight and acknowledged only once a quorum of nodes holds it (S5), like every admin
  intent. Service maintenance is an ordinary admin request (``maintenance-on``/``-off``).
- ``probe`` actions (a service leaving maintenance, ``hacore.policy.maintenance``): an op
  of kind ``probe`` goes to every member (resent until answered; the node never runs an id
  twice); once every member that is still one has answered and sent a status at least as
  new as its answer, the service counts as re-probed and the policy acts on those statuses.
- ``keep_maintenance_reports``: what members report about unmanaged services (a failed
  monitor, a copy found elsewhere) is kept in the replicated state, so ``hacore status``
  and ``hacore why`` show it on every node.
- ``leave_keeping``: a node whose daemon stopped cleanly leaving its unmanaged services
  running is lost but not fenced (``LostNode.kept_running``), and keeps owning them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.events import EventLog
from hacore.daemon.statuses import MemberStatuses
from hacore.errors import OperationFailed
from hacore.journal import compose
from hacore.membership.contract import MembershipView
from hacore.policy import Action, LostNode, Report, Snapshot, apply, record_cluster_maintenance

log = logging.getLogger("hacore.daemon")

PROBE_RETRY = 0.5


@dataclass
class ProbeRound:
    """One ``probe`` action: the op id sent to each member still to answer, and the seq of
    each answer (the member's next status must be at least as new)."""

    action: Action
    pending: dict[str, str] = field(default_factory=dict)  # op id -> node
    answered: dict[str, int] = field(default_factory=dict)  # node -> its result's seq
    sent: float = 0.0
    incident: str | None = None


class MaintenanceSteps:
    """The coordinator's maintenance steps (see the module docstring)."""

    config: ClusterConfig
    node: str
    active: bool
    snap: Snapshot | None
    view: MembershipView | None
    events: EventLog
    inflight: dict[str, Any]
    acks: dict[str, int]
    statuses: MemberStatuses
    _gathering: bool
    _prefix: str
    _ids: itertools.count[int]
    clock: Callable[[], float]
    wake: Callable[[], None]
    send: Callable[[str, str, dict[str, Any]], None]
    _published_to_quorum: Callable[[float], Awaitable[int]]  # AdminIntents
    #: service -> its probe round in flight (cleared when this node takes over)
    probing: dict[str, ProbeRound]
    #: node -> the unmanaged services its daemon left running when it stopped cleanly
    kept_leaves: dict[str, list[str]]

    def _publish(self) -> int:
        raise NotImplementedError

    def cycle(self) -> list[Action]:
        raise NotImplementedError

    # -- the cluster's flag ---------------------------------------------------------------

    async def cluster_maintenance(self, on: bool, timeout: float = 60.0) -> int:
        """Put the whole cluster in maintenance or take it out; return the state version
        once a quorum of nodes holds it. Raises RequestRefused/OperationFailed."""
        deadline = self.clock() + timeout
        while True:
            if not self.active or self._gathering or self.snap is None:
                raise OperationFailed(f"{self.node} is not (yet) the coordinator; try again")
            if not self.inflight:
                break
            if self.clock() > deadline:
                raise OperationFailed("operations are still running; try again")
            await asyncio.sleep(0.05)
        before = self.snap
        self.snap = record_cluster_maintenance(self.snap, on)
        self.events.record(compose.admin(f"hacore cluster maintenance {'on' if on else 'off'}"))
        if before is not self.snap:
            log.warning("the cluster is %s maintenance: %s", "in" if on else "out of",
                        "monitors keep reporting, nothing is started or stopped" if on
                        else "every service is probed on every member, then managed again")
        return await self._published_to_quorum(deadline)

    # -- probes after maintenance ---------------------------------------------------------

    def start_probe(self, action: Action, now: float) -> bool:
        """Send a ``probe`` op for the action's service to every member; False when a round
        for it is already running."""
        assert action.service is not None and self.view is not None
        if action.service in self.probing:
            return False
        incident = self.events.decision(action)
        rnd = ProbeRound(action, sent=now, incident=incident)
        for member in self.view.member_names():
            rnd.pending[f"{self._prefix}.{next(self._ids)}"] = member
        self.probing[action.service] = rnd
        log.info("%s: %s", action.summary(), action.reason)
        self._send_probes(rnd)
        return True

    def _send_probes(self, rnd: ProbeRound) -> None:
        for op_id, member in rnd.pending.items():
            self.send(member, "op", {"id": op_id, "kind": "probe", "service": rnd.action.service,
                                     "resources": [], "incident": rnd.incident})

    def on_probe_result(self, sender: str, body: dict[str, Any]) -> bool:
        """Fold in one member's probe result; True when ``body`` answered a probe."""
        op_id = str(body.get("id"))
        for service, rnd in list(self.probing.items()):
            if op_id in rnd.pending:
                del rnd.pending[op_id]
                rnd.answered[sender] = int(body.get("seq", 0))
                self.statuses.result_seen(sender, rnd.answered[sender])
                if not body.get("ok"):
                    log.warning("probe of %s on %s failed: %s", service, sender,
                                body.get("detail", ""))
                self._finish_probe(service, rnd)
                return True
        return False

    def _finish_probe(self, service: str, rnd: ProbeRound) -> None:
        members = set(self.view.member_names()) if self.view is not None else set()
        if any(node in members for node in rnd.pending.values()) or self.snap is None:
            return
        for node, seq in rnd.answered.items():
            body = self.statuses.of(node)
            if node in members and (body is None or int(body.get("seq", 0)) < seq):
                return  # its status after the probe has not come yet
        del self.probing[service]
        self.snap = apply(self.config, self.snap, [rnd.action], [True], now=self.clock())
        log.info("every member probed %s: the policy manages it again", service)
        if not self.cycle():  # decide at once: the state published next holds its first
            self._publish()   # action too (no state says "managed" before it is acted on)

    def retry_probes(self, now: float) -> None:
        """Resend unanswered probe ops (same ids); a member that left is not waited for."""
        for service, rnd in list(self.probing.items()):
            self._finish_probe(service, rnd)
            if service in self.probing and now - rnd.sent >= PROBE_RETRY:
                rnd.sent = now
                self._send_probes(rnd)

    # -- what unmanaged services report ---------------------------------------------------

    def keep_maintenance_reports(self, seen: Snapshot) -> bool:
        """Keep what members report about unmanaged services in the state (replicated, for
        status and why everywhere); True when it changed (the caller publishes)."""
        assert self.snap is not None
        keep: dict[str, Mapping[str, Report]] = {
            name: by for name, by in seen.reports.items() if self.snap.unmanaged(name)}
        if keep == dict(self.snap.reports):
            return False
        self.snap = replace(self.snap, reports=keep)
        return True

    # -- a node that left its services running --------------------------------------------

    def leave_keeping(self, snap: Snapshot, name: str) -> Snapshot | None:
        """The snapshot after ``name`` left cleanly keeping unmanaged services running, or
        None when it kept nothing (an ordinary clean leave)."""
        kept = self.kept_leaves.pop(name, None)
        if not kept:
            return None
        services = dict(snap.services)
        for svc, st in services.items():
            if st.owner == name and svc not in kept:  # stopped before it left
                services[svc] = replace(st, state="stopped", owner=None, last_owner=name,
                                        stop_failed_on=None)
        lost = dict(snap.lost)
        lost[name] = LostNode(fenced=False, self_stop_deadline=None, kept_running=True)
        log.warning("%s left cleanly in maintenance and left %s running: it is not fenced "
                    "while they stay in maintenance, and they are not recovered elsewhere",
                    name, ", ".join(sorted(kept)))
        return replace(snap, lost=lost, services=services)
