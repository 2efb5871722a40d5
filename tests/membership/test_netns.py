"""Membership on the testbed: three nodes in namespaces behind a switch (crash, partition)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hacore.testing.pytest_fixtures import cluster_fixture, restore

pytestmark = [pytest.mark.netns, pytest.mark.slow]
testbed_cluster = cluster_fixture(nodes=3)
ROOT = Path(__file__).resolve().parents[2]
PORT = 5415


class Daemon:
    """The test node program running inside a testbed node; its JSON lines collected."""

    def __init__(self, cluster, node) -> None:  # type: ignore[no-untyped-def]
        addresses = ",".join(n.address for n in cluster.nodes)
        self.lines: list[dict] = []
        self.errors: list[str] = []
        self.proc = node.popen([sys.executable, "-m", "tests.membership.node_main", node.name,
                                "3", "0", str(PORT), addresses],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read_errors(self) -> None:
        for raw in self.proc.stderr:  # type: ignore[union-attr]
            self.errors.append(raw.rstrip())

    def _read(self) -> None:
        for raw in self.proc.stdout:  # type: ignore[union-attr]
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                pass

    def last(self) -> dict:
        found = [x for x in list(self.lines) if "lease" in x]
        return found[-1] if found else {}

    def started(self) -> int:
        return next(x["started"] for x in list(self.lines) if "started" in x)


def wait_until(what, timeout: float, daemons: list[Daemon]) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if what():
            return
        time.sleep(0.05)
    state = [(d.last(), d.errors[-5:]) for d in daemons]
    raise TimeoutError(f"not within {timeout} s; last samples and errors: {state}")


def agreed(daemons: list[Daemon], names: list[str], coordinator: str | None = None) -> bool:
    lasts = [d.last() for d in daemons]
    return all(x.get("quorate") and sorted(x.get("members", [])) == names
               and x.get("epoch") == lasts[0].get("epoch")
               and (coordinator is None or x.get("coordinator") == coordinator) for x in lasts)


@pytest.fixture
def c(testbed_cluster):  # type: ignore[no-untyped-def]
    started: list[Daemon] = []

    def start(node) -> Daemon:  # type: ignore[no-untyped-def]
        daemon = Daemon(testbed_cluster, node)
        started.append(daemon)
        return daemon

    testbed_cluster.start_daemon = start
    yield testbed_cluster
    for node in testbed_cluster.nodes:  # the programs themselves, by PID (nsenter's child)
        if node.up:
            for pid in node.find_pids(r"tests\.membership\.node_main"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
        daemon.proc.wait(10)
    restore(testbed_cluster)


def test_crash_and_reboot(c) -> None:  # type: ignore[no-untyped-def]
    """A crashed node (cable pulled, processes killed) leaves the view; booted again and
    restarted, it rejoins with a larger incarnation."""
    n3 = c.nodes[2]
    d1, d2, d3 = (c.start_daemon(n) for n in c.nodes)
    wait_until(lambda: agreed([d1, d2, d3], ["n1", "n2", "n3"]), 30, [d1, d2, d3])
    first = d3.started()
    c.crash(n3)
    wait_until(lambda: agreed([d1, d2], ["n1", "n2"], "n1"), 15, [d1, d2])
    c.boot(n3)
    d3b = c.start_daemon(n3)
    wait_until(lambda: agreed([d1, d2, d3b], ["n1", "n2", "n3"]), 30, [d1, d2, d3b])
    assert d3b.started() > first


def test_partition_2_1(c) -> None:  # type: ignore[no-untyped-def]
    """n1 (the coordinator) cut off from n2 and n3: n1 loses quorum and its lease, n2 and
    n3 agree on a view coordinated by n2; after healing all three agree again."""
    n1, n2, n3 = c.nodes
    d1, d2, d3 = (c.start_daemon(n) for n in c.nodes)
    wait_until(lambda: agreed([d1, d2, d3], ["n1", "n2", "n3"], "n1"), 30, [d1, d2, d3])
    c.partition([[n1], [n2, n3]])
    wait_until(lambda: not d1.last().get("quorate") and not d1.last().get("lease"), 15, [d1])
    wait_until(lambda: agreed([d2, d3], ["n2", "n3"], "n2"), 15, [d2, d3])
    c.heal()
    wait_until(lambda: agreed([d1, d2, d3], ["n1", "n2", "n3"]), 30, [d1, d2, d3])
