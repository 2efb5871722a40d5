"""The protocol state machine driven by hand (no sockets, time as an argument)."""

from __future__ import annotations

from hacore.membership.agreement import NO_GRANT, ProtocolState
from hacore.membership.timing import MembershipTiming
from hacore.membership.wire import Heartbeat

from .cluster import make_config

CONFIG = make_config(3)
TIMING = MembershipTiming.from_config(CONFIG.timing)


def node(name: str, now: float = 0.0) -> ProtocolState:
    return ProtocolState(CONFIG, name, TIMING, incarnation=1000, now=now)


def hear(state: ProtocolState, sender: int, now: float, arrived: bool = False,
         **hb: object) -> None:
    """``sender`` sends a heartbeat acknowledging our latest packet (``arrived``: its
    arrival time is told, as the provider does)."""
    seq = state.next_seq(now)
    peer = state.peers[sender]
    assert state.accept_packet(sender, 500, peer.window.highest + 1,
                               now if arrived else None) is None
    state.heard(sender, 0, "127.0.0.1", now, 1e9 + now)
    state.heartbeat_from(sender, Heartbeat(ack_incarnation=state.incarnation, ack_seq=seq,
                                           **hb), now)  # type: ignore[arg-type]


def test_a_restarted_node_grants_nothing_for_one_lease() -> None:
    """Right after start a node cannot remember promises it made before: no grant for a lease."""
    n2 = node("n2", now=100.0)
    hear(n2, 1, 100.1, candidate=True)
    n2.tick(100.1, 0)
    assert not n2.heartbeat_for(1, 100.1).grant
    later = 100.0 + TIMING.lease + 0.01
    hear(n2, 1, later, candidate=True)
    n2.tick(later, 0)
    assert n2.heartbeat_for(1, later).grant


def test_one_grant_at_a_time_for_the_lease() -> None:
    """A node that granted n1 refuses n3 until the promise to n1 has run out."""
    n2 = node("n2")
    t = TIMING.lease + 0.1
    hear(n2, 1, t, candidate=True)
    hear(n2, 3, t, candidate=True)
    n2.tick(t, 0)
    assert n2.heartbeat_for(1, t).grant
    assert not n2.heartbeat_for(3, t).grant
    # n1 stops asking: the promise still binds until it expires, then n3 may have the vote
    t2 = t + TIMING.lease / 2
    hear(n2, 3, t2, candidate=True)
    hear(n2, 1, t2, candidate=False)
    n2.tick(t2, 0)
    assert not n2.heartbeat_for(3, t2).grant
    t3 = t + TIMING.lease + 0.01
    hear(n2, 3, t3, candidate=True)
    hear(n2, 1, t3, candidate=False)
    n2.tick(t3, 0)
    assert n2.heartbeat_for(3, t3).grant


def test_a_promise_runs_a_lease_from_the_newest_packet_heard_from_the_grantee() -> None:
    """A voter whose candidate went silent is free a lease after its last packet, though it
    kept sending it heartbeats carrying the grant (the candidate counts each grant from a
    packet it sent before that): once the silent one is unreachable, the vote goes to
    another candidate at once, not a lease after the last heartbeat sent to the silent one."""
    n3 = node("n3")
    t = TIMING.lease + 0.1
    hear(n3, 1, t, arrived=True, candidate=True)
    hear(n3, 2, t, arrived=True)
    n3.tick(t, 0)
    assert n3.heartbeat_for(1, t).grant
    assert n3.granted_until == t + TIMING.lease
    now = t
    while now < t + TIMING.silence - TIMING.interval:  # n1 is silent, n3 still grants it
        now += TIMING.interval
        hear(n3, 2, now, arrived=True)
        n3.tick(now, 0)
        n3.heartbeat_for(1, now)
        assert n3.granted_until == t + TIMING.lease, "renewed without news from n1"
    gone = t + TIMING.silence + 0.01
    hear(n3, 2, gone, arrived=True, candidate=True)
    n3.tick(gone, 0)
    assert n3.reach() == [2, 3]
    assert n3.heartbeat_for(2, gone).grant
    assert n3.following(gone) == 2


def test_a_voter_granting_a_quiet_coordinator_still_says_it_follows_it() -> None:
    """Packets from the coordinator lost for longer than a lease (not a silence window):
    the voter's promise has run out, yet while it grants the coordinator its heartbeat to it
    says it follows it, so the coordinator keeps it in the view; its heartbeats to others
    say it follows nobody, as its promise ran out."""
    n3 = node("n3")
    t = TIMING.lease + 0.1
    hear(n3, 1, t, arrived=True, candidate=True)
    hear(n3, 2, t, arrived=True)
    n3.tick(t, 0)
    assert n3.heartbeat_for(1, t).follows == 1
    quiet = t + TIMING.lease + TIMING.interval  # the promise ran out, n1 still reached
    hear(n3, 2, quiet, arrived=True)
    n3.tick(quiet, 0)
    assert n3.reach() == [1, 2, 3]
    to_n1 = n3.heartbeat_for(1, quiet)
    assert to_n1.grant and to_n1.follows == 1
    assert n3.following(quiet) == NO_GRANT
    assert n3.heartbeat_for(2, quiet).follows == NO_GRANT


def test_a_promise_made_without_an_arrival_time_counts_from_the_grant() -> None:
    """When the arrival of the acknowledged packet is not known, the promise runs from the
    grant itself (the older, longer rule)."""
    n2 = node("n2")
    t = TIMING.lease + 0.1
    hear(n2, 1, t - 0.05, candidate=True)
    n2.tick(t, 0)
    assert n2.heartbeat_for(1, t).grant
    assert n2.granted_until == t + TIMING.lease


def test_lease_needs_a_quorum_and_counts_from_the_request() -> None:
    """A candidate holds a lease only with grants from a quorum, and the lease runs from
    when it sent the packet the grant answers, not from when the grant arrived."""
    n1 = node("n1")
    t = TIMING.lease + 0.1
    hear(n1, 2, t)
    n1.tick(t, 0)
    assert n1.is_candidate(t) and not n1.holds_lease(t)  # its own vote: 1 of 2 needed
    sent = t + 0.05
    seq = n1.next_seq(sent)
    arrive = sent + 0.3  # a slow answer
    assert n1.accept_packet(2, 500, 99) is None
    n1.heartbeat_from(2, Heartbeat(ack_incarnation=1000, ack_seq=seq, grant=True), arrive)
    n1.tick(arrive, 0)
    assert n1.holds_lease(arrive) and n1.coordinating
    assert n1.lease_expires(arrive) <= sent + TIMING.lease


def test_stall_drops_the_lease_and_keeps_peers() -> None:
    """After a stall the node holds no lease and still counts its peers for a fresh window."""
    n1 = node("n1")
    t = TIMING.lease + 0.1
    hear(n1, 2, t)
    hear(n1, 3, t)
    n1.tick(t, 0)
    woke = t + 3 * TIMING.node_loss_timeout
    n1.stalled(woke)
    n1.tick(woke, 0)
    assert n1.reach() == [1, 2, 3]
    assert not n1.holds_lease(woke) and n1.view is None
    n1.tick(woke + TIMING.silence + 0.01, 0)
    assert n1.reach() == [1]  # nobody answered within the fresh window


def test_replayed_and_old_incarnation_packets_are_refused() -> None:
    """A sequence number is taken once; a lower incarnation than the one known is stale."""
    n1 = node("n1")
    assert n1.accept_packet(2, 10, 5) is None
    assert n1.accept_packet(2, 10, 5) == "replayed or stale sequence number"
    assert n1.accept_packet(2, 11, 1) is None  # a restart: new incarnation, new numbering
    assert n1.accept_packet(2, 10, 6) == "stale incarnation"
    assert n1.accept_packet(9, 1, 1) == "unknown node"


def test_unknown_local_node_is_an_input_error() -> None:
    """A node name missing from the configuration is refused with the valid names."""
    import pytest

    from hacore.errors import InputError

    with pytest.raises(InputError, match="its nodes: n1, n2, n3"):
        ProtocolState(CONFIG, "n9", TIMING, incarnation=1, now=0.0)
