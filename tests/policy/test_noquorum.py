"""The local no-quorum rule: stop, freeze or ignore."""

from __future__ import annotations

from hacore.policy import ServiceStatus, Snapshot, no_quorum_actions

from .helpers import cluster


def _local(policy: str) -> tuple:
    cfg = cluster(3, services={"web": {}, "db": {}}, quorum={"no_quorum_policy": policy})
    snap = Snapshot(members={"n1": 0}, quorate=False, local="n1",
                    services={"web": ServiceStatus("started", "n1", "n1"),
                              "db": ServiceStatus("started", "n2", "n2")})
    return cfg, snap


def test_stop_policy_stops_only_the_local_services() -> None:
    """policy stop: the node stops what it runs, nothing else."""
    cfg, snap = _local("stop")
    actions = no_quorum_actions(cfg, snap)
    assert [(a.kind, a.service, a.node, a.state) for a in actions] == [
        ("stop", "web", "n1", "stopped")]
    assert "lost quorum (1 of 3 votes, 2 needed)" in actions[0].reason


def test_the_reason_says_what_cut_the_node_off_when_the_votes_were_there() -> None:
    """A stalled node still counts every vote: its reason names the stall, not '3 of 3'."""
    cfg, snap = _local("stop")
    snap = Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, quorate=False, local="n1",
                    services=snap.services)
    stop = no_quorum_actions(cfg, snap, "its loop stalled")[0]
    assert "n1 lost quorum (its loop stalled)" in stop.reason and "votes" not in stop.reason


def test_freeze_policy_freezes() -> None:
    """policy freeze: services keep running, frozen."""
    cfg, snap = _local("freeze")
    assert [(a.kind, a.service) for a in no_quorum_actions(cfg, snap)] == [("freeze", "web")]


def test_ignore_policy_does_nothing() -> None:
    """policy ignore: no action."""
    cfg, snap = _local("ignore")
    assert no_quorum_actions(cfg, snap) == []


def test_quorate_partition_has_no_local_rule() -> None:
    """With quorum the local rule does nothing."""
    cfg, snap = _local("stop")
    from dataclasses import replace

    assert no_quorum_actions(cfg, replace(snap, quorate=True)) == []
