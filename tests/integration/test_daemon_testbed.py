"""hacore daemons on a 3-node namespace testbed: a VIP + Apache that fails over after a fence.

One module-scoped cluster (built once), the S1 checker and the client's HTTP poller running
for the whole module; the module's last check is that S1 was never violated.
"""

from __future__ import annotations

import os
import time

import pytest

from hacore.testing.pytest_fixtures import observed_hacore_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture(scope="module")
def hb():
    """The cluster with hacore running, observers on; S1 checked at the end."""
    yield from observed_hacore_testbed(3)



def test_web_starts_where_the_policy_says_and_answers(hb):
    """web starts once on n2 (every node runs nothing; n1, the lowest id, coordinates, so
    the tie goes to the next node in config order) and answers HTTP from n2."""
    n1 = hb.c.nodes[0]
    hb.wait(lambda: hb.web_owner(n1) == "n2", 60, "web started on n2")
    sample = hb.poller.wait_for_answer(node="n2", timeout=30)
    assert sample is not None, hb.tail_logs()
    out = hb.hacore(n1, "status").stdout
    assert "Quorate" in out and "web" in out


def test_cli_relocate_disable_enable_freeze(hb):
    """relocate, disable, enable and freeze through the CLI on the testbed."""
    n1, n2, n3 = hb.c.nodes
    hb.wait(lambda: hb.web_owner(n2) is not None, 60, "web running")
    out = hb.hacore(n2, "service", "relocate", "web", "--to", "n3").stdout
    assert out.strip() == "service web is now running on n3"
    assert hb.poller.wait_for_answer(node="n3", timeout=30) is not None
    assert hb.hacore(n3, "service", "disable", "web").stdout.strip() == "service web is disabled"
    assert "disabled" in hb.hacore(n1, "status").stdout
    out = hb.hacore(n1, "service", "enable", "web", "--to", "n1").stdout
    assert out.strip() == "service web is now running on n1"
    assert hb.hacore(n1, "service", "freeze", "web").stdout.strip() == "service web is frozen"
    refused = hb.hacore(n1, "service", "relocate", "web", check=False)
    assert refused.returncode == 1 and "frozen" in refused.stderr
    hb.hacore(n1, "service", "unfreeze", "web")


def test_owner_crash_fails_over_after_the_fence(hb):
    """The owner crashes; after the testbed fence the VIP answers HTTP from another node."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: hb.web_owner(nodes["n2"]) is not None, 60, "web running")
    victim = nodes[hb.web_owner(nodes["n2"]) or "n1"]
    survivor = next(n for n in hb.c.nodes if n is not victim)
    hb.poller.wait_for_answer(node=victim.name, timeout=30)
    hb.c.crash(victim)
    crashed = time.monotonic()  # requests sent during crash() may still reach the victim
    sample = None
    deadline = time.monotonic() + 60
    while sample is None and time.monotonic() < deadline:
        sample = hb.poller.first_answer_after(crashed)
        time.sleep(0.1)
    assert sample is not None, "no HTTP answer after the crash\n" + hb.tail_logs()
    assert sample.node != victim.name
    assert hb.log_lines(rf"fenced {victim.name}"), "recovered without a logged fence"
    fence_at = hb.log_lines(rf"fence {victim.name}: ")
    assert fence_at, hb.tail_logs()
    web = hb.web(survivor)
    assert web["owner"] == sample.node and web["state"] == "started"
    # the fence device's reboot booted the victim anew: give it its daemon back
    hb.wait(lambda: victim.up, 30, f"{victim.name} booted by the fence")
    hb.start_daemon(victim)
    hb.wait(lambda: (hb.status(survivor) or {}).get("members") and all(
        m["state"] == "Online" for m in hb.status(survivor)["members"]), 60, "all members back")


def test_partitioned_owner_is_fenced_and_web_runs_once(hb):
    """The owner is cut off alone: the majority fences it and runs web; never both (S1)."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: all(m["state"] == "Online" for m in hb.status(nodes["n2"])["members"])
            and hb.web_owner(nodes["n2"]) is not None, 60, "three members, web running")
    victim = nodes[hb.web_owner(nodes["n2"]) or "n1"]
    others = [n for n in hb.c.nodes if n is not victim]
    hb.poller.wait_for_answer(node=victim.name, timeout=30)
    cut = time.monotonic()
    hb.c.partition([[victim], others])
    try:
        sample = None
        deadline = time.monotonic() + 60
        while sample is None and time.monotonic() < deadline:
            sample = hb.poller.first_answer_after(cut, node=None)
            if sample is not None and sample.node == victim.name:
                sample = None
                cut = time.monotonic()
            time.sleep(0.1)
        assert sample is not None and sample.node != victim.name, hb.tail_logs()
        assert hb.log_lines(rf"fenced {victim.name}"), hb.tail_logs()
    finally:
        hb.c.heal()
    hb.wait(lambda: victim.up, 30, f"{victim.name} booted by the fence")
    hb.start_daemon(victim)
    hb.wait(lambda: all(m["state"] == "Online" for m in hb.status(others[0])["members"]), 60,
            "all members back")
    assert len([s for s in hb.s1.violations]) == 0


def test_killed_daemon_supervisor_stops_resources(hb):
    """kill -9 of the owner's daemon: its supervisor stops the VIP and Apache; web runs once."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: all(m["state"] == "Online" for m in hb.status(nodes["n3"])["members"])
            and hb.web_owner(nodes["n3"]) is not None, 60, "three members, web running")
    victim = nodes[hb.web_owner(nodes["n3"]) or "n1"]
    others = [n for n in hb.c.nodes if n is not victim]
    pids = hb.daemon_pids(victim)
    assert len(pids) == 1, pids
    os.kill(pids[0], 9)
    hb.wait(lambda: hb.log_lines(rf"the daemon of {victim.name} died \(signal 9\)"), 30,
            "the supervisor noticed")
    hb.wait(lambda: hb.web_owner(others[0]) in {n.name for n in others}, 60, "web recovered")
    assert hb.poller.wait_for_answer(timeout=30) is not None
    hb.wait(lambda: victim.up, 30, f"{victim.name} up")
    if not hb.daemon_pids(victim, "supervisor"):
        hb.start_daemon(victim)  # the fence rebooted it
    hb.wait(lambda: all(m["state"] == "Online" for m in hb.status(others[0])["members"]), 90,
            "all members back")
