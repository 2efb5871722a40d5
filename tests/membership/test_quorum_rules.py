"""votequorum rules used by membership: thresholds, two_node, wait_for_all, last_man_standing."""

from __future__ import annotations

from dataclasses import replace

from hacore.policy.quorum import is_quorate, last_man_standing_expected, needed_votes

from .cluster import make_config


def test_majority_threshold() -> None:
    """quorum = floor(expected/2)+1: 3 -> 2, 4 -> 3, 5 -> 3."""
    for n, need in ((3, 2), (4, 3), (5, 3)):
        config = make_config(n)
        assert needed_votes(config, ["n1"]) == need


def test_two_node_needs_one_but_waits_for_all() -> None:
    """two_node: quorum 1, but not quorate before both nodes were seen together."""
    config = make_config(2, two_node=True)
    assert not is_quorate(config, ["n1"], seen_all=False)
    assert is_quorate(config, ["n1"], seen_all=True)


def test_last_man_standing_steps_down() -> None:
    """last_man_standing lowers expected votes to the votes present, stepwise, never to 1."""
    config = make_config(8, last_man_standing=True)
    five = [f"n{i}" for i in range(1, 6)]
    assert last_man_standing_expected(config, 8, five) == 5
    assert last_man_standing_expected(config, 5, five[:3]) == 3
    assert last_man_standing_expected(config, 3, five[:2]) == 2
    assert last_man_standing_expected(config, 2, five[:1]) == 2  # 1 needs a tie breaker


def test_last_man_standing_needs_quorum_and_the_option() -> None:
    """No step from an inquorate partition, without the option, or with multi-vote nodes."""
    config = make_config(8, last_man_standing=True)
    assert last_man_standing_expected(config, 8, ["n1", "n2", "n3"]) == 8
    assert last_man_standing_expected(make_config(8), 8, [f"n{i}" for i in range(1, 6)]) == 8
    heavy = replace(config, nodes=(replace(config.nodes[0], votes=2),) + config.nodes[1:])
    assert last_man_standing_expected(heavy, 8, [f"n{i}" for i in range(1, 7)]) == 8


def test_lowered_expected_changes_the_threshold() -> None:
    """With expected lowered to 3, two of the remaining nodes are quorate."""
    config = make_config(8, last_man_standing=True)
    assert not is_quorate(config, ["n1", "n2"])
    assert is_quorate(config, ["n1", "n2"], expected_votes=3)
