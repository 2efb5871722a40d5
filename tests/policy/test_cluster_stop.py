"""decide() during `hacore cluster stop` (Snapshot.cluster_stop): reverse start order, stops
where services run, nothing started or moved, intents kept."""

from __future__ import annotations

from dataclasses import replace

from hacore.policy import LostNode, Report, ServiceStatus, Snapshot, apply, decide
from hacore.policy.cluster_stop import stop_order, stop_outcome

from .helpers import cluster

STOPPING = {"n1": 1, "n2": 1, "n3": 1}
MEMBERS = {"n1": 0, "n2": 0, "n3": 0}


def _chain():
    """app -> web -> db (each depends on the next), and batch on its own."""
    return cluster(3, {"db": {}, "web": {"depend": "db"},
                       "app": {"depend": "web", "depend_mode": "soft"}, "batch": {}})


def _running(cfg, owners: dict[str, str]) -> Snapshot:
    return Snapshot(members=MEMBERS, generation=1, cluster_stop=STOPPING,
                    services={s: ServiceStatus("started", n, n) for s, n in owners.items()})


def _play(cfg, snap: Snapshot, fail: set[str] = frozenset()) -> tuple[list[list], Snapshot]:
    """Run decide/apply rounds until nothing is left to do: the actions of each round."""
    rounds = []
    for _ in range(20):
        actions = decide(cfg, snap, 100.0)
        if not actions:
            return rounds, snap
        rounds.append([(a.kind, a.service, a.node, a.state) for a in actions])
        snap = apply(cfg, snap, actions, [not (a.kind == "stop" and a.service in fail)
                                          for a in actions], now=100.0)
    raise AssertionError(f"no end after 20 rounds: {rounds}")


def test_services_stop_in_reverse_dependency_order_where_they_run():
    """app stops first (with batch), then web, then db, each on its owner, ending stopped."""
    cfg = _chain()
    snap = _running(cfg, {"db": "n1", "web": "n2", "app": "n3", "batch": "n1"})
    rounds, end = _play(cfg, snap)
    assert rounds == [[("stop", "batch", "n1", "stopped"), ("stop", "app", "n3", "stopped")],
                      [("stop", "web", "n2", "stopped")],
                      [("stop", "db", "n1", "stopped")]]
    assert stop_order(cfg) == [["batch", "app"], ["web"], ["db"]]
    assert all(st.state == "stopped" and st.owner is None for st in end.services.values())
    assert stop_outcome(cfg, end) == ([], [])


def test_nothing_starts_while_stopping_not_even_on_a_node_that_joins():
    """Stopped and never-placed services stay stopped, with a member that just joined."""
    cfg = cluster(4, {"web": {}, "db": {}, "new": {}})
    snap = Snapshot(members={**MEMBERS, "n4": 2}, generation=2, cluster_stop=STOPPING,
                    services={"web": ServiceStatus("stopped", None, "n1"),
                              "db": ServiceStatus("recovering", None, "n2", intent="relocate",
                                                  target="n3")})
    actions = decide(cfg, snap, 100.0)
    assert [(a.kind, a.service, a.state) for a in actions] == [("set-state", "db", "stopped")]
    end = apply(cfg, snap, actions)
    assert decide(cfg, end, 100.0) == []
    assert decide(cfg, replace(end, cluster_stop={}), 100.0), "the usual policy would start"


def test_a_lost_owner_is_fenced_then_its_service_is_marked_stopped_not_moved():
    """S3 still holds (fence first), and then the service is not recovered elsewhere."""
    cfg = cluster(3)
    snap = Snapshot(members={"n2": 0, "n3": 0}, generation=1, lost={"n1": LostNode()},
                    cluster_stop=STOPPING, services={"web": ServiceStatus("started", "n1", "n1")})
    assert [(a.kind, a.node) for a in decide(cfg, snap, 100.0)] == [("fence", "n1")]
    fenced = replace(snap, lost={"n1": LostNode(fenced=True)})
    actions = decide(cfg, fenced, 100.0)
    assert [(a.kind, a.service, a.state) for a in actions] == [("set-state", "web", "stopped")]
    assert "not started elsewhere" in actions[0].reason


def test_a_failed_stop_marks_the_service_failed_without_fencing_and_holds_its_dependency():
    """web's stop fails on n2 (fenceable): web is failed there, nobody is fenced, db (which
    web depends on) keeps running; the outcome names web on n2."""
    cfg = _chain()
    snap = _running(cfg, {"db": "n1", "web": "n2"})
    rounds, end = _play(cfg, snap, fail={"web"})
    kinds = [a for r in rounds for a in r]
    assert ("stop", "web", "n2", "stopped") in kinds
    assert not [a for a in kinds if a[0] == "fence" or a[1] == "db"], kinds
    assert end.services["web"].state == "failed" and end.services["web"].owner == "n2"
    assert stop_outcome(cfg, end) == ([("web", "n2")], [("db", "n1")])


def test_intents_stay_disabled_stays_disabled_and_a_pending_disable_ends_disabled():
    """A disabled service is left alone; one being disabled ends disabled; frozen stops."""
    cfg = cluster(3, {"web": {}, "db": {}, "old": {}})
    snap = Snapshot(members=MEMBERS, generation=1, cluster_stop=STOPPING, services={
        "web": ServiceStatus("started", "n1", "n1", frozen=True),
        "db": ServiceStatus("started", "n2", "n2", intent="disable"),
        "old": ServiceStatus("disabled", None, "n3")})
    _rounds, end = _play(cfg, snap)
    assert {s: st.state for s, st in end.services.items()} == {
        "web": "stopped", "db": "disabled", "old": "disabled"}
    assert end.services["web"].frozen


def test_a_stray_copy_is_stopped_where_it_was_found():
    """A copy reported running on a node that does not own it is stopped there too."""
    cfg = cluster(3)
    snap = replace(_running(cfg, {"web": "n1"}),
                   reports={"web": {"n3": Report("running")}})
    actions = decide(cfg, snap, 100.0)
    assert [(a.kind, a.node, a.state) for a in actions] == [("stop", "n3", None),
                                                          ("stop", "n1", "stopped")]
