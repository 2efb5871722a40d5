"""votequorum arithmetic, pure: who has quorum given the configured votes and the members.

quorum = floor(expected / 2) + 1 (CMAN's ``(expected + 2) // 2``), where expected is the
configured ``expected_votes`` raised to the votes actually present if those are more.
``two_node`` forces quorum to 1 while the cluster has at most two nodes; it implies
``wait_for_all``: the cluster is quorate for the first time only after every configured
node was seen at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from hacore.config.model import ClusterConfig


def quorum_threshold(expected_votes: int, *, two_node: bool = False) -> int:
    """The number of votes a partition needs: 1 in two-node mode, else a strict majority."""
    if two_node:
        return 1
    return expected_votes // 2 + 1


def total_votes(config: ClusterConfig, members: Iterable[str]) -> int:
    """The votes held by ``members`` (names that are not configured nodes count zero)."""
    votes = {node.name: node.votes for node in config.nodes}
    return sum(votes.get(name, 0) for name in set(members))


def effective_expected_votes(
    config: ClusterConfig, present_votes: int, expected_votes: int | None = None
) -> int:
    """Expected votes never fall below the votes actually present (votequorum's rule).

    ``expected_votes`` overrides the configured figure (last_man_standing may have lowered it).
    """
    base = config.quorum.expected_votes if expected_votes is None else expected_votes
    return max(base, present_votes)


def two_node_active(config: ClusterConfig) -> bool:
    """two_node holds only for a cluster of exactly two configured nodes."""
    return config.quorum.two_node and len(config.nodes) <= 2


def needed_votes(
    config: ClusterConfig, members: Iterable[str], expected_votes: int | None = None
) -> int:
    """Votes needed for quorum with these members present."""
    present = total_votes(config, members)
    return quorum_threshold(
        effective_expected_votes(config, present, expected_votes),
        two_node=two_node_active(config),
    )


def last_man_standing_expected(config: ClusterConfig, expected_votes: int,
                               members: Iterable[str]) -> int:
    """Expected votes after one last_man_standing step (votequorum), called once the
    membership has been stable and quorate for the window.

    Lowers expected votes to the votes present, never below 2 (going to 1 needs a tie
    breaker hacore does not have), only when every node has 1 vote and the partition is
    quorate now; otherwise returns ``expected_votes`` unchanged. Nodes that come back raise
    it again through ``effective_expected_votes``.
    """
    names = set(members)
    if not config.quorum.last_man_standing or two_node_active(config):
        return expected_votes
    if any(node.votes != 1 for node in config.nodes):
        return expected_votes
    present = total_votes(config, names)
    if present < needed_votes(config, names, expected_votes):
        return expected_votes
    return min(expected_votes, max(present, 2))


def is_quorate(config: ClusterConfig, members: Iterable[str], *, seen_all: bool = True,
               expected_votes: int | None = None) -> bool:
    """Whether a partition made of ``members`` is quorate.

    ``seen_all`` says whether every configured node has been a member at the same time since
    the cluster started; it matters with ``wait_for_all`` (implied by ``two_node``).
    """
    names = set(members)
    wait_for_all = config.quorum.wait_for_all or two_node_active(config)
    if wait_for_all and not seen_all:
        return False
    if not names:
        return False
    return total_votes(config, names) >= needed_votes(config, names, expected_votes)


def describe_quorum(config: ClusterConfig, members: Iterable[str]) -> str:
    """One phrase for people: '2 of 3 votes, 2 needed'."""
    names = set(members)
    have = total_votes(config, names)
    expected = effective_expected_votes(config, have)
    return f"{have} of {expected} votes, {needed_votes(config, names)} needed"
