"""`hacore demo`: the demo cluster comes up, web answers from the client namespace, and
`hacore demo --stop` removes everything (no namespace, mount, cgroup or process left)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hacore.daemon.testbed import wait_for_namespace_turn
from hacore.testing.pytest_fixtures import skip_unless_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def _hacore(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hacore.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _wait_ready(state: Path, proc: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the demo exited {proc.returncode}"
        try:
            st = json.loads(state.read_text())
            if st.get("ready"):
                return st
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"the demo was not ready within {timeout} s")


def test_demo_comes_up_answers_and_stop_removes_everything(tmp_path):
    """The demo's web answers HTTP from the client namespace; --stop leaves nothing behind."""
    skip_unless_testbed()
    why = wait_for_namespace_turn(timeout=300)
    if why:
        pytest.skip(f"namespace tests busy: {why}")
    from hacore.testing.leaks import leak_check

    env = {**os.environ, "HACORE_DEMO_STATE": str(tmp_path / "demo.json")}
    with leak_check(settle=15.0), open(tmp_path / "demo.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hacore.cli.main", "demo"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            st = _wait_ready(tmp_path / "demo.json", proc, 240)
            answer = ""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not answer.strip():
                answer = subprocess.run(
                    ["ip", "netns", "exec", st["client_netns"], "curl", "-s", "-m", "2",
                     st["url"]], capture_output=True, text=True, check=False).stdout
                time.sleep(0.5)
            owner = json.loads(_hacore("status", "--json", "--socket", st["sockets"]["n2"],
                                       env=env).stdout)
            web = next(s for s in owner["services"] if s["name"] == "web")
            assert answer.strip() == web["owner"], (answer, web)
            printed = (tmp_path / "demo.out").read_text()
            assert f"hacore status --socket {st['sockets']['n1']}" in printed
            assert st["url"] in printed and "hacore demo --crash" in printed
            stopped = _hacore("demo", "--stop", env=env)
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            assert proc.wait(timeout=60) == 0
            assert not (tmp_path / "demo.json").exists()
            assert not [n for n in st["netns"] if Path("/run/netns", n).exists()]
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=90)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
