"""The example third-party agent installs into a fresh venv next to hacore and passes."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hacore-agent-example"


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=300, env=env, **kw)


@pytest.mark.slow
def test_example_installs_in_a_venv_and_passes_the_harness(tmp_path):
    """pip-installed beside hacore, pidfile-daemon is listed, passes hacore-agent test and its own tests."""
    pytest.importorskip("wheel", reason="building the example needs the wheel package (pip install wheel)")
    source = tmp_path / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)]).returncode == 0
    python = str(venv / "bin" / "python")
    # When hacore itself lives in a venv, --system-site-packages reaches the base Python's
    # packages, not hacore's: point the new venv at this interpreter's site-packages too.
    new_site = run([python, "-c", "import site; print(site.getsitepackages()[0])"]).stdout.strip()
    lines = [f"import site; site.addsitedir({path!r})" for path in site.getsitepackages()]
    (Path(new_site) / "hacore-parent.pth").write_text("\n".join(lines) + "\n")
    before = run([python, "-m", "hacore.cli.agent_tool", "test", "pidfile-daemon"])
    assert before.returncode == 2 and "no agent named 'pidfile-daemon'" in before.stderr

    pip = run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
               "--disable-pip-version-check", str(source)])
    assert pip.returncode == 0, pip.stdout + pip.stderr

    listing = run([python, "-m", "hacore.cli.main", "agent", "list", "--no-lsb", "--json"])
    assert listing.returncode == 0, listing.stderr
    agents = {a["name"]: a for a in json.loads(listing.stdout)["agents"]}
    assert agents["pidfile-daemon"]["class"] == "native"
    assert "hacore-agent-example" in agents["pidfile-daemon"]["origin"]

    pidfile = tmp_path / "daemon.pid"
    tested = run([python, "-m", "hacore.cli.agent_tool", "test", "pidfile-daemon",
                  "--param", f"pidfile={pidfile}", "--json"])
    assert tested.returncode == 0, tested.stdout + tested.stderr
    report = json.loads(tested.stdout)
    assert report["passed"] is True and report["agent"] == "pidfile-daemon"
    assert not pidfile.exists()

    own = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source / "tests")],
              cwd=tmp_path)
    assert own.returncode == 0, own.stdout + own.stderr
    assert "3 passed" in own.stdout
