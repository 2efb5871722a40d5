"""What one node knows about each peer: freshness both ways, per link, and its last heartbeat."""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

from hacore.config.model import Node
from hacore.membership.wire import Heartbeat, ReplayWindow


@dataclass
class PeerState:
    """Mutable per-peer record, owned by the protocol state."""

    node: Node
    incarnation: int = 0  # 0: never heard
    window: ReplayWindow = field(default_factory=ReplayWindow)
    last_heard: float = float("-inf")  # provider clock
    last_heard_wall: float | None = None
    #: when the packet with the highest sequence number arrived (inf: unknown)
    highest_at: float = float("inf")
    acked_sent_at: float = float("-inf")  # when we sent the newest packet it acknowledged
    link_heard: dict[int, float] = field(default_factory=dict)
    address: str = ""
    hb: Heartbeat | None = None
    hb_at: float = float("-inf")
    grant_expiry: float = float("-inf")  # our lease credit from its vote (if we asked)
    reachable: bool = False  # heard both ways within the silence window
    joined_wall: float = 0.0  # when this incarnation became reachable
    links_down: set[int] = field(default_factory=set)
    answered_at: float = float("-inf")  # when we last answered its request for an ack
    #: since when its heartbeats say it grants to another node than us (None: it does not)
    follows_other_since: float | None = None

    def restart(self, incarnation: int) -> None:
        """The peer came back as a new incarnation: forget everything about the old one."""
        self.incarnation = incarnation
        self.window = ReplayWindow()
        self.highest_at = float("inf")
        self.acked_sent_at = float("-inf")
        self.hb = None
        self.hb_at = float("-inf")
        self.grant_expiry = float("-inf")
        self.link_heard.clear()
        self.links_down.clear()
        self.follows_other_since = None

    def acks_late(self, now: float, hurry: float) -> bool:
        """A live peer whose newest acknowledgement of us is older than ``hurry``."""
        return self.incarnation != 0 and now - self.acked_sent_at > hurry

    def fresh(self, now: float, silence: float) -> bool:
        """Heard from it, and it heard us, within ``silence``."""
        return now - self.last_heard <= silence and now - self.acked_sent_at <= silence


class SendLog:
    """When each of our sequence numbers was sent, for acks and lease grants."""

    def __init__(self, keep: float) -> None:
        self.keep = keep
        self.seqs: deque[int] = deque()
        self.times: deque[float] = deque()

    def record(self, seq: int, at: float) -> None:
        self.seqs.append(seq)
        self.times.append(at)

    def prune(self, now: float) -> None:
        while self.times and now - self.times[0] > self.keep:
            self.seqs.popleft()
            self.times.popleft()

    def sent_at(self, seq: int) -> float | None:
        """The send time of ``seq``, or None if it is unknown (never sent or forgotten)."""
        i = bisect.bisect_left(self.seqs, seq)
        if i < len(self.seqs) and self.seqs[i] == seq:
            return self.times[i]
        return None
