"""configsync's pure parts: the stored configuration, what a push may change, the dump sent."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hacore.config import load_config_text
from hacore.config.dump import config_to_toml
from hacore.daemon.configsync import newest_config, read_stored, stored_path, unchangeable
from hacore.daemon.testbed import CONFIG, NODE

NODES = "".join(NODE.format(name=f"n{i}", id=i, address=f"10.0.0.{i}") for i in (1, 2, 3))
TEXT = CONFIG.format(nodes=NODES, sock="/tmp/x.sock", vip="10.0.0.100", loss=1.0)


def test_a_config_never_pushed_is_sent_as_its_dump_which_loads_back_equal() -> None:
    """The dump a node sends when it has no pushed text loads back into the same config."""
    config = load_config_text(TEXT)
    assert load_config_text(config_to_toml(config)) == config


def test_newest_config_prefers_a_newer_stored_one(tmp_path: Path) -> None:
    """A stored version above --config's wins; an older or equal one, another cluster's or an
    invalid file does not."""
    given = load_config_text(TEXT)
    path = Path(stored_path(str(tmp_path)))
    assert newest_config(given, str(tmp_path)) is given
    path.write_text(TEXT.replace("config_version = 1", "config_version = 4"))
    assert newest_config(given, str(tmp_path)).config_version == 4
    path.write_text(TEXT.replace("config_version = 1", "config_version = 4")
                    .replace('name = "tb"', 'name = "other"'))
    assert newest_config(given, str(tmp_path)) is given
    path.write_text("[cluster]\nname = 3\n")
    assert read_stored(str(tmp_path)) is None
    assert newest_config(given, str(tmp_path)) is given


def test_a_push_may_not_change_nodes_quorum_or_the_message_port() -> None:
    """Services may change; nodes, quorum, membership timing and the port may not."""
    old = load_config_text(TEXT)
    assert unchangeable(old, replace(old, config_version=2, services=())) is None
    moved = replace(old, nodes=(replace(old.nodes[0], addresses=("10.0.0.9",)),
                                *old.nodes[1:]))
    assert "nodes" in (unchangeable(old, moved) or "")
    assert "quorum" in (unchangeable(old, replace(old, quorum=replace(
        old.quorum, expected_votes=5))) or "")
    assert "message_port" in (unchangeable(old, replace(old, message_port=7000)) or "")
    assert "cluster name" in (unchangeable(old, replace(old, name="x")) or "")
