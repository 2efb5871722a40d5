"""The fencer's settle rule: fence on an agreed view at once, never on a settling one; the
time-based wait only for providers that cannot tell (MembershipView.agreed is None)."""

from __future__ import annotations

from hacore.config.model import ClusterConfig, Node, Quorum, Timing
from hacore.daemon.fencer import FENCE_SETTLE, Fencer
from hacore.membership.contract import LeaseState, MembershipView, QuorumFigures

CONFIG = ClusterConfig(name="c", config_version=1,
                       nodes=tuple(Node(f"n{i}", i, (f"10.0.0.{i}",)) for i in (1, 2, 3)),
                       quorum=Quorum(expected_votes=3), timing=Timing())


def fencer(agreed: bool | None, changed_at: float) -> Fencer:
    f = Fencer.__new__(Fencer)
    f.config = CONFIG
    f.view_changed_at = changed_at
    f.view = MembershipView(local="n1", epoch=4, members=(), lost=(),
                            quorum=QuorumFigures(3, 2, 2, True), coordinator="n1",
                            lease=LeaseState(True, 9.0, "coordinator"), agreed=agreed)
    return f


def test_an_agreed_view_is_settled_at_once() -> None:
    """Right after the change, an agreed view allows the fence."""
    assert fencer(True, changed_at=100.0)._view_settled(100.0)


def test_a_view_still_settling_never_is() -> None:
    """A view that is not agreed blocks the fence however long ago it changed."""
    assert not fencer(False, changed_at=100.0)._view_settled(1000.0)


def test_without_the_flag_the_settle_wait_applies() -> None:
    """agreed None (a provider that cannot tell): wait FENCE_SETTLE × T after the change."""
    wait = FENCE_SETTLE * CONFIG.timing.node_loss_timeout
    assert not fencer(None, changed_at=100.0)._view_settled(100.0 + wait / 2)
    assert fencer(None, changed_at=100.0)._view_settled(100.0 + wait)
