"""The coordinator's start-up wait (post_join_delay): it ends early once every configured
node is a member and has reported its probes, never while a node is absent or silent."""

from __future__ import annotations

from hacore.config.model import ClusterConfig, Node, Quorum, Timing
from hacore.daemon.coordinator import Coordinator
from hacore.membership.contract import LeaseState, Member, MembershipView, QuorumFigures

CONFIG = ClusterConfig(name="c", config_version=1,
                       nodes=tuple(Node(f"n{i}", i, (f"10.0.0.{i}",)) for i in (1, 2, 3)),
                       quorum=Quorum(expected_votes=3), timing=Timing(post_join_delay=3.0))
NOW = 1000.0


def view(*names: str) -> MembershipView:
    members = tuple(Member(n, int(n[1:]), 1, NOW, 1, f"10.0.0.{n[1:]}") for n in names)
    return MembershipView(local="n1", epoch=2, members=members, lost=(),
                          quorum=QuorumFigures(3, len(names), 2, True), coordinator="n1",
                          lease=LeaseState(True, NOW + 9, "coordinator"), agreed=True)


def coordinator(*names: str) -> tuple[Coordinator, list[str]]:
    woken: list[str] = []
    coord = Coordinator(CONFIG, "n1", 1, lambda *_: None, clock=lambda: NOW)
    coord.wake = lambda: woken.append("wake")
    coord.take_over(view(*names), 0, {}, not_before=NOW + CONFIG.timing.post_join_delay)
    for name in names[1:]:
        coord.on_state_reply(name, 0, {})
    return coord, woken


def test_every_node_reported_ends_the_wait() -> None:
    """All three nodes are members: not ready until the last one's status comes, then ready
    (and woken) well before post_join_delay."""
    coord, woken = coordinator("n1", "n2", "n3")
    assert not coord.ready(NOW)
    coord.on_status("n1", {"seq": 1, "services": {}})
    coord.on_status("n2", {"seq": 1, "services": {}})
    assert not coord.ready(NOW), "ready while n3 had not reported its probes"
    woken.clear()
    coord.on_status("n3", {"seq": 1, "services": {}})
    assert coord.ready(NOW) and woken == ["wake"]


def test_an_absent_node_keeps_the_wait() -> None:
    """n3 is not a member: however many statuses come, the wait lasts post_join_delay."""
    coord, _ = coordinator("n1", "n2")
    coord.on_status("n1", {"seq": 1, "services": {}})
    coord.on_status("n2", {"seq": 1, "services": {}})
    assert not coord.ready(NOW + CONFIG.timing.post_join_delay - 0.1)
    assert coord.ready(NOW + CONFIG.timing.post_join_delay)
