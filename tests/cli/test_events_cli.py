"""`hacore events`: the journals of several nodes as one timeline, by incident, followed."""

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from hacore.cli.main import cli
from hacore.journal import Journal, compose


@pytest.fixture
def two_nodes(tmp_path):
    """n1 detects n3's loss, fences it and decides; n2 starts web with n1's incident id."""
    a, b = tmp_path / "n1", tmp_path / "n2"
    j1, j2 = Journal(a, "n1"), Journal(b, "n2")
    j1.append(**compose.node_joined("n2"))
    lost = j1.append(**compose.node_lost("n3", silent_for=1.02, services=["web"]))
    j1.append(**compose.fence("n3", ok=True, method="pdu", duration=0.5))
    j1.append(**compose.decision("start", service="web", target="n2", reason="n3 was fenced"))
    j2.append(**compose.operation("start", service="web", resource="vip", result="succeeded",
                                  duration=0.2), incident=lost.incident)
    j1.append(**compose.service_changed("web", change="started", owner="n2",
                                        previous_owner="n3"))
    j1.close()
    j2.close()
    return a, b, lost.incident


def run(*args):
    return CliRunner().invoke(cli, ["events", *args])


def test_the_timeline_interleaves_both_nodes_in_order(two_nodes):
    """Every event appears once, in the order it happened, one line each."""
    a, b, _ = two_nodes
    result = run("--journal", str(a), "--journal", str(b))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 6
    assert "n3 left the membership" in lines[1] and "[incident" in lines[1]
    assert "n2  start of web/vip succeeded in 0.20 s" in lines[4]
    assert lines[5].endswith("web started on n2 (was on n3)")


def test_incident_prints_the_story_from_detection_to_recovery(two_nodes):
    """--incident leaves out the join before the fault and ends with the recovery time."""
    a, b, incident = two_nodes
    result = run("--journal", str(a), "--journal", str(b), "--incident", incident)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Incident {incident}")
    assert not any("joined" in line for line in lines)
    assert lines[-1].startswith("From detection to recovery:")
    assert lines[-1].endswith("(5 events on 2 nodes)")


def test_an_unknown_incident_exits_1(two_nodes):
    """No event with that id: says so, exit 1."""
    a, _, _ = two_nodes
    result = run("--journal", str(a), "--incident", "nope")
    assert result.exit_code == 1
    assert "no event carries incident nope" in result.output


def test_json_lines_and_since(two_nodes):
    """--json prints one object per event; --since in the future keeps none."""
    a, b, _ = two_nodes
    result = run("--journal", str(a), "--journal", str(b), "--json")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["node"] for r in rows] == ["n1", "n1", "n1", "n1", "n2", "n1"]
    assert set(rows[0]) == {"seq", "time", "node", "kind", "service", "incident", "message",
                            "fields"}
    later = run("--journal", str(a), "--since", str(time.time() + 3600))
    assert later.exit_code == 0 and later.output == ""


def test_a_missing_journal_directory_exits_2(tmp_path):
    """A directory that is not there is a usage error naming it."""
    result = run("--journal", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert "absent: no journal directory there" in result.output


def read_line(proc, seconds=20.0):
    """The next line the process prints, or "" when none came within ``seconds``."""
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    return proc.stdout.readline() if ready else ""


def test_follow_prints_new_events_as_they_are_written(tmp_path):
    """`hacore events --follow` prints an event appended after it started, then is stopped."""
    journal = Journal(tmp_path, "n1")
    journal.append("admin", "before")
    proc = subprocess.Popen([sys.executable, "-m", "hacore.cli.main", "events", "--follow",
                             "--journal", str(tmp_path)], stdout=subprocess.PIPE, text=True, bufsize=1)
    try:
        assert "before" in read_line(proc)
        journal.append(**compose.node_lost("n2", silent_for=1.0, services=[]))
        line = read_line(proc)  # the follower polls every 0.5 s
        assert "n2 left the membership" in line
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
        proc.stdout.close()
        journal.close()
    assert proc.returncode in (0, -signal.SIGINT)


def test_journals_are_read_when_no_daemon_answers(two_nodes, tmp_path, monkeypatch):
    """With $HACORE_SOCKET naming no daemon, --journal directories are read; a --socket
    given explicitly that no daemon answers is an error (exit 1) naming it."""
    a, b, _ = two_nodes
    monkeypatch.setenv("HACORE_SOCKET", str(tmp_path / "none.sock"))
    result = run("--journal", str(a), "--journal", str(b))
    assert result.exit_code == 0 and "n3 left the membership" in result.output
    result = run("--socket", str(tmp_path / "none.sock"))
    assert result.exit_code == 1 and "none.sock" in result.output
