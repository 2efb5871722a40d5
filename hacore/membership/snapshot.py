"""Turn the protocol state into the contract's immutable MembershipView."""

from __future__ import annotations

from hacore.membership.agreement import ProtocolState
from hacore.membership.contract import (
    LeaseState,
    LostNode,
    Member,
    MembershipView,
    QuorumFigures,
)
from hacore.policy.quorum import effective_expected_votes, is_quorate, needed_votes, total_votes


def build_view(state: ProtocolState, now: float, wall: float, started_wall: float) -> MembershipView:
    """The view as the local node sees it now.

    In a quorate partition the members are the coordinator's agreed view; without one they
    are the nodes heard both ways, the epoch is the last one known and nobody coordinates.
    """
    config = state.config
    agreed = state.view
    if agreed is not None:
        pairs = dict(agreed.members)
        expected = agreed.expected
    else:
        pairs = {state.me.id: state.incarnation}
        pairs.update({i: state.peers[i].incarnation for i in state.reach() if i != state.me.id})
        expected = state.expected
    if agreed is not None and state.me.id not in pairs:
        pairs[state.me.id] = state.incarnation
    members = []
    for node_id, incarnation in sorted(pairs.items()):
        node = state.by_id[node_id]
        if node_id == state.me.id:
            members.append(Member(node.name, node.id, state.incarnation, started_wall,
                                  node.votes, node.addresses[0]))
            continue
        peer = state.peers[node_id]
        members.append(Member(node.name, node.id, incarnation, peer.joined_wall or wall,
                               node.votes, peer.address or node.addresses[0]))
    lost = tuple(
        LostNode(p.node.name, p.node.id, p.node.votes, p.last_heard_wall,
                 p.incarnation or None)
        for p in sorted(state.peers.values(), key=lambda p: p.node.id) if p.node.id not in pairs)
    names = [m.name for m in members]
    present = total_votes(config, names)
    quorate = agreed is not None and is_quorate(config, names, seen_all=state.seen_all,
                                                expected_votes=expected)
    needed = needed_votes(config, names, expected)
    figures = QuorumFigures(expected=effective_expected_votes(config, present, expected),
                            total=present, quorum=needed, quorate=quorate,
                            reason="" if quorate else _why_not(state, agreed, present, needed))
    expires = state.lease_expires(now)
    held = expires > now
    role = "none"
    if held:
        role = "coordinator" if state.coordinating else "member"
    links_down = tuple(sorted((p.node.name, p.node.addresses[i])
                              for p in state.peers.values() for i in p.links_down))
    return MembershipView(
        local=state.me.name,
        epoch=agreed.epoch if agreed else state.epoch,
        members=tuple(members),
        lost=lost,
        quorum=figures,
        coordinator=state.by_id[agreed.coordinator].name if agreed and quorate else None,
        lease=LeaseState(held=held, expires=max(expires, 0.0), role=role),  # type: ignore[arg-type]
        links_down=links_down,
        agreed=quorate and state.agreed(now),
    )


def _why_not(state: ProtocolState, agreed: object, present: int, needed: int) -> str:
    """Why a partition is not quorate, in words (the figures alone can look quorate)."""
    if present < needed:
        return f"{present} votes present, {needed} needed"
    quorum = state.config.quorum
    waits = quorum.wait_for_all or (quorum.two_node and len(state.config.nodes) <= 2)
    if waits and not state.seen_all:
        return "wait_for_all: every node has not yet been seen at once"
    if agreed is None:
        return ("the votes are present but no coordinator holds a lease for this partition "
                "yet (electing one)")
    return "the view's figures fall short of quorum"
