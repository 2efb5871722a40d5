"""What the rest of hacore needs from membership: the provider contract.

Three providers are meant to fit behind it: the built-in heartbeat protocol
(:mod:`hacore.membership.heartbeat`), Corosync (votequorum + CPG) and etcd (leases + watch).
Everything here is provider-neutral: a view is a snapshot, events say what changed, messages
are authenticated bytes between members, and the lease says whether the local node may act.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal[
    "view",  # the agreed membership changed (members, epoch, coordinator or quorum)
    "quorum-gained",
    "quorum-lost",
    "link-down",  # one link to a peer was lost while the peer is still heard on another
    "link-up",
    "stall",  # the local node's own loop stalled; it treats itself as out of quorum
    "refused",  # a peer speaks a wire version this node cannot speak
]


@dataclass(frozen=True)
class Member:
    """A node in the agreed membership."""

    name: str
    id: int
    incarnation: int  # a new, larger number each time the node's daemon starts
    joined: float  # wall-clock time (epoch seconds) when this incarnation joined the view
    votes: int
    address: str  # the address the node was last heard on


@dataclass(frozen=True)
class LostNode:
    """A configured node that is not in the membership."""

    name: str
    id: int
    votes: int
    last_heard: float | None  # wall-clock time of the last message from it, None if never
    incarnation: int | None  # the last incarnation heard, None if never


@dataclass(frozen=True)
class QuorumFigures:
    """votequorum's numbers for the local partition."""

    expected: int  # expected votes in force (last_man_standing may have lowered them)
    total: int  # votes of the current members
    quorum: int  # votes needed
    quorate: bool
    #: why the partition is not quorate ("" when it is): the votes may be present while no
    #: coordinator holds a lease yet (an election after the coordinator was lost)
    reason: str = ""


@dataclass(frozen=True)
class LeaseState:
    """Whether the local node holds a fresh grant from a quorum, and until when.

    ``expires`` is on the provider's clock (``MembershipProvider.now()``), so only the
    provider can say whether it is still fresh: use ``holds_fresh_lease()`` before acting.
    """

    held: bool
    expires: float  # provider clock; 0.0 when never held
    role: Literal["coordinator", "member", "none"]


@dataclass(frozen=True)
class MembershipView:
    """One immutable snapshot of the membership as the local node sees it."""

    local: str
    epoch: int  # agreed by every member of a quorate view; 0 before the first one
    members: tuple[Member, ...]
    lost: tuple[LostNode, ...]
    quorum: QuorumFigures
    coordinator: str | None  # None in a partition without quorum
    lease: LeaseState
    links_down: tuple[tuple[str, str], ...] = ()  # (peer, address) pairs currently down
    #: True when this quorate view is *agreed*: its coordinator holds a fresh lease, every
    #: member confirmed this epoch, and no node the coordinator reaches both ways is outside
    #: it (so a node missing from it has been silent to the only coordinator with a lease
    #: for the silence window; docs/protocol.md). False while it settles; None when the
    #: provider cannot tell.
    agreed: bool | None = None

    @property
    def quorate(self) -> bool:
        return self.quorum.quorate

    def member_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)


@dataclass(frozen=True)
class MembershipEvent:
    """A change, with the view after it. ``node``/``detail`` say what it was about."""

    kind: EventKind
    view: MembershipView
    node: str | None = None
    detail: str = ""
    joined: tuple[str, ...] = field(default=())
    left: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Message:
    """An authenticated message from a member (at most once, unordered: like a datagram)."""

    sender: str
    incarnation: int
    payload: bytes


class MembershipProvider(abc.ABC):
    """The membership contract. One instance per node, run inside the daemon's event loop."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Join: open the transport and start the protocol. Returns once running."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Leave: stop sending, close the transport. Peers will see this node as lost."""

    @abc.abstractmethod
    def view(self) -> MembershipView:
        """The current snapshot (cheap; a new object only when something changed)."""

    @abc.abstractmethod
    def now(self) -> float:
        """The provider's clock, the one lease expiries are measured on."""

    @abc.abstractmethod
    def holds_fresh_lease(self) -> bool:
        """True while the local node holds a fresh grant from a quorum: the only licence to
        start anything. Check it right before acting, never cache it."""

    @abc.abstractmethod
    def lease_expires(self) -> float:
        """When the local node's lease runs out on ``now()``'s clock (0.0 if none)."""

    @abc.abstractmethod
    def send(self, node: str, payload: bytes) -> None:
        """Send an authenticated message to a member (best effort, like a datagram)."""

    @abc.abstractmethod
    def on_event(self, callback: Callable[[MembershipEvent], None]) -> Callable[[], None]:
        """Call ``callback`` for every event; returns a function that unsubscribes."""

    @abc.abstractmethod
    def on_message(self, callback: Callable[[Message], None]) -> Callable[[], None]:
        """Call ``callback`` for every message from a member; returns an unsubscriber."""

    async def events(self, maxsize: int = 1000) -> AsyncIterator[MembershipEvent]:
        """Iterate over events as they come (an asyncio subscription)."""
        queue: asyncio.Queue[MembershipEvent] = asyncio.Queue(maxsize)

        def put(event: MembershipEvent) -> None:
            if queue.full():  # a slow consumer loses the oldest event, never blocks the loop
                queue.get_nowait()
            queue.put_nowait(event)

        unsubscribe = self.on_event(put)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()
