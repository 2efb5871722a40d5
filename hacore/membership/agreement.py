"""The built-in provider's protocol state, pure: packets and time in, heartbeats and views out.

No sockets and no clock here (``now`` is always an argument), so every rule can be driven
step by step in a test. docs/protocol.md states the rules and why they are safe:

- reach: a peer counts when heard, and heard *us* (acked a packet we sent), within the
  silence window;
- votes: a node grants its vote to one candidate at a time, for ``lease`` seconds from the
  newest packet heard from it, and makes no other grant until that promise ran out (nor
  for ``lease`` after it starts);
- lease: a candidate holds a lease while grants from a quorum of votes are fresh, each
  counted from when *it sent* the packet the grant answers; it then coordinates and
  publishes a view (epoch, members, expected votes);
- members hold a lease from their coordinator's view, bounded by the coordinator's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from hacore.config.model import ClusterConfig, Node
from hacore.errors import InputError
from hacore.membership.peers import PeerState, SendLog
from hacore.membership.timing import CLOCK_DRIFT, MembershipTiming
from hacore.membership.wire import MAX_WIRE_VERSION, MIN_WIRE_VERSION, Heartbeat, ViewClaim
from hacore.policy.quorum import last_man_standing_expected, needed_votes

NO_GRANT = 0
UNSET = object()  # heartbeat_for's claim when the caller did not compute it


@dataclass(frozen=True)
class AgreedView:
    """A coordinator's view, as published (or adopted from it)."""

    epoch: int
    coordinator: int
    members: tuple[tuple[int, int], ...]  # (id, incarnation), sorted
    expected: int


class ProtocolState:
    """Everything one node knows; mutated only through the methods below."""

    def __init__(self, config: ClusterConfig, local: str, timing: MembershipTiming,
                 incarnation: int, now: float) -> None:
        node = config.node(local)
        if node is None:
            names = ", ".join(n.name for n in config.nodes)
            raise InputError(f"node {local!r} is not in the configuration of cluster "
                             f"{config.name!r}; its nodes: {names}")
        self.config = config
        self.me: Node = node
        self.timing = timing
        self.incarnation = incarnation
        self.by_id = {n.id: n for n in config.nodes}
        self.peers: dict[int, PeerState] = {n.id: PeerState(n) for n in config.nodes
                                            if n.id != node.id}
        self.sends = SendLog(keep=4 * timing.node_loss_timeout)
        self.seq = 0
        # a restarted node cannot remember its last promise: it grants nothing for a lease
        self.granted_to = NO_GRANT
        self.granted_until = now + timing.lease
        self.self_grant_expiry = float("-inf")
        self.fresh_after = float("-inf")  # acks of packets sent before this are ignored
        self.epoch = 0  # the highest epoch known
        self.expected = config.quorum.expected_votes
        self.seen_all = False
        self.view: AgreedView | None = None  # published (coordinator) or adopted (member)
        self.coordinating = False
        self.lapsed_since: float | None = None  # coordinator without a lease since
        self.member_lease = float("-inf")
        self.view_at = float("-inf")  # when the adopted view was last confirmed
        self.view_made_at = float("-inf")  # when the published view took its epoch
        self.claim_agreed = False  # the adopted view's coordinator says it is agreed
        self.stable_since = now

    # -- sending ----------------------------------------------------------------------
    def next_seq(self, now: float) -> int:
        self.seq += 1
        self.sends.record(self.seq, now)
        return self.seq

    def view_claim(self, now: float) -> ViewClaim | None:
        """The view a coordinator carries in its heartbeats at ``now`` (None: not one).

        The same for every peer at one instant (granting a vote does not change it), so a
        tick computes it once and passes it to each :meth:`heartbeat_for`."""
        if not (self.coordinating and self.view is not None):
            return None
        return ViewClaim(self.view.epoch, self.view.members, self.view.expected,
                         max(0.0, self.lease_expires(now) - now), self.agreed(now))

    def heartbeat_for(self, peer_id: int, now: float,
                      speaks: tuple[int, int] = (MIN_WIRE_VERSION, MAX_WIRE_VERSION),
                      claim: ViewClaim | None | object = UNSET) -> Heartbeat:
        """The heartbeat body for one peer; may renew our vote for it. ``claim``: what
        :meth:`view_claim` returned for this ``now`` (computed here when not given)."""
        peer = self.peers[peer_id]
        grant = self.preferred_candidate(now) == peer_id and peer.incarnation != 0
        if grant:
            # The grant acknowledges the newest packet heard from the peer, and the peer
            # counts it from when *it sent* that packet, which is before we heard it: a
            # promise of a lease from then covers every use of it. Counted from now, it
            # would be renewed by heartbeats to a peer gone silent, and after a crash of
            # the coordinator its voters would be bound to it for a lease past noticing.
            self.granted_to = peer_id
            self.granted_until = max(self.granted_until,
                                     min(now, peer.highest_at) + self.timing.lease)
        if claim is UNSET:
            claim = self.view_claim(now)
        # To the grantee, a grant is following it, though the promise may have run out
        # (its packets lost for longer than a lease): it keeps us in its view meanwhile,
        # and the grant gives it no lease past that promise (it counts from its own send).
        follows = peer_id if grant else self.following(now)
        return Heartbeat(
            ack_incarnation=peer.incarnation, ack_seq=peer.window.highest, grant=grant,
            candidate=self.is_candidate(now), follows=follows, epoch=self.epoch,
            seen_all=self.seen_all, speaks=speaks, view=claim)  # type: ignore[arg-type]

    # -- receiving --------------------------------------------------------------------
    def accept_packet(self, sender: int, incarnation: int, seq: int,
                      now: float | None = None) -> str | None:
        """Replay protection; returns a reason to drop the packet, or None to take it.
        ``now``: when it arrived (a grant's promise counts from the arrival of the newest
        packet it acknowledges; unknown, it counts from the grant)."""
        peer = self.peers.get(sender)
        if peer is None:
            return "unknown node"
        if incarnation < peer.incarnation:
            return "stale incarnation"
        if incarnation > peer.incarnation:
            peer.restart(incarnation)
        if not peer.window.accept(seq):
            return "replayed or stale sequence number"
        if peer.window.highest == seq:
            peer.highest_at = float("inf") if now is None else now
        return None

    def heard(self, sender: int, link: int, address: str, now: float, wall: float) -> None:
        peer = self.peers[sender]
        peer.last_heard = now
        peer.last_heard_wall = wall
        peer.link_heard[link] = now
        peer.address = address

    def heartbeat_from(self, sender: int, hb: Heartbeat, now: float) -> None:
        """Take in a heartbeat already authenticated and accepted."""
        peer = self.peers[sender]
        peer.hb, peer.hb_at = hb, now
        if hb.follows in (NO_GRANT, self.me.id):
            peer.follows_other_since = None
        elif peer.follows_other_since is None:
            peer.follows_other_since = now
        self.epoch = max(self.epoch, hb.epoch)
        if hb.seen_all:
            self.seen_all = True
        if hb.ack_incarnation != self.incarnation:
            return
        sent = self.sends.sent_at(hb.ack_seq)
        if sent is None or sent < self.fresh_after:
            return
        peer.acked_sent_at = max(peer.acked_sent_at, sent)
        if hb.grant:
            peer.grant_expiry = max(peer.grant_expiry, sent + self.timing.lease_credit)
        claim = hb.view
        if (claim is not None and (self.me.id, self.incarnation) in claim.members
                and self.following(now) == sender):
            left = min(self.timing.lease_credit, claim.lease_left * (1 - CLOCK_DRIFT))
            self.member_lease = max(self.member_lease, sent + left)
            self.epoch = max(self.epoch, claim.epoch)
            self.view = AgreedView(claim.epoch, sender, claim.members, claim.expected)
            self.claim_agreed = claim.agreed
            self.expected = claim.expected
            self.view_at = now
            self.seen_all = True

    # -- who asks, who is granted -------------------------------------------------------
    def reach(self) -> list[int]:
        """Ids of the nodes heard both ways (as of the last tick), ourselves included."""
        return sorted([self.me.id] + [p.node.id for p in self.peers.values() if p.reachable])

    def _live_coordinators(self, now: float) -> list[int]:
        return [p.node.id for p in self.peers.values()
                if p.reachable and p.hb is not None and p.hb.view is not None
                and p.hb.candidate]

    def is_candidate(self, now: float) -> bool:
        """Sticky: a coordinator stays a candidate; otherwise the lowest id heard both ways
        asks for votes when no coordinator is heard."""
        if self.coordinating:
            return True
        wait = self.config.quorum.wait_for_all or (self.config.quorum.two_node
                                                   and len(self.config.nodes) <= 2)
        if wait and not self.seen_all:
            return False
        return not self._live_coordinators(now) and self.reach()[0] == self.me.id

    def _candidates(self, now: float) -> list[int]:
        found = [p.node.id for p in self.peers.values()
                 if p.reachable and p.hb is not None and p.hb.candidate]
        if self.is_candidate(now):
            found.append(self.me.id)
        return found

    def preferred_candidate(self, now: float) -> int:
        """Whom our vote may go to now: the grantee of an open promise (or nobody while a
        promise to someone else runs), else a live coordinator, else the lowest candidate."""
        candidates = self._candidates(now)
        if now < self.granted_until:
            return self.granted_to if self.granted_to in candidates else NO_GRANT
        live = [c for c in self._live_coordinators(now) if c in candidates]
        pool = live or candidates
        return min(pool) if pool else NO_GRANT

    def following(self, now: float) -> int:
        """The node we currently grant to (NO_GRANT when no promise is open)."""
        return self.granted_to if now < self.granted_until else NO_GRANT

    # -- the lease ----------------------------------------------------------------------
    def _grants(self, now: float) -> list[tuple[float, Node]]:
        grants = [(p.grant_expiry, p.node) for p in self.peers.values()
                  if p.grant_expiry > now]
        if self.self_grant_expiry > now:
            grants.append((self.self_grant_expiry, self.me))
        return sorted(grants, key=lambda g: g[0], reverse=True)

    def lease_expires(self, now: float) -> float:
        """When our lease ends (a past time if we hold none)."""
        if self.coordinating or self.is_candidate(now):
            holders: list[str] = []
            have = 0
            for expiry, node in self._grants(now):
                holders.append(node.name)
                have += node.votes
                if have >= needed_votes(self.config, holders, self.expected):
                    return expiry
            return float("-inf")
        return self.member_lease

    def holds_lease(self, now: float) -> bool:
        return self.lease_expires(now) > now

    def agreed(self, now: float) -> bool:
        """Whether the current view is agreed (see MembershipView.agreed).

        On the coordinator: it holds a fresh lease, every member's latest heartbeat (received
        after the view took its epoch) follows it and carries this epoch, and every peer it
        reaches both ways is a member (or has followed another node for longer than a
        promise to a dead one can last). On a member: the coordinator said so in the view it
        last adopted, and the member's own lease from it is fresh.
        """
        view = self.view
        if view is None:
            return False
        if not self.coordinating:
            return (self.claim_agreed and view.coordinator != self.me.id
                    and self.member_lease > now)
        if not self.holds_lease(now):
            return False
        members = dict(view.members)
        for peer in self.peers.values():
            if peer.node.id in members:
                hb = peer.hb
                if (hb is None or peer.incarnation != members[peer.node.id]
                        or peer.hb_at < self.view_made_at or hb.follows != self.me.id
                        or hb.epoch < view.epoch):
                    return False
            elif peer.reachable and not self._loyal_elsewhere(peer.node.id, now):
                return False
        return True

    def _loyal_elsewhere(self, peer_id: int, now: float) -> bool:
        """The peer has granted to another node for longer than any promise to a dead
        node can last (silence + lease): its grantee is alive, so it holds no lease while
        we do, and it is not about to join; it does not hold our view's agreement up."""
        since = self.peers[peer_id].follows_other_since
        return since is not None and now - since > self.timing.silence + self.timing.lease

    def next_loss(self) -> float:
        """When the first peer reached now stops being fresh, if nothing more is heard
        (``inf`` when no peer is reached): the provider checks then rather than at its next
        tick, so a silent peer is declared lost after ``silence``, not up to an interval
        later. The rule is :meth:`PeerState.fresh`'s; only the moment of looking moves."""
        return min((min(p.last_heard, p.acked_sent_at) + self.timing.silence
                    for p in self.peers.values() if p.reachable), default=float("inf"))

    # -- the periodic step ------------------------------------------------------------
    def stalled(self, now: float) -> None:
        """Our own loop stalled: give every peer a fresh window, drop every lease."""
        for peer in self.peers.values():
            if peer.reachable:
                peer.last_heard = max(peer.last_heard, now)
                peer.acked_sent_at = max(peer.acked_sent_at, now)
                peer.link_heard = {k: now for k in peer.link_heard}
            peer.grant_expiry = float("-inf")
        self.fresh_after = now
        self.self_grant_expiry = float("-inf")
        self.member_lease = float("-inf")
        self.coordinating = False
        self.lapsed_since = None
        self.view = None

    def tick(self, now: float, wall: float) -> None:
        """Recompute reach, our own vote, the lease, the coordinator role and the view."""
        self.sends.prune(now)
        silence = self.timing.silence
        for peer in self.peers.values():
            was = peer.reachable
            peer.reachable = peer.fresh(now, silence)
            if peer.reachable and not was:
                peer.joined_wall = wall
            if peer.reachable:
                n_links = min(len(self.me.addresses), len(peer.node.addresses))
                peer.links_down = {i for i in range(n_links)
                                   if now - peer.link_heard.get(i, float("-inf")) > silence}
            else:
                peer.links_down = set()
        if len(self.reach()) == len(self.config.nodes):
            self.seen_all = True
        if self.preferred_candidate(now) == self.me.id:
            self.granted_to = self.me.id
            self.granted_until = now + self.timing.lease
            self.self_grant_expiry = now + self.timing.lease_credit
        self._step_role(now)

    def _step_role(self, now: float) -> None:
        held = self.holds_lease(now)
        if self.coordinating:
            if held:
                self.lapsed_since = None
            elif self.lapsed_since is None:
                self.lapsed_since = now
            elif now - self.lapsed_since > self.timing.silence:
                self.coordinating = False
                self.view = None
        elif held and self.is_candidate(now):
            self.coordinating = True
            self.lapsed_since = None
            self.view = None
            for peer in self.peers.values():  # loyalty elsewhere counts from our lease on
                if peer.follows_other_since is not None:
                    peer.follows_other_since = now
        if self.coordinating:
            self._publish(now)
            return
        view = self.view
        if view is not None and (view.coordinator == self.me.id
                                 or not self._coordinator_alive(view.coordinator, now)):
            self.view = None

    def _coordinator_alive(self, coordinator: int, now: float) -> bool:
        peer = self.peers.get(coordinator)
        return (peer is not None and peer.reachable
                and now - self.view_at <= self.timing.silence)

    def _publish(self, now: float) -> None:
        members = [(self.me.id, self.incarnation)]
        for peer in self.peers.values():
            if peer.reachable and peer.hb is not None and peer.hb.follows == self.me.id:
                members.append((peer.node.id, peer.incarnation))
        members.sort()
        names = [self.by_id[i].name for i, _ in members]
        expected = self.view.expected if self.view else self.expected
        stable = self.view is not None and tuple(members) == self.view.members
        if stable and now - self.stable_since >= self.timing.lms_window:
            lowered = last_man_standing_expected(self.config, expected, names)
            if lowered != expected:
                expected = lowered
                self.stable_since = now
        if self.view is None or tuple(members) != self.view.members or \
                expected != self.view.expected:
            self.epoch += 1
            self.stable_since = now
            self.view_made_at = now
            self.view = AgreedView(self.epoch, self.me.id, tuple(members), expected)
        self.expected = expected
