"""The rules of when to fence, as scenarios: the pure functions and the policy engine that
calls them agree (one source of truth)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scenarios.compact import build_config

from hacore.config.model import ClusterConfig, Timing
from hacore.fencing import rules
from hacore.policy import LostNode, ServiceStatus, apply, decide, initial_snapshot
from hacore.policy.facts import node_joined, node_lost


def _config(nodes: list[str], services: dict[str, Any] | None = None, **extra: Any
            ) -> ClusterConfig:
    data: dict[str, Any] = {"nodes": nodes, "services": services or {"web": {}}}
    data.update(extra)
    return build_config(data)


def _kinds(actions) -> list[str]:
    return [f"{a.kind} {a.service or ''} {a.node or ''}".replace("  ", " ").strip()
            for a in actions]


def _two_node(**timing: Any) -> ClusterConfig:
    cfg = _config(["n1", "n2"], {"web": {}, "db": {}},
                  quorum={"two_node": True, "expected_votes": 1})
    return replace(cfg, timing=Timing(**timing)) if timing else cfg


# --- two-node fence races -------------------------------------------------------------

def test_two_node_race_delays_fencing_of_the_node_running_the_services() -> None:
    """n2 runs web and db; when the link breaks, n1's fence of n2 waits 5 s while n2's fence
    of n1 goes at once, so n2 (the active node) wins the race."""
    cfg = _two_node()
    held = {"n2": 2}
    assert rules.favoured_node(cfg, held) == "n2"
    assert rules.two_node_fence_delay(cfg, "n2", held) == 5.0   # n1 about to fence n2: waits
    assert rules.two_node_fence_delay(cfg, "n1", held) == 0.0   # n2 about to fence n1: at once


def test_two_node_tie_favours_the_lowest_node_id_and_favour_overrides() -> None:
    """With no services (a tie) the lowest id wins; an explicit favoured node overrides."""
    cfg = _two_node(two_node_fence_delay=2.5)
    assert rules.favoured_node(cfg, {}) == "n1"
    assert rules.two_node_fence_delay(cfg, "n1", {}) == 2.5
    assert rules.two_node_fence_delay(cfg, "n2", {"n1": 3}, favour="n2") == 2.5
    assert rules.two_node_fence_delay(cfg, "n1", {"n1": 3}, favour="n2") == 0.0


def test_services_held_counts_what_a_snapshot_says_each_node_runs() -> None:
    """The counts come from service states: started/starting/stopping count, stopped does not."""
    services = {"a": ServiceStatus("started", "n1"), "b": ServiceStatus("stopping", "n1"),
                "c": ServiceStatus("started", "n2"), "d": ServiceStatus("stopped", None)}
    assert rules.services_held(services) == {"n1": 2, "n2": 1}


def test_no_fence_delay_outside_two_node_mode() -> None:
    """Three nodes, or a delay of 0, never delay a fence."""
    three = _config(["n1", "n2", "n3"])
    assert rules.two_node_fence_delay(three, "n1", {"n1": 5}) == 0.0
    assert rules.two_node_fence_delay(_two_node(two_node_fence_delay=0.0), "n1", {}) == 0.0


# --- startup fencing ------------------------------------------------------------------

def test_startup_fencing_fences_absent_node_before_services_that_could_run_there() -> None:
    """n3 is absent when n1+n2 form the cluster: it is fenced first; web (could run on n3)
    waits for that fence, while pinned (restricted to n1, n2) starts at once."""
    cfg = _config(["n1", "n2", "n3"], {"web": {}, "pinned": {"domain": "d"}},
                  domains={"d": {"members": ["n1", "n2"], "restricted": True}})
    assert rules.startup_fence_targets(cfg, ["n1", "n2"]) == ("n3",)
    snap = initial_snapshot(cfg, ["n1", "n2"])
    first = decide(cfg, snap, 0.0)
    assert _kinds(first) == ["fence n3", "start pinned n2"]  # n2: n1 coordinates
    after = apply(cfg, snap, first)
    assert _kinds(decide(cfg, after, 0.0)) == ["start web n1"]


def test_a_failed_startup_fence_keeps_the_service_waiting() -> None:
    """When the startup fence of n3 fails, web still does not start and n3 is fenced again."""
    cfg = _config(["n1", "n2", "n3"])
    snap = initial_snapshot(cfg, ["n1", "n2"])
    first = decide(cfg, snap, 0.0)
    failed = apply(cfg, snap, first, [False])
    assert _kinds(decide(cfg, failed, 1.0)) == ["fence n3"]
    assert rules.startup_fence_pending(cfg, failed.lost, ["n1", "n2", "n3"]) == ("n3",)


def test_startup_fencing_off_starts_at_once() -> None:
    """timing.startup_fencing = false (clean_start): no fence, the service starts."""
    cfg = replace(_config(["n1", "n2", "n3"]), timing=Timing(startup_fencing=False))
    assert rules.startup_fence_targets(cfg, ["n1", "n2"]) == ()
    assert _kinds(decide(cfg, initial_snapshot(cfg, ["n1", "n2"]), 0.0)) == ["start web n2"]


def test_startup_fence_waits_post_join_delay() -> None:
    """Startup fencing is due post_join_delay after first quorum, not before."""
    cfg = replace(_config(["n1", "n2", "n3"]), timing=Timing(post_join_delay=3.0))
    assert not rules.startup_fence_due(cfg, quorate_since=100.0, now=102.9)
    assert rules.startup_fence_due(cfg, quorate_since=100.0, now=103.0)


def test_absent_node_without_fencing_does_not_block_startup() -> None:
    """A node with no fence method cannot be fenced, so it holds nothing back (the config
    checks already require fencing where split brain is possible)."""
    cfg = _config(["n1", "n2", "n3"], no_fence=["n3"])
    snap = initial_snapshot(cfg, ["n1", "n2"])
    assert rules.startup_fence_pending(cfg, snap.lost, ["n3"]) == ()
    assert _kinds(decide(cfg, snap, 0.0)) == ["start web n2"]


# --- no fence loop (wait_for_all) -----------------------------------------------------

def test_fenced_node_that_boots_alone_does_not_fence_its_peer() -> None:
    """Two-node cluster: n1 was fenced and boots while the link to n2 is still down. It has
    not seen n2 since it started, so it is not quorate and fences nobody: no fence loop."""
    cfg = _two_node()
    assert not rules.fencing_allowed(cfg, ["n1"], seen_all=False)
    snap = initial_snapshot(cfg, ["n1"])
    assert not snap.quorate and "n2" in snap.lost
    assert decide(cfg, snap, 0.0) == []
    # once both were seen together, a later loss of n2 is fenced as usual
    together = node_joined(cfg, snap, "n2", seen_all=True)
    assert rules.fencing_allowed(cfg, together.members, seen_all=True)
    lost = node_lost(cfg, together, "n2", last_heard=0.0, seen_all=True)
    assert rules.fencing_allowed(cfg, ["n1"], seen_all=True)
    assert "fence n2" in _kinds(decide(cfg, lost, 0.0))


def test_minority_partition_is_not_allowed_to_fence() -> None:
    """In a three-node cluster a node alone (1 of 3 votes) may not fence the others."""
    cfg = _config(["n1", "n2", "n3"])
    assert not rules.fencing_allowed(cfg, ["n1"], seen_all=True)
    assert rules.fencing_allowed(cfg, ["n1", "n2"], seen_all=True)


# --- S3 and S4 ------------------------------------------------------------------------

def test_lost_node_is_fenced_before_its_services_are_recovered() -> None:
    """S3: n1 runs web and is lost: it is fenced first, web starts elsewhere only after."""
    cfg = _config(["n1", "n2", "n3"])
    snap = initial_snapshot(cfg)
    snap = apply(cfg, snap, decide(cfg, snap, 0.0))
    owner = snap.services["web"].owner
    lost = node_lost(cfg, snap, owner, last_heard=0.0)
    assert rules.must_fence_lost(cfg, owner, lost.lost[owner], lost.members)
    assert rules.recovery_clearance(lost.lost[owner], 0.0, stop_failed=False) is None
    assert _kinds(decide(cfg, lost, 0.0)) == [f"fence {owner}"]
    fenced = apply(cfg, lost, decide(cfg, lost, 0.0))
    assert rules.recovery_clearance(fenced.lost[owner], 0.0, stop_failed=False) == "fenced"
    assert _kinds(decide(cfg, fenced, 0.0))[0].startswith("start web")


def test_recovery_by_deadline_never_after_a_failed_stop() -> None:
    """Without fencing, a passed self-stop deadline clears recovery, unless a stop failed."""
    gone = LostNode(fenced=False, self_stop_deadline=10.0)
    assert rules.recovery_clearance(gone, 9.9, stop_failed=False) is None
    assert rules.recovery_clearance(gone, 10.0, stop_failed=False) == "deadline"
    assert rules.recovery_clearance(gone, 99.0, stop_failed=True) is None
    assert rules.recovery_clearance(LostNode(fenced=True), 0.0, stop_failed=True) == "fenced"


def test_failed_stop_fences_or_marks_failed() -> None:
    """S4: a failed stop on a fenceable node fences it; without a fence method the service
    is marked failed, and the policy engine does the same."""
    cfg = _config(["n1", "n2"], no_fence=["n2"])
    assert rules.stop_failure_response(cfg, "n1") == "fence"
    assert rules.stop_failure_response(cfg, "n2") == "mark-failed"
    snap = initial_snapshot(cfg)
    for node, expect in (("n1", "fence n1"), ("n2", "set-state web n2")):
        st = ServiceStatus("recovering", node, stop_failed_on=node)
        got = _kinds(decide(cfg, replace(snap, services={"web": st}), 0.0))
        assert got == [expect]


def test_why_names_the_startup_fence_a_service_waits_for() -> None:
    """waiting_reasons says a first-time service waits for the startup fence of n3."""
    from hacore.policy.why import waiting_reasons

    cfg = _config(["n1", "n2", "n3"])
    snap = initial_snapshot(cfg, ["n1", "n2"])
    assert waiting_reasons(cfg, snap, 0.0) == {
        "web": "waits for the startup fence of n3: it may still run there from before the "
               "cluster formed"}
