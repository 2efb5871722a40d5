"""An in-process membership provider for daemon tests: every node on one event loop.

It implements the whole provider contract (views, quorum with votequorum's arithmetic,
coordinator, lease, authenticated-by-construction messages, events) over a shared ``Bus``
on which a test crashes nodes and partitions them. It is a test double of the built-in
heartbeat provider, not a replacement: no timing, no packets.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from hacore.config.model import ClusterConfig
from hacore.membership.contract import (
    LeaseState,
    LostNode,
    Member,
    MembershipEvent,
    MembershipProvider,
    MembershipView,
    Message,
    QuorumFigures,
)
from hacore.policy.quorum import effective_expected_votes, is_quorate, needed_votes, total_votes


class Bus:
    """The shared medium: who runs, who can hear whom."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.providers: dict[str, BusProvider] = {}
        self.running: set[str] = set()
        self.group: dict[str, int] = {}
        self.last_heard: dict[str, float] = {}
        self.incarnations = itertools.count(1)
        self.epoch = 0
        self.sent: list[tuple[str, str]] = []

    def provider(self, node: str) -> BusProvider:
        self.providers[node] = BusProvider(self, node)
        return self.providers[node]

    def reachable(self, a: str, b: str) -> bool:
        return (a in self.running and b in self.running
                and self.group.get(a, 0) == self.group.get(b, 0))

    def crash(self, node: str) -> None:
        """``node`` goes silent at once (its daemon is stopped by the test)."""
        self.running.discard(node)
        self.last_heard[node] = time.time()
        self.changed()

    def partition(self, *groups: list[str]) -> None:
        now = time.time()
        for i, names in enumerate(groups):
            for name in names:
                self.group[name] = i
                self.last_heard[name] = now
        self.changed()

    def heal(self) -> None:
        self.group.clear()
        self.changed()

    def changed(self) -> None:
        self.epoch += 1
        for provider in list(self.providers.values()):
            if provider.node in self.running:
                provider.refresh()


class BusProvider(MembershipProvider):
    """One node's end of the Bus."""

    def __init__(self, bus: Bus, node: str) -> None:
        self.bus = bus
        self.node = node
        self.incarnation = 0
        self.joined = 0.0
        self._events: list[Callable[[MembershipEvent], None]] = []
        self._messages: list[Callable[[Message], None]] = []
        self._view = self._compute()

    async def start(self) -> None:
        self.incarnation = next(self.bus.incarnations)
        self.joined = time.time()
        self.bus.running.add(self.node)
        self.bus.changed()

    async def stop(self) -> None:
        if self.node in self.bus.running:
            self.bus.crash(self.node)

    def _compute(self) -> MembershipView:
        bus, config = self.bus, self.bus.config
        names = [n.name for n in config.nodes
                 if n.name == self.node and n.name in bus.running
                 or bus.reachable(self.node, n.name)]
        members = tuple(Member(n, config.node(n).id, bus.providers[n].incarnation,
                               bus.providers[n].joined, config.node(n).votes, "bus")
                        for n in names)
        lost = tuple(LostNode(n.name, n.id, n.votes, bus.last_heard.get(n.name), None)
                     for n in config.nodes if n.name not in names)
        quorate = bool(names) and is_quorate(config, names)
        present = total_votes(config, names)
        figures = QuorumFigures(effective_expected_votes(config, present), present,
                                needed_votes(config, names), quorate)
        coordinator = names[0] if quorate else None
        lease = LeaseState(quorate, time.monotonic() + 1e9 if quorate else 0.0,
                           "coordinator" if coordinator == self.node else
                           ("member" if quorate else "none"))
        return MembershipView(self.node, bus.epoch, members, lost, figures, coordinator, lease)

    def refresh(self) -> None:
        old, new = self._view, self._compute()
        self._view = new
        if (old.member_names(), old.quorate, old.coordinator) == \
                (new.member_names(), new.quorate, new.coordinator) and \
                [m.incarnation for m in old.members] == [m.incarnation for m in new.members]:
            return
        joined = tuple(n for n in new.member_names() if n not in old.member_names())
        left = tuple(n for n in old.member_names() if n not in new.member_names())
        kind = "view"
        if old.quorate != new.quorate:
            kind = "quorum-gained" if new.quorate else "quorum-lost"
        event = MembershipEvent(kind, new, joined=joined, left=left)
        for cb in list(self._events):
            asyncio.get_running_loop().call_soon(cb, event)

    def view(self) -> MembershipView:
        return self._view

    def now(self) -> float:
        return time.monotonic()

    def holds_fresh_lease(self) -> bool:
        return self.node in self.bus.running and self._view.quorate

    def lease_expires(self) -> float:
        return self._view.lease.expires

    def send(self, node: str, payload: bytes) -> None:
        if not self.bus.reachable(self.node, node):
            return
        target = self.bus.providers[node]
        self.bus.sent.append((self.node, node))
        msg = Message(self.node, self.incarnation, payload)
        for cb in list(target._messages):
            asyncio.get_running_loop().call_soon(cb, msg)

    def on_event(self, callback: Callable[[MembershipEvent], None]) -> Callable[[], None]:
        self._events.append(callback)
        return lambda: self._events.remove(callback)

    def on_message(self, callback: Callable[[Message], None]) -> Callable[[], None]:
        self._messages.append(callback)
        return lambda: self._messages.remove(callback)
