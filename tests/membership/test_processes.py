"""Nodes as real processes: killed (a crash) and stopped with SIGSTOP (a stall)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .cluster import free_port

ROOT = Path(__file__).resolve().parents[2]


class NodeProcess:
    """A node process whose JSON lines are collected by a reader thread."""

    def __init__(self, name: str, count: int, subnet: int, port: int) -> None:
        self.name = name
        self.lines: list[dict] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.membership.node_main", name, str(count), str(subnet),
             str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(json.loads(raw))

    def samples(self) -> list[dict]:
        return [x for x in list(self.lines) if "lease" in x]

    def last(self) -> dict:
        found = self.samples()
        return found[-1] if found else {}

    def events(self) -> list[dict]:
        return [x for x in list(self.lines) if "event" in x]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def wait_until(what, timeout: float) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if what():
            return
        time.sleep(0.05)
    raise TimeoutError(f"not within {timeout} s")


@pytest.fixture
def processes():  # type: ignore[no-untyped-def]
    started: list[NodeProcess] = []
    subnet, port = random.randrange(10, 250), free_port()

    def start(name: str, count: int = 3) -> NodeProcess:
        node = NodeProcess(name, count, subnet, port)
        started.append(node)
        return node

    yield start
    for node in started:
        try:
            os.kill(node.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        node.kill()


def agreed(nodes: list[NodeProcess], names: list[str]) -> bool:
    lasts = [n.last() for n in nodes]
    return all(x.get("quorate") and sorted(x.get("members", [])) == names
               and x.get("epoch") == lasts[0].get("epoch") for x in lasts)


@pytest.mark.slow
def test_killed_process_is_lost_and_its_restart_rejoins(processes) -> None:
    """SIGKILL of a node's process: the others drop it; a new process rejoins with a new
    incarnation."""
    n1, n2, n3 = processes("n1"), processes("n2"), processes("n3")
    wait_until(lambda: agreed([n1, n2, n3], ["n1", "n2", "n3"]), 30)
    first = next(x["started"] for x in n3.lines if "started" in x)
    n3.kill()
    wait_until(lambda: agreed([n1, n2], ["n1", "n2"]), 15)
    assert any("n3" in e["left"] for e in n1.events())
    n3b = processes("n3")
    wait_until(lambda: agreed([n1, n2, n3b], ["n1", "n2", "n3"]), 30)
    assert next(x["started"] for x in n3b.lines if "started" in x) > first


@pytest.mark.slow
def test_stopped_coordinator_wakes_without_stale_quorum(processes) -> None:
    """The coordinator is stopped (SIGSTOP) for 3x the timeout: the others elect a new one;
    on waking it declares nobody lost, holds no lease at its first samples (no stale
    quorum), reports a stall, then rejoins as a member."""
    n1, n2, n3 = processes("n1"), processes("n2"), processes("n3")
    wait_until(lambda: agreed([n1, n2, n3], ["n1", "n2", "n3"]), 30)
    wait_until(lambda: n1.last().get("lease") and n1.last().get("coordinator") == "n1", 10)
    os.kill(n1.proc.pid, signal.SIGSTOP)
    stopped_at = time.monotonic()
    wait_until(lambda: agreed([n2, n3], ["n2", "n3"]), 15)
    assert n2.last()["coordinator"] == "n2"
    time.sleep(max(0.0, stopped_at + 3.0 - time.monotonic()))
    before = len(n1.lines)
    os.kill(n1.proc.pid, signal.SIGCONT)
    wait_until(lambda: agreed([n1, n2, n3], ["n1", "n2", "n3"]), 30)
    after = n1.lines[before:]
    samples = [x for x in after if "lease" in x]
    assert samples and samples[0]["lease"] is False and samples[0]["quorate"] is False
    events = [x for x in after if "event" in x]
    assert events[0]["event"] == "stall"
    assert not any(e["left"] for e in events), events  # nobody declared dead on waking
    first_lease = next(i for i, x in enumerate(samples) if x["lease"])
    assert samples[first_lease]["coordinator"] == "n2"  # renewed from the new coordinator
