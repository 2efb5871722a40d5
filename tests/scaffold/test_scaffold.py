"""`hacore-agent new` makes a package that passes the harness as generated."""

import os
import subprocess
import sys

import pytest


def agent_tool(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "hacore.cli.agent_tool", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.slow
def test_generated_package_passes_its_own_tests(tmp_path):
    """The scaffold's own pytest file (using the agent_harness fixture) passes unchanged."""
    made = agent_tool("new", "my-daemon", "-d", str(tmp_path))
    assert made.returncode == 0, made.stderr
    package = tmp_path / "hacore-agent-my-daemon"
    assert {p.name for p in package.iterdir()} >= {"pyproject.toml", "README.md", "tests", "hacore_agent_my_daemon"}
    assert 'my-daemon = "hacore_agent_my_daemon"' in (package / "pyproject.toml").read_text()
    env = dict(os.environ, PYTHONPATH=str(package))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=package, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_invalid_name_and_existing_directory_are_refused(tmp_path):
    """A bad name or an existing target exits 2 and writes nothing."""
    bad = agent_tool("new", "My Agent", "-d", str(tmp_path))
    assert bad.returncode == 2 and "is not valid" in bad.stderr
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "hacore-agent-taken").mkdir()
    taken = agent_tool("new", "taken", "-d", str(tmp_path))
    assert taken.returncode == 2 and "already exists" in taken.stderr
    assert list((tmp_path / "hacore-agent-taken").iterdir()) == []
