"""`hacore-agent test`: human lines, --json, --junit, and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys

import defusedxml.ElementTree as SafeET
from click.testing import CliRunner

from hacore.cli.agent_tool import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, ["test", *args])


def test_passing_agent_exits_0_with_one_line_per_check(data, tmp_path):
    """Every check gets a line with a mark, a duration and a detail; a summary ends it."""
    result = invoke(str(data / "ocf-agent.sh"), "--param", f"state={tmp_path / 's'}")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("✓ start ") and "start → success (0)" in line for line in lines)
    assert lines[-1].startswith("18 checks: 18 passed, 0 failed")


def test_failing_agent_exits_1_and_marks_the_failure(data, tmp_path):
    """A lying agent makes the command exit 1 with a ✗ line naming the broken rule."""
    result = invoke(str(data / "stop-fails-when-stopped.sh"), "-p", f"state={tmp_path / 's'}")
    assert result.exit_code == 1
    assert any(line.startswith("✗ stop on a stopped resource") for line in result.output.splitlines())


def test_json_has_exactly_the_documented_keys(data, tmp_path):
    """--json prints agent, passed and checks with name, ok, detail, seconds."""
    result = invoke(str(data / "monitor-always-running.sh"), "-p", f"state={tmp_path / 's'}", "--json")
    assert result.exit_code == 1
    data_out = json.loads(result.output)
    assert set(data_out) == {"agent", "passed", "checks"}
    assert data_out["passed"] is False
    assert data_out["agent"].endswith("monitor-always-running.sh")
    for check in data_out["checks"]:
        assert set(check) == {"name", "ok", "detail", "seconds"}
        assert isinstance(check["seconds"], float)
    assert {c["name"] for c in data_out["checks"] if not c["ok"]} >= {"probe of a stopped resource"}


def test_junit_file_lists_every_check(data, tmp_path):
    """--junit writes JUnit XML with one testcase per check and the failures marked."""
    out = tmp_path / "report.xml"
    result = invoke(str(data / "stop-fails-when-stopped.sh"), "-p", f"state={tmp_path / 's'}",
                    "--junit", str(out))
    assert result.exit_code == 1
    suite = SafeET.fromstring(out.read_text())
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) == 18
    failing = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failing == ["stop on a stopped resource"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_unknown_agent_is_a_usage_error_without_traceback():
    """An unknown agent name exits 2 with one line saying what names are valid."""
    result = invoke("no-such-agent")
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: no agent named 'no-such-agent'")
    assert "Traceback" not in result.output


def test_bad_param_syntax_is_a_usage_error(data):
    """--param without '=' exits 2 with a one-line message."""
    result = invoke(str(data / "ocf-agent.sh"), "--param", "state")
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --param 'state' is not KEY=VALUE "
                                     "(e.g. --param state=/tmp/x.state)")


def test_junit_into_missing_directory_is_a_usage_error(data, tmp_path):
    """--junit into a directory that does not exist exits 2 and names the directory."""
    result = invoke(str(data / "ocf-agent.sh"), "-p", f"state={tmp_path / 's'}",
                    "--junit", str(tmp_path / "nowhere" / "r.xml"))
    assert result.exit_code == 2
    assert "nowhere" in result.output


def test_console_script_runs_the_harness(data, tmp_path):
    """The installed hacore-agent entry point runs a test end to end."""
    proc = subprocess.run(
        [sys.executable, "-c", "from hacore.cli.agent_tool import main; main()", "test",
         str(data / "ocf-agent.sh"), "-p", f"state={tmp_path / 's'}", "--timeout", "10", "--json"],
        check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["passed"] is True
