"""Maintenance mode on a 3-node testbed with the real ip + apache agents and the testbed
fence device: the whole cluster in maintenance lets a daemon be stopped (systemctl stop)
and started again without touching Apache; a service in maintenance whose Apache is killed
is shown failing and left alone until maintenance is off.

One module-scoped cluster; the S1 checker and the client's HTTP poller run all along.
Run under ``flock /work/netns.lock``.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from hacore.testing.pytest_fixtures import observed_hacore_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture(scope="module")
def hb():
    """The cluster with hacore running, observers on; S1 checked at the end."""
    for bed in observed_hacore_testbed(3):
        try:
            yield bed
        finally:  # never leave the daemons' SIGTERM at the end keeping Apache running
            for node in bed.c.nodes:
                if bed.daemon_pids(node):
                    bed.hacore(node, "cluster", "maintenance", "off", check=False, timeout=60)
                    break




def _apache(node) -> set[int]:
    return set(node.find_pids(r"apache2"))


def test_cluster_maintenance_daemon_restart_keeps_apache(hb):
    """Cluster maintenance on; SIGTERM to the owner's supervisor: Apache keeps answering
    from it, nobody fences it; its daemon started again adopts web (same Apache PIDs);
    maintenance off restarts nothing."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: hb.all_online(nodes["n1"]) and hb.web_owner(nodes["n1"]) is not None,
            90, "three members, web running")
    owner = nodes[hb.web_owner(nodes["n1"])]
    other = next(n for n in hb.c.nodes if n is not owner)
    assert hb.poller.wait_for_answer(node=owner.name, timeout=30) is not None
    out = hb.hacore(other, "cluster", "maintenance", "on")
    assert out.stdout.strip().startswith("the cluster is in maintenance: hacore will neither")
    text = hb.hacore(other, "status").stdout
    assert "MAINTENANCE" in text.splitlines()[0], text
    pids = _apache(owner)
    assert pids
    starts = len(hb.log_lines(r"(start|restart|stop) web on"))
    for pid in hb.daemon_pids(owner, "supervisor"):
        os.kill(pid, signal.SIGTERM)
    assert hb.procs[owner.name].wait(timeout=60) == 0, "the supervisor did not exit 0"
    stopped = time.monotonic()
    hb.wait(lambda: hb.log_lines(rf"{owner.name} left cleanly in maintenance"), 30,
            "the survivors saw a clean departure keeping web")
    assert hb.poller.first_answer_after(stopped, node=owner.name) or \
        hb.poller.wait_for_answer(node=owner.name, timeout=10), "Apache stopped answering"
    web = hb.web(other)
    assert web["owner"] == owner.name and "left with it running" in web["reason"], web
    time.sleep(3.0)  # the node-loss timeout thrice: a fence would have run by now
    assert not hb.log_lines(rf"fenc\w* (of )?{owner.name}\b"), "the node was fenced"
    assert _apache(owner) == pids
    hb.start_daemon(owner)
    hb.wait(lambda: hb.all_online(other), 90, "the node is back")
    hb.wait(lambda: hb.web_owner(other) == owner.name and hb.web_owner(owner) == owner.name, 60,
            "web adopted on its node")
    assert _apache(owner) == pids, "Apache was restarted"
    out = hb.hacore(other, "cluster", "maintenance", "off")
    assert out.stdout.strip() == "the cluster is out of maintenance: web running", out.stdout
    time.sleep(2.0)
    assert _apache(owner) == pids, "Apache was restarted after maintenance"
    assert len(hb.log_lines(r"(start|restart|stop) web on")) == starts, "web was acted on"
    assert hb.web_owner(other) == owner.name
    assert hb.poller.wait_for_answer(node=owner.name, timeout=10) is not None


def test_service_maintenance_killed_apache_is_shown_then_recovered(hb):
    """web in maintenance, its Apache killed by hand: status and why show the failing
    monitor, restart is refused, nothing restarts it; maintenance off recovers it."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: hb.all_online(nodes["n2"]) and hb.web_owner(nodes["n2"]) is not None,
            90, "three members, web running")
    owner = nodes[hb.web_owner(nodes["n2"])]
    other = next(n for n in hb.c.nodes if n is not owner)
    out = hb.hacore(other, "service", "maintenance", "on", "web")
    assert out.stdout.strip() == ("service web is in maintenance: hacore will neither start "
                                  "nor stop it")
    acted = len(hb.log_lines(r"(start|restart|stop) web on"))
    for pid in _apache(owner):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    hb.wait(lambda: f"its monitor on {owner.name} fails" in (hb.web(other) or {}).get(
        "reason", ""), 60, "the failed monitor in status")
    why = hb.hacore(other, "why", "web", check=False)
    assert why.returncode == 1, "why exits 1 for a service that does not run"
    why = why.stdout
    assert "in maintenance" in why and "hacore does nothing until maintenance is off" in why
    refused = hb.hacore(other, "service", "restart", "web", check=False)
    assert refused.returncode == 1 and "maintenance off web" in refused.stderr
    time.sleep(3.0)
    assert not _apache(owner), "Apache was restarted in maintenance"
    assert len(hb.log_lines(r"(start|restart|stop) web on")) == acted
    off = time.monotonic()
    out = hb.hacore(other, "service", "maintenance", "off", "web")
    assert out.stdout.strip().startswith("service web is out of maintenance: started on")
    hb.wait(lambda: hb.poller.first_answer_after(off), 60, "web answers again")
