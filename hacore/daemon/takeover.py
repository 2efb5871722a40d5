"""How a node becomes coordinator: it reads the cluster state from a quorum first (S5).

``Takeover`` is a base class of ``Coordinator``. ``take_over`` asks every member for the
state it stored; once a quorum answered, the newest state is taken, folded with what
changed in the membership since (nodes lost meanwhile count as possibly active until
fenced or past their self-stop deadline, S3; operations the previous coordinator had in
flight are redone), published, and only then does the first decision run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.cluster_stop import end_after_restart
from hacore.daemon.events import EventLog
from hacore.daemon.statuses import MemberStatuses
from hacore.journal import compose
from hacore.membership.contract import MembershipView
from hacore.policy import Snapshot, initial_snapshot, snapshot_from_dict
from hacore.policy.facts import node_joined, node_lost
from hacore.policy.quorum import is_quorate

log = logging.getLogger("hacore.daemon")


class Takeover:
    """The coordinator's takeover (see the module docstring)."""

    config: ClusterConfig
    node: str
    send: Callable[[str, str, dict[str, Any]], None]
    clock: Callable[[], float]
    active: bool
    snap: Snapshot | None
    version: int
    view: MembershipView | None
    inflight: dict[str, Any]
    probing: dict[str, Any]
    acks: dict[str, int]
    statuses: MemberStatuses
    events: EventLog
    incarnations: dict[str, int]
    view_changed_at: float
    startup_targets: frozenset[str]
    formed_at: float
    _gathered: dict[str, tuple[int, dict[str, Any]]]
    _gathering: bool
    _ready_at: float
    wake: Callable[[], None]

    def _record_lost(self, snap: Snapshot, name: str, last_heard: float, now: float) -> None:
        raise NotImplementedError

    def _left_cleanly(self, name: str) -> bool:
        raise NotImplementedError

    def _clean_leave(self, snap: Snapshot, name: str) -> Snapshot:
        raise NotImplementedError

    def _publish(self) -> int:
        raise NotImplementedError

    def take_over(self, view: MembershipView, own_version: int, own_state: dict[str, Any],
                  not_before: float, members_changed_at: float | None = None) -> None:
        """Become coordinator: ask every member for its stored state (S5) first.

        ``members_changed_at``: when this node last saw the member set change (the fence
        settle time counts from there)."""
        self.active = True
        self.view = view
        self.snap = None
        self._gathering = True
        self._gathered = {self.node: (own_version, own_state)}
        self._ready_at = not_before
        self.view_changed_at = (members_changed_at if members_changed_at is not None
                                else self.clock())
        self.inflight.clear()
        self.probing.clear()
        self.acks.clear()
        self.statuses.new_term(view.epoch)
        log.info("%s is the coordinator now (epoch %d); reading the cluster state from a "
                 "quorum before the first decision", self.node, view.epoch)
        self._ask_states()
        if is_quorate(self.config, self._gathered):  # alone and quorate (two_node)
            self._finish_gathering()

    def _ask_states(self) -> None:
        assert self.view is not None
        for name in self.view.member_names():
            if name not in self._gathered:
                self.send(name, "state-req", {})

    def on_state_reply(self, sender: str, version: int, state: dict[str, Any]) -> None:
        if not self._gathering:
            return
        self._gathered[sender] = (version, state)
        assert self.view is not None
        if is_quorate(self.config, self._gathered):
            self._finish_gathering()
            self.wake()

    def _finish_gathering(self) -> None:
        assert self.view is not None
        holder, (version, state) = max(self._gathered.items(), key=lambda kv: kv[1][0])
        self._gathering = False
        self.version = version
        view = self.view
        members = view.member_names()
        if not state:
            snap = initial_snapshot(self.config, list(members))
            snap = replace(snap, generation=1)
            self.startup_targets = frozenset(snap.lost)
            self.formed_at = self.clock()
            log.info("no node holds a cluster state: the cluster forms with %s",
                     ", ".join(members))
        else:
            snap = snapshot_from_dict({**state, "reports": {}})
            log.info("took cluster state version %d from %s (%d nodes answered)", version,
                     holder, len(self._gathered))
            now = self.clock()
            for name in list(snap.members):
                if name not in members:
                    self._record_lost(snap, name, _last_heard(view, name, now), now)
                    snap = node_lost(self.config, snap, name,
                                     last_heard=_last_heard(view, name, now))
                    if not self._left_cleanly(name):
                        log.warning("%s left the membership before this takeover; its services "
                                    "count as active there until it is fenced or its self-stop "
                                    "deadline passes (S3)", name)
                    snap = self._clean_leave(snap, name)
            for name in members:
                if name not in snap.members:
                    snap = node_joined(self.config, snap, name, now=now)
                    self.events.record(compose.node_joined(name))
            services = dict(snap.services)
            for name, st in services.items():  # what a lost coordinator had in flight
                if st.state in ("starting", "stopping") and st.owner in members:
                    services[name] = replace(st, state="recovering")
                    log.info("%s was %s on %s under the previous coordinator: it is stopped "
                             "there first, then placed again", name, st.state, st.owner)
            snap = replace(snap, services=services)
            if self.clock() < self._ready_at:  # the cluster re-forms as this daemon starts:
                self.formed_at = self.clock()  # absent nodes may still be booting
                self.startup_targets = frozenset(n for n, ln in snap.lost.items()
                                                 if not ln.fenced)
        snap = end_after_restart(snap, view)  # hacore cluster stop: over once all restarted
        self.snap = replace(snap, quorate=view.quorate, coordinator=view.coordinator,
                            local=self.node)
        self.incarnations = {m.name: m.incarnation for m in view.members}
        self._publish()


def _last_heard(view: MembershipView, node: str, now: float) -> float:
    for lost in view.lost:
        if lost.name == node and lost.last_heard is not None:
            return lost.last_heard
    return now

