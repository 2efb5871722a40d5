"""Which journal event is which alert topic."""

from hacore.alerts.topics import TOPICS, topic_of
from hacore.journal import compose


def topic(draft):
    return topic_of(draft["kind"], draft["fields"])


def test_each_fact_maps_to_its_topic():
    """Failover, service failure, fence failure, quorum loss and node loss are told apart."""
    assert topic(compose.service_changed("web", change="started", owner="n2",
                                         previous_owner="n1")) == "failover"
    assert topic(compose.service_changed("web", change="started", owner="n1")) == "service-started"
    assert topic(compose.service_changed("web", change="failed", owner="n1")) == "service-failed"
    assert topic(compose.fence("n2", ok=False, method=None, duration=30)) == "fence-failed"
    assert topic(compose.fence("n2", ok=True, method="pdu", duration=3)) == "node-fenced"
    assert topic(compose.quorum_changed(quorate=False, votes=1, needed=2)) == "quorum-lost"
    assert topic(compose.node_lost("n2", silent_for=1, services=[])) == "node-lost"
    assert topic(compose.operation("stop", service="web", resource="fs", result="timeout",
                                   duration=60)) == "operation-failed"
    assert topic(compose.operation("stop", service="web", resource="fs", result="succeeded",
                                   duration=1)) is None


def test_every_topic_is_documented():
    """Each topic has a description, and docs/operations.md lists it."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    for name, text in TOPICS.items():
        assert text
        assert f"`{name}`" in doc, f"topic {name} is not in docs/operations.md"
