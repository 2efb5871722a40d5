"""hacore on a 5-node testbed (VIP + Apache, the testbed fence device): a crash of the
coordinator that leaves the other nodes' services alone; a 2|3 partition
with the owner in the minority, the heal; a copy started by hand on another node; a
whole-cluster restart that remembers a disabled service (S5).

One module-scoped cluster; the S1 checker and the client's HTTP poller run all along, and
the module's last check is that S1 was never violated. Run under ``flock /work/netns.lock``.
"""

from __future__ import annotations

import time

import pytest

from hacore.testing.pytest_fixtures import observed_hacore_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture(scope="module")
def hb():
    """Five nodes with hacore running, observers on; S1 checked at the end."""
    yield from observed_hacore_testbed(5)


def _web(bed, via):
    return bed.web(via) or {}


def _starts(bed) -> int:
    """How many starts of web any daemon has logged as done."""
    return len(bed.log_lines(r"done: start web on "))


def test_coordinator_crash_leaves_the_survivors_services_running(hb):
    """The coordinator (not web's owner) crashes: while the survivors elect a new one they
    still hear a quorum of votes, so the no-quorum rule waits (election grace) and web is
    neither stopped nor started again on its owner; the crashed node is fenced and rejoins."""
    nodes = hb.c.nodes
    hb.wait(lambda: hb.all_online(nodes[0]) and hb.web_owner(nodes[0]) is not None, 120,
            "five members, web running")
    coordinator = hb.status(nodes[0])["coordinator"]
    if hb.web_owner(nodes[0]) == coordinator:
        other = next(n.name for n in nodes if n.name != coordinator)
        hb.hacore(nodes[0], "service", "relocate", "web", "--to", other)
    owner = hb.web_owner(nodes[0])
    assert owner is not None and owner != coordinator
    crashed = next(n for n in nodes if n.name == coordinator)
    survivor = next(n for n in nodes if n.name not in (coordinator, owner))
    starts, stops = _starts(hb), len(hb.log_lines(r"stop web on "))
    hb.c.crash(crashed)
    hb.wait(lambda: hb.log_lines(rf"fenced {coordinator}\b"), 60, f"{coordinator} fenced")
    hb.wait(lambda: (hb.status(survivor) or {}).get("coordinator") not in (None, coordinator),
            60, "a new coordinator")
    time.sleep(2.0)
    assert hb.web_owner(survivor) == owner, "web moved although its owner never failed"
    assert len(hb.log_lines(r"stop web on ")) == stops, "web was stopped during the election"
    assert _starts(hb) == starts, "web was started again during the election"
    hb.wait(lambda: crashed.up, 60, f"{coordinator} booted by the fence")
    hb.start_daemon(crashed)
    hb.wait(lambda: hb.all_online(survivor), 120, "all five members back")


def test_partition_2_3_minority_stops_majority_fences_and_runs(hb):
    """The owner and one other node are cut off from three: the minority stops web (no
    quorum), the majority fences both and runs web; after the heal the fenced nodes rejoin
    and web is not started again. S1 holds all along."""
    nodes = hb.c.nodes
    hb.wait(lambda: hb.all_online(nodes[4]) and hb.web_owner(nodes[4]) is not None, 120,
            "five members, web running")
    owner = next(n for n in nodes if n.name == hb.web_owner(nodes[4]))
    minority = [owner] + [n for n in nodes if n is not owner][:1]
    majority = [n for n in nodes if n not in minority]
    hb.poller.wait_for_answer(node=owner.name, timeout=30)
    cut = time.monotonic()
    hb.c.partition([minority, majority])
    try:
        hb.wait(lambda: hb.log_lines(rf"stop web on {owner.name}: .*lost quorum"), 60,
                "the minority stops web (S2)")
        hb.wait(lambda: hb.web_owner(majority[0]) in {n.name for n in majority}, 90,
                "web runs in the majority")
        new = hb.web_owner(majority[0])
        hb.wait(lambda: hb.poller.first_answer_after(cut, node=new), 60, "answers from " + new)
        for node in minority:
            hb.wait(lambda node=node: hb.log_lines(rf"fenced {node.name}\b"), 60,
                    f"{node.name} fenced")
    finally:
        hb.c.heal()
    starts = _starts(hb)
    for node in minority:
        hb.wait(lambda node=node: node.up, 60, f"{node.name} booted by the fence")
        hb.start_daemon(node)
    hb.wait(lambda: hb.all_online(majority[0]), 120, "all five members back")
    time.sleep(3.0)
    assert hb.web_owner(majority[0]) == new, "web moved when the partition healed"
    assert _starts(hb) == starts, "web was started again after the heal"


def test_copy_started_by_hand_is_found_and_stopped(hb):
    """web disabled; its address added by hand on a node is found by the idle probe (every
    60 s) and stopped, and web stays disabled."""
    nodes = hb.c.nodes
    hb.wait(lambda: hb.all_online(nodes[0]) and hb.web_owner(nodes[0]) is not None, 120,
            "web running")
    out = hb.hacore(nodes[0], "service", "disable", "web")
    assert out.stdout.strip() == "service web is disabled"
    node = nodes[2]
    node.run(["ip", "addr", "add", f"{hb.vip}/24", "dev", "eth0"])
    added = time.monotonic()

    def gone():
        out = node.run(["ip", "-o", "addr", "show"], check=False).stdout
        return f"{hb.vip}/" not in out

    hb.wait(gone, 180, f"the address on {node.name} stopped by the cluster")
    assert time.monotonic() - added > 0.0
    assert hb.log_lines(rf"stop web on {node.name}")
    assert _web(hb, nodes[1]).get("state") == "disabled"


def test_whole_cluster_restart_remembers_the_disabled_service(hb):
    """Every daemon stopped and started again: web is still disabled (S5) and nothing
    answers on its address."""
    nodes = hb.c.nodes
    if _web(hb, nodes[0]).get("state") != "disabled":
        hb.hacore(nodes[0], "service", "disable", "web")
    hb.stop()
    assert all(not hb.daemon_pids(n) for n in nodes)
    for node in nodes:
        hb.start_daemon(node)
    hb.wait(lambda: hb.all_online(nodes[3]) and _web(hb, nodes[3]).get("state"), 120,
            "the cluster formed again")
    restarted = time.monotonic()
    time.sleep(5.0)
    assert _web(hb, nodes[3])["state"] == "disabled"
    assert hb.poller.first_answer_after(restarted) is None
    out = hb.hacore(nodes[1], "service", "enable", "web")
    assert out.stdout.strip().startswith("service web is now running on")
    assert hb.poller.wait_for_answer(timeout=60) is not None
