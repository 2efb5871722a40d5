"""Configurations with a node added or removed, and what configsync lets through."""

from __future__ import annotations

import pytest

from hacore.bootstrap.nodes import first_config, with_node_added, with_node_removed
from hacore.config import check_config_text
from hacore.daemon.configsync import _with_nodes_of, unchangeable
from hacore.errors import InputError


def _first():
    return check_config_text(first_config("c", "n1", ["10.0.0.1", "fd00::1"])).config


def test_first_config_names_the_node_as_member_one():
    """init's configuration: the cluster name, node 1 with both addresses, version 1."""
    cfg = _first()
    assert cfg.name == "c" and cfg.config_version == 1
    assert [(n.name, n.id, n.addresses) for n in cfg.nodes] == [("n1", 1, ("10.0.0.1",
                                                                          "fd00::1"))]
    assert cfg.quorum.expected_votes == 1


def test_adding_a_node_bumps_the_version_and_the_expected_votes():
    """n2 added: version 2, expected 1 -> 2, quorum 2; the text validates to the same."""
    change = with_node_added(_first(), "n2", 2, ["10.0.0.2", "fd00::2"])
    assert change.config.config_version == 2
    assert (change.expected_before, change.expected_after, change.quorum_after) == (1, 2, 2)
    assert check_config_text(change.text).config == change.config
    third = with_node_added(change.config, "n3", 5, ["10.0.0.3", "fd00::3"])
    assert (third.expected_after, third.quorum_after) == (3, 2)
    assert [n.id for n in third.config.nodes] == [1, 2, 5]


@pytest.mark.parametrize("name,node_id,addresses,words", [
    ("n1", 2, ["10.0.0.2"], "a node named 'n1' is in cluster 'c' already"),
    ("n2", 1, ["10.0.0.2"], "node id 1 is n1 already"),
    ("n2", 2, ["10.0.0.1"], "address 10.0.0.1 belongs to node n1"),
    ("n2", 2, [], "needs at least one address"),
])
def test_a_clashing_node_is_refused(name, node_id, addresses, words):
    """A taken name, id or address, or none: InputError naming it."""
    with pytest.raises(InputError) as err:
        with_node_added(_first(), name, node_id, addresses)
    assert words in str(err.value)


def test_removing_a_node_lowers_the_expected_votes():
    """n3 removed from three: version + 1, expected 3 -> 2, quorum 2; the last node stays."""
    cfg = _first()
    for name, node_id in (("n2", 2), ("n3", 3)):
        cfg = with_node_added(cfg, name, node_id, [f"10.0.0.{node_id}", f"fd00::{node_id}"]
                              ).config
    change = with_node_removed(cfg, "n3")
    assert [n.name for n in change.config.nodes] == ["n1", "n2"]
    assert (change.expected_before, change.expected_after, change.quorum_after) == (3, 2, 2)
    with pytest.raises(InputError, match="no node 'n9'"):
        with_node_removed(cfg, "n9")
    with pytest.raises(InputError, match="the last node"):
        with_node_removed(_first(), "n1")


def test_a_push_still_cannot_change_the_nodes_but_a_join_can():
    """unchangeable() refuses the added node (a push); compared with the nodes set aside
    (what a member accepts from a join's configuration), nothing else differs."""
    old = _first()
    new = with_node_added(old, "n2", 2, ["10.0.0.2", "fd00::2"]).config
    assert "hacore cluster join" in str(unchangeable(old, new))
    assert unchangeable(old, _with_nodes_of(new, old)) is None
    renamed = check_config_text(first_config("other", "n1", ["10.0.0.1", "fd00::1"])).config
    assert "cluster name" in str(unchangeable(old, _with_nodes_of(renamed, old)))
