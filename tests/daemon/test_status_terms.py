"""Members' statuses belong to the coordinator's term: one kept from an earlier term (the
member may have stopped the service or restarted since, under another coordinator) never
decides anything. Found by the fault campaign (seed 1007): a new coordinator adopted job
on n5 from n5's status of 50 s before, sent while it last coordinated; n5 had stopped job
and restarted since, and its new statuses (their count restarted at 1) were refused as
older, so job stayed 'started' on a node that did not run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_support import token_config

from hacore.config.model import ClusterConfig
from hacore.daemon.coordinator import Coordinator
from hacore.membership.contract import LeaseState, Member, MembershipView, QuorumFigures
from hacore.policy import Report

NOW = 1000.0


@pytest.fixture
def config(tmp_path: Path) -> ClusterConfig:
    return token_config(tmp_path, services={"job": ["job-a"]})


def view(epoch: int) -> MembershipView:
    members = tuple(Member(n, int(n[1:]), 1, NOW, 1, f"127.0.0.{n[1:]}")
                    for n in ("n1", "n2", "n3"))
    return MembershipView(local="n1", epoch=epoch, members=members, lost=(),
                          quorum=QuorumFigures(3, 3, 2, True), coordinator="n1",
                          lease=LeaseState(True, NOW + 9, "coordinator"), agreed=True)


def coordinator(config: ClusterConfig) -> Coordinator:
    coord = Coordinator(config, "n1", 1, lambda *_: None, clock=lambda: NOW)
    coord.wake = lambda: None  # type: ignore[method-assign]
    return coord


def take_over(coord: Coordinator, epoch: int) -> None:
    coord.take_over(view(epoch), 0, {}, not_before=NOW)
    coord.on_state_reply("n2", 0, {})


def status(epoch: int, seq: int, *running: str) -> dict:
    return {"epoch": epoch, "seq": seq,
            "services": {name: {"status": "running", "resource": None} for name in running}}


def test_a_status_from_an_earlier_term_is_not_used(config: ClusterConfig) -> None:
    """n3 said 'job runs here' while n1 last coordinated; n1 coordinates again: that old
    word is no report at all, and n3's first word in this term is taken."""
    coord = coordinator(config)
    take_over(coord, 2)
    coord.on_status("n3", status(2, 30, "job"))
    assert coord.decision_snapshot().reports.get("job") == {"n3": Report("running")}
    coord.step_down("the view names n2")
    take_over(coord, 7)
    assert coord.status_of("n3") is None
    assert "job" not in coord.decision_snapshot().reports
    coord.on_status("n3", status(7, 31))
    assert coord.status_of("n3") == status(7, 31)
    assert "job" not in coord.decision_snapshot().reports


def test_a_restarted_member_is_heard_although_its_count_restarted(config: ClusterConfig) -> None:
    """n3's daemon restarted while n1 did not coordinate: its first status (seq 1, a later
    epoch, sent before n1 noticed it coordinates) replaces the one with seq 30."""
    coord = coordinator(config)
    take_over(coord, 2)
    coord.on_status("n3", status(2, 30, "job"))
    coord.step_down("the view names n2")
    coord.on_status("n3", status(5, 1))
    take_over(coord, 5)
    assert coord.status_of("n3") == status(5, 1)
    assert "job" not in coord.decision_snapshot().reports


def test_an_older_status_of_this_term_does_not_replace_a_newer_one(config: ClusterConfig) -> None:
    """Statuses are ordered by the member's epoch, then its count: a late duplicate loses."""
    coord = coordinator(config)
    take_over(coord, 3)
    coord.on_status("n3", status(3, 5, "job"))
    coord.on_status("n3", status(3, 4))
    assert coord.status_of("n3") == status(3, 5, "job")
