"""Incident ids: a fault opens one, the recovery's events carry it, then it closes."""

from hacore.journal import Journal, compose


def test_a_node_loss_ties_detection_fence_decision_and_start_together(tmp_path):
    """n2 lost -> fence decision, fence, start decision, operations, service started all
    carry the incident; the next unrelated event does not."""
    with Journal(tmp_path, "n1") as j:
        before = j.append(**compose.node_joined("n3"))
        lost = j.append(**compose.node_lost("n2", silent_for=1.0, services=["web"]))
        chain = [
            j.append(**compose.decision("fence", service=None, target="n2", reason="S3")),
            j.append(**compose.fence("n2", ok=True, method="ipmi", duration=2.0)),
            j.append(**compose.decision("start", service="web", target="n1", reason="fenced")),
            j.append(**compose.operation("start", service="web", resource="vip",
                                         result="succeeded", duration=0.1)),
            j.append(**compose.service_changed("web", change="started", owner="n1",
                                               previous_owner="n2")),
        ]
        after = j.append(**compose.operation("monitor", service="web", resource="vip",
                                             result="succeeded", duration=0.01))
    assert before.incident is None
    assert lost.incident and lost.incident.endswith("-n1-2")
    assert [e.incident for e in chain] == [lost.incident] * len(chain)
    assert after.incident is None


def test_a_service_failure_opens_its_own_incident(tmp_path):
    """Two separate failures get two different ids; each restart carries its own."""
    with Journal(tmp_path, "n1") as j:
        ids = []
        for _ in range(2):
            fail = j.append(**compose.service_changed("web", change="failed", owner="n1"))
            stop = j.append(**compose.operation("stop", service="web", resource="vip",
                                                result="succeeded", duration=0.1))
            up = j.append(**compose.service_changed("web", change="started", owner="n1"))
            assert stop.incident == up.incident == fail.incident
            ids.append(fail.incident)
    assert ids[0] != ids[1]


def test_other_services_do_not_join_an_incident(tmp_path):
    """Events about a service the fault did not touch carry no incident."""
    with Journal(tmp_path, "n1") as j:
        j.append(**compose.node_lost("n2", silent_for=1.0, services=["web"]))
        other = j.append(**compose.operation("start", service="db", resource="data",
                                             result="succeeded", duration=1.0))
    assert other.incident is None


def test_a_failure_during_recovery_stays_in_the_same_incident(tmp_path):
    """A failed start while web is being recovered is part of the node-loss incident."""
    with Journal(tmp_path, "n1") as j:
        lost = j.append(**compose.node_lost("n2", silent_for=1.0, services=["web"]))
        failed = j.append(**compose.service_changed("web", change="failed", owner="n1"))
    assert failed.incident == lost.incident


def test_an_explicit_incident_is_kept(tmp_path):
    """An operation on another node, handed the coordinator's id, carries it."""
    with Journal(tmp_path, "n2") as j:
        e = j.append(**compose.operation("start", service="web", resource="vip",
                                         result="succeeded", duration=0.1),
                     incident="20261127-081512-n1-7")
    assert e.incident == "20261127-081512-n1-7"


def test_a_lost_node_that_ran_nothing_keeps_its_incident_until_it_joins(tmp_path):
    """Its fence carries the incident; its return closes it."""
    with Journal(tmp_path, "n1") as j:
        lost = j.append(**compose.node_lost("n3", silent_for=1.0, services=[]))
        fenced = j.append(**compose.fence("n3", ok=True, method="pdu", duration=1.0))
        joined = j.append(**compose.node_joined("n3"))
        later = j.append(**compose.fence("n3", ok=True, method="pdu", duration=1.0))
    assert fenced.incident == joined.incident == lost.incident
    assert later.incident is None
