"""The testbed cleans up after itself when its process is terminated or killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hacore.testing import remove_stale_testbeds
from hacore.testing.cgroups import cgroup2_root
from hacore.testing.pytest_fixtures import skip_unless_testbed

pytestmark = pytest.mark.netns

SCRIPT = """
import time
from hacore.testing import Cluster
with Cluster(nodes=2) as c:
    c.nodes[0].popen(["sleep", "900"])
    print(c.prefix, c.nodes[0].pid1, c.nodes[1].pid1, flush=True)
    time.sleep(120)
"""


def start_testbed_process():
    skip_unless_testbed()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    prefix, *pids = proc.stdout.readline().split()
    assert prefix, "the child did not build its testbed"
    return proc, prefix, [int(p) for p in pids]


def traces(prefix):
    """Everything on the host that still carries the testbed's prefix."""
    found = [n for n in os.listdir("/run/netns") if n.startswith(prefix + "-")]
    found += [str(p) for p in cgroup2_root().glob(f"hacore-testbed-{prefix}")]
    found += [str(p) for p in Path("/var/tmp").glob(f"hacore-testbed-{prefix}-*")]
    return found


def wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.02)
    return not any(os.path.exists(f"/proc/{p}") for p in pids)


def test_sigterm_tears_the_testbed_down():
    """SIGTERM to a process holding a Cluster removes its nodes, namespaces, cgroups and dirs."""
    proc, prefix, pids = start_testbed_process()
    assert traces(prefix)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    assert wait_gone(pids)
    assert traces(prefix) == []


def test_sigkill_takes_nodes_down_and_leftovers_are_removable():
    """After SIGKILL of its process every node dies by itself; remove_stale_testbeds clears the rest."""
    proc, prefix, pids = start_testbed_process()
    proc.kill()
    proc.wait(timeout=30)
    assert wait_gone(pids), "node PID 1 outlived the testbed's process"
    assert traces(prefix)
    removed = remove_stale_testbeds()
    assert any(prefix in r for r in removed)
    assert traces(prefix) == []
