"""decide(): single rules on hand-made snapshots."""

from __future__ import annotations

from hacore.policy import LostNode, Report, ServiceStatus, Snapshot, apply, decide
from hacore.policy.snapshot import initial_snapshot

from .helpers import cluster


def _kinds(actions: list) -> list[tuple[str, str | None, str | None]]:
    return [(a.kind, a.service, a.node) for a in actions]


def test_inquorate_partition_decides_nothing() -> None:
    """S2: without quorum decide returns no actions, not even for unplaced services."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0}, quorate=False)
    assert decide(cfg, snap, 0.0) == []


def test_lost_node_with_fence_method_is_fenced_and_service_waits() -> None:
    """S3: an unfenced lost node gets a fence action and its service is not started yet."""
    cfg = cluster(3)
    snap = Snapshot(members={"n2": 0, "n3": 0}, generation=1, lost={"n1": LostNode()},
                    services={"web": ServiceStatus("started", "n1", "n1")})
    assert _kinds(decide(cfg, snap, 0.0)) == [("fence", None, "n1")]


def test_fenced_lost_node_service_is_recovered() -> None:
    """S3: once the lost node is fenced its service starts on a survivor, saying why."""
    cfg = cluster(3)
    snap = Snapshot(members={"n2": 0, "n3": 0}, generation=1,
                    lost={"n1": LostNode(fenced=True)},
                    services={"web": ServiceStatus("started", "n1", "n1")})
    actions = decide(cfg, snap, 0.0)
    assert _kinds(actions) == [("start", "web", "n2")]
    assert "n1 left the membership and was fenced" in actions[0].reason


def test_without_fencing_service_waits_for_deadline() -> None:
    """S3 without fencing: nothing before the self-stop deadline, a start after it."""
    cfg = cluster(3, no_fence=["n1", "n2", "n3"])
    snap = Snapshot(members={"n2": 0, "n3": 0}, generation=1,
                    lost={"n1": LostNode(self_stop_deadline=30.0)},
                    services={"web": ServiceStatus("started", "n1", "n1")})
    assert decide(cfg, snap, 29.9) == []
    assert _kinds(decide(cfg, snap, 30.0)) == [("start", "web", "n2")]


def test_node_with_failed_stop_never_qualifies_by_deadline() -> None:
    """S3/S4: a lost node where a stop failed is never trusted to have stopped itself."""
    cfg = cluster(3, no_fence=["n1", "n2", "n3"], services={"web": {}, "db": {}})
    snap = Snapshot(members={"n2": 0, "n3": 0}, generation=1,
                    lost={"n1": LostNode(self_stop_deadline=30.0)},
                    services={"web": ServiceStatus("started", "n1", "n1"),
                              "db": ServiceStatus("failed", "n1", "n1", stop_failed_on="n1")})
    assert decide(cfg, snap, 1000.0) == []


def test_found_running_on_two_members_while_stopped_adopts_best_and_stops_other() -> None:
    """S1: a stopped service reported on two nodes is adopted on the preferred one only."""
    cfg = cluster(3, domains={"pref": {"members": ["n3", "n2"], "ordered": True}},
                  services={"web": {"domain": "pref"}})
    snap = Snapshot(members={"n1": 0, "n2": 0, "n3": 0},
                    services={"web": ServiceStatus("stopped")},
                    reports={"web": {"n2": Report("running"), "n3": Report("running")}})
    actions = decide(cfg, snap, 0.0)
    assert _kinds(actions) == [("set-state", "web", "n3"), ("stop", "web", "n2")]
    assert "ONE-OWNER VIOLATION" in actions[1].reason


def test_reports_from_lost_nodes_are_ignored() -> None:
    """A report from a node outside the membership does not count as a second copy."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0, "n2": 0}, lost={"n3": LostNode(fenced=True)},
                    services={"web": ServiceStatus("started", "n1", "n1")},
                    reports={"web": {"n3": Report("running")}})
    assert decide(cfg, snap, 0.0) == []


def test_steady_state_decides_nothing() -> None:
    """A placed, healthy cluster needs no action."""
    cfg = cluster(3, services={"a": {}, "b": {}, "c": {}})
    snap = apply(cfg, initial_snapshot(cfg), decide(cfg, initial_snapshot(cfg), 0.0))
    assert decide(cfg, snap, 0.0) == []


def test_new_service_without_autostart_is_disabled() -> None:
    """autostart=0: marked disabled when the cluster forms, never started."""
    cfg = cluster(2, services={"batch": {"autostart": False}})
    actions = decide(cfg, initial_snapshot(cfg), 0.0)
    assert [(a.kind, a.state) for a in actions] == [("set-state", "disabled")]


def test_frozen_service_is_left_alone() -> None:
    """A frozen service with a failed monitor gets no action."""
    cfg = cluster(2)
    snap = Snapshot(members={"n1": 0, "n2": 0},
                    services={"web": ServiceStatus("started", "n1", "n1", frozen=True)},
                    reports={"web": {"n1": Report("failed")}})
    assert decide(cfg, snap, 0.0) == []


def test_failback_needs_a_join_after_placement() -> None:
    """Ordered domain: a better node that was already up when the service started draws
    nothing; the same node having joined later draws the service back."""
    cfg = cluster(2, domains={"pref": {"members": ["n1", "n2"], "ordered": True}},
                  services={"web": {"domain": "pref"}})
    placed_after = Snapshot(members={"n1": 1, "n2": 0}, generation=2,
                            services={"web": ServiceStatus("started", "n2", "n2", placed_gen=2)})
    assert decide(cfg, placed_after, 0.0) == []
    placed_before = Snapshot(members={"n1": 2, "n2": 0}, generation=2,
                             services={"web": ServiceStatus("started", "n2", "n2",
                                                            placed_gen=1)})
    assert _kinds(decide(cfg, placed_before, 0.0)) == [("stop", "web", "n2")]


def test_monitor_reporting_stopped_counts_as_failure() -> None:
    """A monitor that finds the service not running triggers the recovery policy."""
    cfg = cluster(2, services={"web": {"recovery": "relocate"}})
    snap = Snapshot(members={"n1": 0, "n2": 0},
                    services={"web": ServiceStatus("started", "n1", "n1")},
                    reports={"web": {"n1": Report("stopped")}})
    actions = decide(cfg, snap, 0.0)
    assert [(a.kind, a.node, a.state, a.intent) for a in actions] == [
        ("stop", "n1", "recovering", "recover")]


def test_actions_carry_resources_in_order() -> None:
    """start lists resources in start order, stop in stop order."""
    cfg = cluster(2, services={"web": {"resources": ["vip", "fs", "apache"],
                                       "recovery": "relocate"}})
    start = decide(cfg, initial_snapshot(cfg), 0.0)[0]
    assert start.resources == ("vip", "fs", "apache")
    snap = apply(cfg, initial_snapshot(cfg), [start])
    snap = Snapshot(**{**{f: getattr(snap, f) for f in snap.__dataclass_fields__},
                       "reports": {"web": {start.node: Report("failed", "fs")}}})
    assert decide(cfg, snap, 0.0)[0].resources == ("apache", "fs", "vip")


def test_failed_stop_on_fenceable_member_fences_it() -> None:
    """S4: a service whose stop failed on a node with a fence method gets that node fenced."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0, "n2": 0, "n3": 0},
                    services={"web": ServiceStatus("recovering", "n1", "n1",
                                                   stop_failed_on="n1")})
    actions = decide(cfg, snap, 0.0)
    assert _kinds(actions) == [("fence", None, "n1")]
    assert "(S4)" in actions[0].reason


def test_service_starting_on_a_lost_node_is_recovered_once_fenced() -> None:
    """An in-flight start on a node that is then lost and fenced does not block recovery."""
    cfg = cluster(3)
    snap = Snapshot(members={"n2": 0, "n3": 0}, generation=1,
                    lost={"n1": LostNode(fenced=True)},
                    services={"web": ServiceStatus("starting", "n1", "n1")})
    assert _kinds(decide(cfg, snap, 0.0)) == [("start", "web", "n2")]


def test_in_flight_operation_on_a_member_waits() -> None:
    """A service starting or stopping on a member gets no new action until the outcome."""
    cfg = cluster(3)
    for state in ("starting", "stopping"):
        snap = Snapshot(members={"n1": 0, "n2": 0, "n3": 0},
                        services={"web": ServiceStatus(state, "n1", "n1")})
        assert decide(cfg, snap, 0.0) == []


def test_member_unknown_to_the_config_does_not_crash_s1_check() -> None:
    """A report from a member the config does not know is still handled deterministically."""
    cfg = cluster(2)
    snap = Snapshot(members={"n1": 0, "n2": 0, "x9": 0},
                    services={"web": ServiceStatus("started", "n1", "n1")},
                    reports={"web": {"x9": Report("running")}})
    assert _kinds(decide(cfg, snap, 0.0)) == [("stop", "web", "x9")]


def test_tie_goes_to_a_node_that_is_not_the_coordinator() -> None:
    """Equal load in one tier: the service starts beside the coordinator, which is named."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, coordinator="n1")
    actions = decide(cfg, snap, 0.0)
    assert _kinds(actions) == [("start", "web", "n2")]
    assert "n1 ties with it but coordinates the cluster" in actions[0].reason
    moved = Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, coordinator="n2")
    assert _kinds(decide(cfg, moved, 0.0)) == [("start", "web", "n1")]
    assert "coordinates" not in decide(cfg, moved, 0.0)[0].reason  # config order decided


def test_tie_break_never_outranks_load_or_domain_priority() -> None:
    """The coordinator still gets a service when it runs fewer, or is the domain's first."""
    cfg = cluster(3, services={"web": {}, "db": {}, "mail": {}})
    busy = Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, coordinator="n1",
                    services={"db": ServiceStatus("started", "n2", "n2"),
                              "mail": ServiceStatus("started", "n3", "n3"),
                              "web": ServiceStatus("stopped")})
    assert _kinds(decide(cfg, busy, 0.0)) == [("start", "web", "n1")]
    ordered = cluster(3, services={"web": {"domain": "pref"}},
                      domains={"pref": {"members": ["n1", "n2", "n3"], "ordered": True}})
    actions = decide(ordered, Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, coordinator="n1"),
                     0.0)
    assert _kinds(actions) == [("start", "web", "n1")]
    assert "priority 1" in actions[0].reason


def test_running_service_on_the_coordinator_is_not_moved() -> None:
    """Stickiness: a service running on the coordinator stays although others are idle."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, coordinator="n1", generation=3,
                    services={"web": ServiceStatus("started", "n1", "n1", placed_gen=0)})
    assert decide(cfg, snap, 0.0) == []
