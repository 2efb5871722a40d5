"""apply(): snapshots advanced by action outcomes."""

from __future__ import annotations

import pytest

from hacore.policy import Action, ServiceStatus, Snapshot, apply

from .helpers import cluster


def _snap() -> Snapshot:
    return Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, generation=4,
                    services={"web": ServiceStatus("started", "n1", "n1")})


def test_failed_start_leaves_owner_to_be_stopped() -> None:
    """A failed start keeps the node as owner (it may be half started) and avoids it."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0, "n2": 0})
    after = apply(cfg, snap, [Action("start", "web", "n2")], [False])
    st = after.status("web")
    assert (st.state, st.owner, st.avoid) == ("recovering", "n2", frozenset({"n2"}))


def test_failed_stop_without_fencing_marks_failed() -> None:
    """S4: a failed stop on a node without a fence method makes the service failed."""
    cfg = cluster(3, no_fence=["n1"])
    after = apply(cfg, _snap(), [Action("stop", "web", "n1", state="stopped")], [False])
    assert (after.status("web").state, after.status("web").stop_failed_on) == ("failed", "n1")


def test_fence_removes_member_and_clears_failed_stop() -> None:
    """A confirmed fence takes the node out, marks it fenced and clears its failed stops."""
    cfg = cluster(3)
    snap = apply(cfg, _snap(), [Action("stop", "web", "n1", state="stopped")], [False])
    after = apply(cfg, snap, [Action("fence", None, "n1")])
    assert "n1" not in after.members and after.lost["n1"].fenced
    assert after.status("web").stop_failed_on is None
    assert after.generation == 5


def test_restart_records_its_time() -> None:
    """A recovery restart appends now to the restart history; an admin restart does not."""
    cfg = cluster(3)
    after = apply(cfg, _snap(), [Action("restart", "web", "n1")], now=12.0)
    assert after.status("web").restarts == (12.0,)
    again = apply(cfg, after, [Action("restart", "web", "n1", intent="restart")], now=13.0)
    assert again.status("web").restarts == (12.0,)


def test_outcomes_must_match_actions() -> None:
    """One outcome per action, or none."""
    with pytest.raises(ValueError):
        apply(cluster(3), _snap(), [Action("fence", None, "n1")], [True, False])


def test_apply_does_not_change_its_input() -> None:
    """Snapshots are values: apply returns a new one."""
    cfg = cluster(3)
    snap = _snap()
    apply(cfg, snap, [Action("stop", "web", "n1", state="disabled")])
    assert snap.status("web").state == "started"


@pytest.mark.parametrize("no_fence", [[], ["n1"]])
def test_failed_disable_stop_keeps_the_disable(no_fence: list[str]) -> None:
    """An acknowledged disable survives its failed stop, with or without a fence method
    (the fence, or the administrator, ends it disabled); another failed stop drops a
    relocation's target as before."""
    cfg = cluster(3, no_fence=no_fence)
    after = apply(cfg, _snap(), [Action("stop", "web", "n1", state="disabled")], [False])
    st = after.status("web")
    assert (st.intent, st.stop_failed_on) == ("disable", "n1")
    moving = apply(cfg, _snap(), [Action("stop", "web", "n1", state="recovering",
                                         intent="relocate", target="n2")], [False])
    assert (moving.status("web").intent, moving.status("web").target) == (None, None)
