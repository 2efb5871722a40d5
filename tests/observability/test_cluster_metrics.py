"""The metrics a node exports follow from its journal events and its view."""

from hacore.journal import Event, compose
from hacore.observability import ClusterMetrics, parse_exposition


def ev(seq, t, draft, incident=None):
    return Event(seq, t, "n1", draft["kind"], draft["message"], draft.get("service"),
                 incident, draft["fields"])


def test_a_failover_story_fills_the_counters_and_the_duration():
    """Node lost at t=100, web running again on n2 at t=107.5: one failover of 7.5 s, the
    operations timed, the fence counted."""
    m = ClusterMetrics("n1", "0.1.0")
    story = [
        ev(1, 100.0, compose.node_lost("n2", silent_for=1, services=["web"]), "I"),
        ev(2, 103.0, compose.fence("n2", ok=True, method="pdu", duration=3), "I"),
        ev(3, 104.0, compose.operation("start", service="web", resource="vip",
                                       result="succeeded", duration=0.2), "I"),
        ev(4, 106.0, compose.operation("start", service="web", resource="app",
                                       result="timeout", duration=2.0), "I"),
        ev(5, 107.5, compose.service_changed("web", change="started", owner="n3",
                                             previous_owner="n2"), "I"),
    ]
    for e in story:
        m.record_event(e)
    p = parse_exposition(m.exposition())
    assert p[("hacore_failovers_total", (("service", "web"),))] == 1
    assert p[("hacore_failover_duration_seconds_sum", (("service", "web"),))] == 7.5
    assert p[("hacore_failover_duration_seconds_bucket", (("le", "5"), ("service", "web")))] == 0
    assert p[("hacore_failover_duration_seconds_bucket", (("le", "10"), ("service", "web")))] == 1
    assert p[("hacore_fence_actions_total", (("result", "ok"), ("target", "n2")))] == 1
    assert p[("hacore_operation_failures_total",
              (("action", "start"), ("resource", "app"), ("result", "timeout")))] == 1
    assert p[("hacore_operation_duration_seconds_count",
              (("action", "start"), ("resource", "vip")))] == 1
    assert p[("hacore_membership_changes_total", (("change", "lost"),))] == 1
    assert p[("hacore_journal_events_total", (("kind", "operation"),))] == 2


def test_view_gauges_show_membership_quorum_and_instances():
    """Two instances of web (an S1 violation) show as 2; states are one-hot."""
    m = ClusterMetrics("n1")
    m.set_membership(members=2, configured=3, quorate=True, votes=2, needed=2)
    m.set_services({"web": ("started", 2), "db": ("stopped", 0)})
    p = parse_exposition(m.exposition())
    assert p[("hacore_membership_size", ())] == 2
    assert p[("hacore_quorate", ())] == 1
    assert p[("hacore_quorum_votes_needed", ())] == 2
    assert p[("hacore_service_active_instances", (("service", "web"),))] == 2
    assert p[("hacore_services_active", ())] == 1
    assert p[("hacore_service_state", (("service", "db"), ("state", "stopped")))] == 1
    assert p[("hacore_service_state", (("service", "db"), ("state", "started")))] == 0
    m.set_services({"db": ("started", 1)})
    p = parse_exposition(m.exposition())
    assert ("hacore_service_active_instances", (("service", "web"),)) not in p


def test_every_metric_is_documented():
    """docs/operations.md names every metric the node exports."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    m = ClusterMetrics("n1")
    for name in m.registry._metrics:
        assert f"`{name}`" in doc, f"{name} is not documented"
