"""`hacore agent list|info|run`: output, exit codes, one-line errors without tracebacks."""

import json
import subprocess
import sys


def hacore(*args):
    proc = subprocess.run([sys.executable, "-m", "hacore.cli.main", *args], capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_list_shows_ocf_and_lsb_agents_with_descriptions():
    """list names ClusterLabs' Dummy with its class and short description."""
    proc = hacore("agent", "list", "--json")
    assert proc.returncode == 0
    agents = {a["name"]: a for a in json.loads(proc.stdout)["agents"]}
    assert agents["ocf:heartbeat:Dummy"]["class"] == "ocf"
    assert agents["ocf:heartbeat:Dummy"]["shortdesc"] == "Example stateless resource agent"
    assert any(name.startswith("lsb:") for name in agents)


def test_info_shows_parameters_and_timeouts():
    """info reads an OCF script's meta-data: parameters with defaults, action timeouts."""
    proc = hacore("agent", "info", "ocf:heartbeat:Dummy", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert {p["name"] for p in data["parameters"]} >= {"state", "fake"}
    assert {a["name"]: a["timeout"] for a in data["actions"]}["start"] == 20.0
    xml = hacore("agent", "info", "ocf:heartbeat:Dummy", "--xml")
    assert xml.returncode == 0 and "<resource-agent" in xml.stdout


def test_run_exit_codes(tmp_path):
    """run exits 0 on success, 1 on a failed operation, 0 for a stopped monitor with --expect-stopped."""
    state = f"state={tmp_path / 'd.state'}"
    monitor = hacore("agent", "run", "ocf:heartbeat:Dummy", "monitor", "-p", state)
    assert monitor.returncode == 1 and "not-running (OCF 7)" in monitor.stdout
    assert hacore("agent", "run", "ocf:heartbeat:Dummy", "monitor", "-p", state, "--expect-stopped").returncode == 0
    assert hacore("agent", "run", "ocf:heartbeat:Dummy", "start", "-p", state).returncode == 0
    data = json.loads(hacore("agent", "run", "ocf:heartbeat:Dummy", "monitor", "-p", state, "--json").stdout)
    assert data["code"] == 0 and data["result"] == "success" and data["duration"] > 0
    assert hacore("agent", "run", "ocf:heartbeat:Dummy", "stop", "-p", state).returncode == 0


def test_usage_errors_exit_2_with_one_line():
    """Unknown agents, bad --param syntax and bad names exit 2 with one line naming the problem."""
    unknown = hacore("agent", "run", "no-such-agent", "start")
    assert unknown.returncode == 2 and "no agent named 'no-such-agent'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    assert hacore("agent", "run", "ocf:heartbeat:Dummy", "start", "-p", "novalue").returncode == 2
    assert hacore("agent", "info", "ocf:heartbeat").returncode == 2
    assert hacore("agent", "run", "lsb:no-such-init-script", "monitor").returncode == 2


def test_timeout_kills_and_reports(tmp_path):
    """--timeout kills a hung script and exits 1 with the reason."""
    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nsleep 120\n")
    hang.chmod(0o755)
    proc = hacore("agent", "run", str(hang), "start", "--timeout", "0.5")
    assert proc.returncode == 1 and "timed out after 0.5s" in proc.stdout
