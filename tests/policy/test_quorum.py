"""votequorum arithmetic."""

from __future__ import annotations

import pytest

from hacore.policy.quorum import describe_quorum, is_quorate, needed_votes, quorum_threshold

from .helpers import cluster


@pytest.mark.parametrize("expected,quorum", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (8, 5)])
def test_threshold_is_a_strict_majority(expected: int, quorum: int) -> None:
    """quorum = floor(expected/2) + 1, as CMAN computes it."""
    assert quorum_threshold(expected) == quorum


def test_two_node_needs_one_vote() -> None:
    """two_node lowers quorum to 1."""
    assert quorum_threshold(2, two_node=True) == 1


def test_majority_partition_is_quorate_and_minority_is_not() -> None:
    """2 of 3 nodes are quorate, 1 of 3 is not, nobody is not."""
    cfg = cluster(3)
    assert is_quorate(cfg, ["n1", "n2"])
    assert not is_quorate(cfg, ["n3"])
    assert not is_quorate(cfg, [])


def test_even_split_is_not_quorate() -> None:
    """2 of 4 votes is exactly half: not quorate."""
    assert not is_quorate(cluster(4), ["n1", "n2"])


def test_two_node_survivor_is_quorate_only_after_seeing_both() -> None:
    """two_node implies wait_for_all: quorate alone only once both were seen together."""
    cfg = cluster(2, quorum={"two_node": True, "expected_votes": 1})
    assert is_quorate(cfg, ["n1"], seen_all=True)
    assert not is_quorate(cfg, ["n1"], seen_all=False)


def test_wait_for_all_blocks_first_quorum() -> None:
    """wait_for_all: a majority is not quorate before every node was seen once."""
    cfg = cluster(3, quorum={"wait_for_all": True})
    assert not is_quorate(cfg, ["n1", "n2"], seen_all=False)
    assert is_quorate(cfg, ["n1", "n2"], seen_all=True)


def test_expected_votes_rise_with_present_votes() -> None:
    """Votes present above expected_votes raise the threshold (votequorum)."""
    cfg = cluster(5, quorum={"expected_votes": 3})
    assert needed_votes(cfg, ["n1", "n2", "n3", "n4", "n5"]) == 3
    assert needed_votes(cfg, ["n1", "n2"]) == 2


def test_description_names_votes() -> None:
    """The phrase for people shows have, expected and needed votes."""
    assert describe_quorum(cluster(3), ["n1", "n2"]) == "2 of 3 votes, 2 needed"
