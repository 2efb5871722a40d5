"""The testbed's real fence device through hacore's fencing: a node really crashes and boots.

Runs on a 2-node namespace testbed (hacore.testing): fence_node from the host, and the real
`hacore fence` command run inside n1 against n2, as a cluster node would fence its peer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from hacore.config import load_config
from hacore.fencing import fence_node
from hacore.testing.pytest_fixtures import cluster_fixture, restore

pytestmark = [pytest.mark.netns, pytest.mark.slow]
testbed_cluster = cluster_fixture(nodes=2)

CONFIG = """
[cluster]
name = "tb"
config_version = 1

[[nodes]]
name = "n1"
id = 1
addresses = ["{a1}"]
fence = [{{ method = "testbed", devices = [{{ device = "testbed", port = "n1" }}] }}]

[[nodes]]
name = "n2"
id = 2
addresses = ["{a2}"]
fence = [{{ method = "dead-pdu", devices = [{{ device = "dead", port = "n2" }}] }},
         {{ method = "testbed", devices = [{{ device = "testbed", port = "n2" }}] }}]

[fence_devices.testbed]
agent = "fence_hacore_testbed"
params = {{ testbed_socket = "{sock}" }}

[fence_devices.dead]
agent = "fence_hacore_testbed"
params = {{ testbed_socket = "{sock}.missing", hacore_retries = "0" }}
"""


@pytest.fixture
def c(testbed_cluster):
    """The shared cluster, restored to health after each test."""
    yield testbed_cluster
    restore(testbed_cluster)


def _config_file(c) -> Path:
    path = c.base / "fence-cluster.toml"
    n1, n2 = c.nodes
    path.write_text(CONFIG.format(a1=n1.address, a2=n2.address, sock=c.control_socket))
    return path


def test_fence_off_crashes_the_node_status_sees_it_and_on_boots_it(c) -> None:
    """off through the methods (the dead PDU fails, the testbed device works) crashes n2 for
    real; status then says off (not counted as a fence); on boots it anew."""
    n1, n2 = c.nodes
    config = load_config(_config_file(c))
    n2.popen(["sleep", "778"])
    assert n1.ping(n2.address, 2.0)
    outcome = fence_node(config, "n2", "off")
    assert outcome.confirmed and outcome.method == "testbed", outcome.detail
    assert [(d.device, d.ok) for d in outcome.devices] == [("dead", False), ("testbed", True)]
    assert not n2.up and not n1.ping(n2.address, 0.5)
    status = fence_node(config, "n2", "status")
    assert status.ok and status.power == "off" and not status.confirmed
    assert fence_node(config, "n2", "on").ok
    assert n2.up and not n2.find_pids(r"^sleep 778$")


def test_hacore_fence_run_inside_n1_reboots_n2(c) -> None:
    """`hacore fence n2 --json` run inside n1 reboots n2: exit 0, confirmed, new PID 1."""
    n1, n2 = c.nodes
    path = _config_file(c)
    old = n2.pid1
    done = n1.run([sys.executable, "-m", "hacore.cli.main", "fence", "n2", "--config",
                   str(path), "--json"], check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["confirmed"] and data["method"] == "testbed" and data["action"] == "reboot"
    deadline = time.monotonic() + 30
    while not n2.up and time.monotonic() < deadline:
        time.sleep(0.1)
    assert n2.up and n2.pid1 != old
    assert n1.ping(n2.address, 5.0)
