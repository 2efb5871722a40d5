"""A member dropped from the view that comes back before it was fenced or its self-stop
deadline passed may still run its services: the coordinator must not start them elsewhere.
Found by the no-fence fault campaign (seed 5011): a new coordinator took over while a view
had dropped n4 for 0.1 s; n4 came back, its services were taken as stopped on its return,
and the file system n4 still had mounted was mounted on n3 too (S1)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from daemon_support import token_config

from hacore.config.model import ClusterConfig
from hacore.daemon.coordinator import Coordinator, cluster_part
from hacore.membership.contract import LeaseState, Member, MembershipView, QuorumFigures
from hacore.policy import ServiceStatus, initial_snapshot

NOW = 1000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config(tmp_path: Path) -> ClusterConfig:
    return token_config(tmp_path, services={"job": ["job-a"]})  # no fence device


def view(epoch: int, *names: str) -> MembershipView:
    members = tuple(Member(n, int(n[1:]), 1, NOW, 1, f"127.0.0.{n[1:]}") for n in names)
    return MembershipView(local="n1", epoch=epoch, members=members, lost=(),
                          quorum=QuorumFigures(3, len(names), 2, True), coordinator="n1",
                          lease=LeaseState(True, NOW + 9, "coordinator"), agreed=True)


def status(epoch: int, seq: int, *running: str) -> dict:
    return {"epoch": epoch, "seq": seq,
            "services": {name: {"status": "running", "resource": None} for name in running}}


def coordinator_after_flap(config: ClusterConfig, clock: Clock,
                           state: str = "started") -> Coordinator:
    """n1 takes over while the view lacks n3 (job is ``state`` there), then n3 is back 0.1 s
    later; n1 and n2 have reported, n3 has not yet."""
    sent: list[tuple[str, str]] = []
    coord = Coordinator(config, "n1", 1, lambda to, kind, body: sent.append((to, kind)),
                        clock=clock)
    coord.wake = lambda: None  # type: ignore[method-assign]
    snap = initial_snapshot(config, ["n1", "n2", "n3"])
    snap = replace(snap, services={"job": ServiceStatus(state=state, owner="n3",
                                                        last_owner="n3")})
    coord.take_over(view(4, "n1", "n2"), 0, {}, not_before=NOW)
    coord.on_state_reply("n2", 7, cluster_part(snap))
    assert "n3" in coord.snap.lost
    clock.now += 0.1
    coord.on_view(view(5, "n1", "n2", "n3"))
    for node in ("n1", "n2"):
        coord.on_status(node, status(5, 1))
    clock.now += 5.0  # past the start-up wait; long before n3's self-stop deadline
    return coord


def test_a_service_of_a_node_back_before_its_deadline_is_not_started_elsewhere(
        config: ClusterConfig) -> None:
    """n3 is back, silent so far: job still counts as running on n3; nothing starts it."""
    clock = Clock()
    coord = coordinator_after_flap(config, clock)
    assert coord.snap.status("job") == ServiceStatus(state="started", owner="n3",
                                                     last_owner="n3")
    acted = coord.cycle()
    assert [a for a in acted if a.service == "job" and a.kind == "start"] == []


def test_its_own_status_then_decides(config: ClusterConfig) -> None:
    """n3's first status of this term says job is not running: job is started again."""
    clock = Clock()
    coord = coordinator_after_flap(config, clock)
    coord.on_status("n3", status(5, 1))
    acted = coord.cycle()
    assert any(a.service == "job" and a.kind in ("start", "restart") for a in acted), acted


def test_a_start_in_flight_on_the_node_is_redone_not_left_starting(
        config: ClusterConfig) -> None:
    """job was starting on n3 when the previous coordinator was lost and n3 dropped out: the
    start's result is gone, so job is stopped on n3 first (then placed again) instead of
    staying 'starting' for ever (no-fence campaign, seeds 5005 and 5007, after the fix
    above)."""
    clock = Clock()
    coord = coordinator_after_flap(config, clock, state="starting")
    assert coord.snap.status("job").state == "recovering"
    acted = coord.cycle()
    assert [(a.kind, a.node) for a in acted if a.service == "job"] == [("stop", "n3")]
