"""A configuration with one node added or removed: the only way the node list changes in
a running cluster (``hacore cluster join`` / ``remove``; a push refuses it).

Expected votes change deliberately with the node: plus the new node's votes, minus the
removed node's (never below 1); the caller shows the new figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hacore.config import check_config_text
from hacore.config.dump import config_to_toml
from hacore.config.model import ClusterConfig, Node
from hacore.errors import InputError
from hacore.policy.quorum import quorum_threshold, two_node_active


@dataclass(frozen=True)
class NodeChange:
    """The text and configuration after a change, and the quorum figures it brings."""

    text: str
    config: ClusterConfig
    expected_before: int
    expected_after: int
    quorum_after: int


def _checked(new: ClusterConfig, old: ClusterConfig) -> NodeChange:
    text = config_to_toml(new)
    result = check_config_text(text, f"<configuration version {new.config_version}>")
    if result.config is None:
        raise InputError("the configuration would not be valid:\n" +
                         "\n".join(str(p) for p in result.errors))
    cfg = result.config
    return NodeChange(text, cfg, old.quorum.expected_votes, cfg.quorum.expected_votes,
                      quorum_threshold(cfg.quorum.expected_votes, two_node=two_node_active(cfg)))


def with_node_added(config: ClusterConfig, name: str, node_id: int,
                    addresses: list[str]) -> NodeChange:
    """``config`` plus node ``name`` (id ``node_id``, 1 vote), config_version + 1."""
    if not name:
        raise InputError("the new node needs a name")
    if config.node(name) is not None:
        raise InputError(f"a node named {name!r} is in cluster {config.name!r} already "
                         "(choose another name with --name, or remove that node first)")
    taken = next((n for n in config.nodes if n.id == node_id), None)
    if taken is not None:
        raise InputError(f"node id {node_id} is {taken.name} already")
    if not addresses:
        raise InputError("the new node needs at least one address")
    for node in config.nodes:
        shared = set(node.addresses) & set(addresses)
        if shared:
            raise InputError(f"address {min(shared)} belongs to node {node.name}")
    node = Node(name=name, id=node_id, addresses=tuple(addresses))
    new = replace(config, config_version=config.config_version + 1,
                  nodes=(*config.nodes, node),
                  quorum=replace(config.quorum,
                                 expected_votes=config.quorum.expected_votes + node.votes))
    return _checked(new, config)


def with_node_removed(config: ClusterConfig, name: str) -> NodeChange:
    """``config`` without node ``name``, config_version + 1."""
    node = config.node(name)
    if node is None:
        raise InputError(f"no node {name!r} in cluster {config.name!r} (nodes: "
                         f"{', '.join(n.name for n in config.nodes)})")
    if len(config.nodes) == 1:
        raise InputError(f"{name} is the last node of cluster {config.name!r}; a cluster "
                         "keeps at least one")
    new = replace(config, config_version=config.config_version + 1,
                  nodes=tuple(n for n in config.nodes if n.name != name),
                  quorum=replace(config.quorum, expected_votes=max(
                      1, config.quorum.expected_votes - node.votes)))
    return _checked(new, config)


def first_config(name: str, node: str, addresses: list[str]) -> str:
    """The text of a new cluster's first configuration: ``node`` as member 1."""
    if not name:
        raise InputError("the cluster needs a name")
    if not addresses:
        raise InputError("the first node needs at least one address (--address)")
    lines = ["# written by hacore cluster init; add services, raise config_version and",
             "# `hacore config push` it (start from `hacore config show`)",
             "[cluster]", f"name = {_q(name)}", "config_version = 1", "",
             "[[nodes]]", f"name = {_q(node)}", "id = 1",
             "addresses = [" + ", ".join(_q(a) for a in addresses) + "]", ""]
    text = "\n".join(lines)
    result = check_config_text(text, "<first configuration>")
    if result.config is None:
        raise InputError("the first configuration would not be valid:\n" +
                         "\n".join(str(p) for p in result.errors))
    return text


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
