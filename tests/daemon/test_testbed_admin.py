"""hacore on a 3-node testbed whose fence device always fails: a monitor failure restarts
web in place then relocates it, ``hacore node leave`` and SIGTERM move web first and are
not fenced, and after a crash web waits for ``hacore fence ack`` (S3).

One module-scoped cluster; the S1 checker and the client's HTTP poller run all along, and
the module's last check is that S1 was never violated. Run under ``flock /work/netns.lock``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from hacore.daemon.testbed import HacoreTestbed
from hacore.testing.pytest_fixtures import observed_hacore_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]


class FailingFenceTestbed(HacoreTestbed):
    """The usual VIP + Apache, with a fence device that cannot reach its switch and web
    restarted in place once (max_restarts = 1) before it relocates."""

    def write_config(self) -> None:
        super().write_config()
        for node in self.c.nodes:
            path = Path(node.etc_dir) / "cluster.toml"
            text = path.read_text()
            text = text.replace(f'testbed_socket = "{self.c.control_socket}"',
                                'testbed_socket = "/nonexistent/fence.sock"')
            text = text.replace('recovery = "relocate"',
                                'recovery = "restart"\nmax_restarts = 1\n'
                                'restart_expire_time = 600')
            path.write_text(text)


@pytest.fixture(scope="module")
def hb():
    """The cluster with hacore running, observers on; S1 checked at the end."""
    yield from observed_hacore_testbed(3, FailingFenceTestbed)




def _kill_apache(node) -> None:
    pids = node.find_pids(r"apache2")
    assert pids, f"no apache2 on {node.name}"
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_monitor_failure_restarts_in_place_then_relocates(hb):
    """Apache killed on the owner: web restarts there (max_restarts = 1); killed again, web
    relocates to another node and answers from there."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: hb.web_owner(nodes["n2"]) is not None, 90, "web running")
    owner = nodes[hb.web_owner(nodes["n2"])]
    assert hb.poller.wait_for_answer(node=owner.name, timeout=30) is not None, hb.tail_logs()
    _kill_apache(owner)
    killed = time.monotonic()
    hb.wait(lambda: hb.log_lines(rf"restart web on {owner.name}"), 60, "restart decided")
    hb.wait(lambda: hb.poller.first_answer_after(killed + 0.5, node=owner.name), 60,
            "web answers again from its owner")
    assert hb.web_owner(nodes["n2"]) == owner.name
    hb.wait(lambda: owner.find_pids(r"apache2"), 30, "apache restarted")
    time.sleep(1.0)
    _kill_apache(owner)
    killed = time.monotonic()
    hb.wait(lambda: hb.web_owner(nodes["n2"]) not in (None, owner.name), 90, "web relocated")
    new = hb.web_owner(nodes["n2"])
    hb.wait(lambda: hb.poller.first_answer_after(killed, node=new), 60, "answers from " + new)


def test_leave_moves_web_first_and_is_not_fenced(hb):
    """hacore node leave on the owner: web moves first, the daemon exits 0, nobody fences
    it (its fence would fail and block recovery); started again it takes services again."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: hb.web_owner(nodes["n1"]) is not None, 90, "web running")
    leaver = nodes[hb.web_owner(nodes["n1"])]
    other = next(n for n in hb.c.nodes if n is not leaver)
    out = hb.hacore(leaver, "node", "leave", leaver.name, timeout=200)
    assert out.stdout.strip() == f"{leaver.name} left the cluster", out.stderr
    assert hb.procs[leaver.name].wait(timeout=30) == 0, "the supervisor did not exit 0"
    hb.wait(lambda: hb.web_owner(other) not in (None, leaver.name), 30, "web elsewhere")
    assert hb.poller.wait_for_answer(timeout=30) is not None
    hb.wait(lambda: hb.log_lines(rf"{leaver.name} left cleanly"), 30,
            "the survivors saw a clean departure")
    assert not hb.log_lines(rf"fenc\w* (of )?{leaver.name}\b"), "the leaver was fenced"
    hb.start_daemon(leaver)
    hb.wait(lambda: hb.all_online(other), 90, "the leaver is back")
    hb.wait(lambda: not any(m["standby"] for m in hb.status(other)["members"]), 60,
            "the leaver out of standby")


def test_sigterm_moves_web_first_and_is_not_fenced(hb):
    """SIGTERM to the owner's supervisor (systemctl stop): web moves first, the supervisor
    exits 0, nobody fences the node; started again, it rejoins."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: hb.all_online(nodes["n3"]) and hb.web_owner(nodes["n3"]) is not None,
            90, "three members, web running")
    owner = nodes[hb.web_owner(nodes["n3"])]
    other = next(n for n in hb.c.nodes if n is not owner)
    before = len(hb.log_lines(rf"{owner.name} left cleanly"))
    stops = len(hb.log_lines(rf"done: stop web on {owner.name}"))
    for pid in hb.daemon_pids(owner, "supervisor"):
        os.kill(pid, signal.SIGTERM)
    assert hb.procs[owner.name].wait(timeout=120) == 0, "the supervisor did not exit 0"
    assert len(hb.log_lines(rf"done: stop web on {owner.name}")) > stops, \
        "web was stopped by the shutdown, not moved by the coordinator's drain"
    hb.wait(lambda: hb.web_owner(other) not in (None, owner.name), 30, "web elsewhere")
    assert hb.poller.wait_for_answer(timeout=30) is not None
    hb.wait(lambda: len(hb.log_lines(rf"{owner.name} left cleanly")) > before, 30,
            "the survivors saw a clean departure")
    assert not hb.log_lines(rf"fenc\w* (of )?{owner.name}\b"), "the node was fenced"
    hb.start_daemon(owner)
    hb.wait(lambda: hb.all_online(other), 90, "the node is back")


def test_crash_waits_for_fence_ack(hb):
    """The owner crashes and its fence fails: web waits; fence ack of a member is refused
    (exit 1); fence ack of the crashed node lets web start elsewhere."""
    nodes = {n.name: n for n in hb.c.nodes}
    hb.wait(lambda: hb.all_online(nodes["n2"]) and hb.web_owner(nodes["n2"]) is not None,
            90, "three members, web running")
    victim = nodes[hb.web_owner(nodes["n2"])]
    others = [n for n in hb.c.nodes if n is not victim]
    hb.c.crash(victim)
    crashed = time.monotonic()
    hb.wait(lambda: hb.log_lines(rf"fence of {victim.name} FAILED"), 60, "a failed fence")
    time.sleep(3.0)
    assert hb.poller.first_answer_after(crashed + 0.5) is None, "recovered without a fence"
    refused = hb.hacore(others[0], "fence", "ack", others[1].name, check=False)
    assert refused.returncode == 1 and "is a member" in refused.stderr, refused.stderr
    out = hb.hacore(others[0], "fence", "ack", victim.name)
    assert "acknowledged as fenced" in out.stdout
    acked = time.monotonic()
    hb.wait(lambda: hb.poller.first_answer_after(acked), 60, "web answers after the ack")
    sample = hb.poller.first_answer_after(acked)
    assert sample.node in {n.name for n in others}
