"""`hacore fence NODE` and `hacore fence ack NODE`: outcome, device, exit codes, JSON."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hacore.cli.main import cli

from .helpers import read_log

CONFIG = """
[cluster]
name = "t"
config_version = 1

[[nodes]]
name = "n1"
id = 1
addresses = ["10.99.0.1"]
fence = [{{ method = "ipmi", devices = ["broken"] }},
         {{ method = "pdu", devices = [{{ device = "good", port = "4" }}] }}]

[[nodes]]
name = "n2"
id = 2
addresses = ["10.99.0.2"]
fence = ["broken"]

[[nodes]]
name = "n3"
id = 3
addresses = ["10.99.0.3"]

[fence_devices.broken]
agent = "{agent}"
params = {{ log = "{log}", label = "broken", mode = "fail", hacore_retries = "0" }}

[fence_devices.good]
agent = "{agent}"
params = {{ log = "{log}", label = "good" }}
"""


def _run(tmp_path: Path, recorder: Path, *args: str):
    path = tmp_path / "cluster.toml"
    path.write_text(CONFIG.format(agent=recorder, log=tmp_path / "log"))
    return CliRunner().invoke(cli, ["fence", *args, "--config", str(path)])


def test_fence_node_prints_outcome_and_the_device_that_did_it(recorder: Path, tmp_path: Path
                                                               ) -> None:
    """The first method fails, the second fences: exit 0, the method and device are named."""
    result = _run(tmp_path, recorder, "n1", "--action", "off")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first == "n1 fenced (powered off) by method pdu, device good"
    assert "device broken" in result.output and "Failed: simulated failure" in result.output
    assert read_log(tmp_path / "log") == ["broken off n1 - -", "good off n1 4 -"]


def test_fence_node_json_is_the_outcome(recorder: Path, tmp_path: Path) -> None:
    """--json prints confirmed, method and every device call."""
    result = _run(tmp_path, recorder, "n1", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["confirmed"] is True and data["action"] == "reboot" and data["method"] == "pdu"
    assert [(d["device"], d["ok"]) for d in data["devices"]] == [("broken", False), ("good", True)]


def test_failed_fence_exits_1(recorder: Path, tmp_path: Path) -> None:
    """Every method failing exits 1 with the reason."""
    result = _run(tmp_path, recorder, "n2", "--action", "off")
    assert result.exit_code == 1
    assert "every fence method failed" in result.output


def test_unknown_node_or_node_without_fencing_exits_2(recorder: Path, tmp_path: Path) -> None:
    """An unknown node and a node without fence methods are usage errors (exit 2)."""
    unknown = _run(tmp_path, recorder, "n9")
    assert unknown.exit_code == 2 and "not in cluster 't' (nodes: n1, n2, n3)" in unknown.output
    bare = _run(tmp_path, recorder, "n3")
    assert bare.exit_code == 2 and "has no fence methods" in bare.output
    assert read_log(tmp_path / "log") == []


def test_missing_config_exits_2(tmp_path: Path) -> None:
    """A configuration file that does not exist is an input error."""
    result = CliRunner().invoke(cli, ["fence", "n1", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_ack_needs_a_running_daemon(tmp_path) -> None:
    """fence ack with no daemon at the socket exits 1 saying none is there (the recording
    itself is tested against running daemons in tests/daemon)."""
    result = CliRunner().invoke(cli, ["fence", "ack", "n2", "--socket", str(tmp_path / "s")])
    assert result.exit_code == 1 and "no hacore daemon socket" in result.output


def test_help_shows_both_forms_with_an_example() -> None:
    """--help documents `hacore fence NODE` and `hacore fence ack NODE` with an example."""
    result = CliRunner().invoke(cli, ["fence", "--help"])
    assert result.exit_code == 0
    assert "hacore fence NODE [--action off|reboot|on|status]" in result.output
    assert "hacore fence ack NODE" in result.output and "Example:" in result.output
    node_help = CliRunner().invoke(cli, ["fence", "n1", "--help"], prog_name="hacore")
    assert "Usage: hacore fence [OPTIONS] NODE" in node_help.output
