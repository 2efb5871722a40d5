"""Shared fixtures for the configuration tests: a valid base file and a fake agent catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from hacore.agent.info import ActionInfo, AgentInfo, ParameterInfo
from hacore.errors import AgentNotFound

DATA = Path(__file__).parent / "data"

BASE = """\
[cluster]
name = "test"
config_version = 1

[[nodes]]
name = "n1"
id = 1
addresses = ["10.1.0.1"]
fence = [{ method = "power", devices = [{ device = "pdu", port = "1" }] }]

[[nodes]]
name = "n2"
id = 2
addresses = ["10.1.0.2"]
fence = [{ method = "power", devices = [{ device = "pdu", port = "2" }] }]

[[nodes]]
name = "n3"
id = 3
addresses = ["10.1.0.3"]
fence = [{ method = "power", devices = [{ device = "pdu", port = "3" }] }]

[fence_devices.pdu]
agent = "fence_dummy"

[domains.pref]
members = ["n1", "n2"]
ordered = true

[resources.vip]
agent = "ip"
params = { address = "10.1.0.100/24" }

[services.web]
domain = "pref"
tree = ["vip", "www"]

[services.web.resources.www]
agent = "apache"
params = { config_file = "/etc/apache2/apache2.conf" }
"""

AGENTS = {
    "ip": AgentInfo("ip", "native", "test", parameters=(
        ParameterInfo("address", "string", required=True),
        ParameterInfo("monitor_link", "boolean", default="true"),
        ParameterInfo("sleeptime", "integer", default="10"),
        ParameterInfo("family", "select", options=("inet", "inet6")),
    ), actions=(ActionInfo("start", 15.0), ActionInfo("stop", 25.0))),
    "apache": AgentInfo("apache", "native", "test", parameters=(
        ParameterInfo("config_file", "string"),
        ParameterInfo("shutdown_wait", "integer"),
    )),
    "fs": AgentInfo("fs", "native", "test", parameters=(
        ParameterInfo("device", "string", required=True),
        ParameterInfo("mountpoint", "string", required=True),
        ParameterInfo("fstype", "string"),
    )),
}


def fake_catalogue(name: str) -> AgentInfo:
    """A catalogue with ip, apache and fs; anything else is not installed."""
    try:
        return AGENTS[name]
    except KeyError:
        raise AgentNotFound(f"no agent named {name!r}") from None


@pytest.fixture
def catalogue():
    return fake_catalogue


@pytest.fixture
def write(tmp_path):
    """Write a text to a file under tmp_path and return its path."""

    def _write(text: str, name: str = "cluster.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write
