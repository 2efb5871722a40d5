"""The systemd unit, the sample /etc/hacore, shell completion and install.sh."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hacore.config import load_config

ROOT = Path(__file__).parents[2]
PACKAGING = ROOT / "packaging"


def unit_settings(path):
    settings: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


def test_the_unit_runs_the_daemon_under_its_supervisor_and_leaves_resources_to_it():
    """ExecStart runs `hacore daemon` with the cluster file and %H; only the main process is
    signalled; it restarts on failure and may make its own cgroups."""
    s = unit_settings(PACKAGING / "hacore.service")
    (exec_start,) = s["Service.ExecStart"]
    assert exec_start.startswith("/usr/local/bin/hacore daemon --config /etc/hacore/cluster.toml"
                                 " --node ${HACORE_NODE}")
    assert "HACORE_NODE=%H" in s["Service.Environment"]
    assert s["Service.KillMode"] == ["process"]
    assert s["Service.Restart"] == ["on-failure"]
    assert s["Service.Delegate"] == ["yes"]
    assert s["Install.WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit(tmp_path):
    """systemd-analyze verify finds nothing wrong but the binary missing on a test machine."""
    unit = tmp_path / "hacore.service"
    unit.write_text((PACKAGING / "hacore.service").read_text())
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, check=False, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable" not in line
                and "/usr/local/bin/hacore" not in line]
    assert problems == []


def test_the_sample_configuration_is_valid_and_names_the_sample_alert_script():
    """cluster.toml.example loads, and its alert hook is the shipped executable script."""
    cfg = load_config(PACKAGING / "etc-hacore" / "cluster.toml.example")
    (hook,) = cfg.alerts
    shipped = PACKAGING / "etc-hacore" / "alerts" / Path(hook.script).name
    assert hook.script == "/etc/hacore/alerts/log-alert.sh"
    assert os.access(shipped, os.X_OK)
    assert subprocess.run(["sh", "-n", str(shipped)], check=False, timeout=30).returncode == 0


def test_install_sh_parses_and_installs_the_unit():
    """install.sh is valid bash and installs hacore.service and the sample /etc/hacore."""
    text = (ROOT / "install.sh").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / "install.sh")], check=False, timeout=30).returncode == 0
    assert "packaging/hacore.service /etc/systemd/system/hacore.service" in text
    assert "packaging/etc-hacore/cluster.toml.example" in text


def test_bash_completion_completes_nouns_and_options():
    """_HACORE_COMPLETE=bash_complete offers `events` for `hacore ev` and --journal."""
    def complete(words, cword):
        env = dict(os.environ, _HACORE_COMPLETE="bash_complete", COMP_WORDS=words,
                   COMP_CWORD=str(cword))
        return subprocess.run([sys.executable, "-m", "hacore.cli.main"], env=env,
                              capture_output=True, text=True, check=False, timeout=60).stdout

    assert "plain,events" in complete("hacore ev", 1).splitlines()
    assert "plain,--journal" in complete("hacore events --jo", 2).splitlines()


def test_every_command_completes_and_each_shell_gets_its_script():
    """`hacore <TAB>` offers every command of COMMANDS; bash, zsh and fish each get a
    completion script that calls back into hacore."""
    from hacore.cli.main import COMMANDS

    def run(**extra):
        env = dict(os.environ, **extra)
        return subprocess.run([sys.executable, "-m", "hacore.cli.main"], env=env,
                              capture_output=True, text=True, check=False, timeout=60)

    offered = run(_HACORE_COMPLETE="bash_complete", COMP_WORDS="hacore ",
                  COMP_CWORD="1").stdout.splitlines()
    assert {f"plain,{name}" for name in COMMANDS} <= set(offered)
    for shell, marker in (("bash", "complete -o nosort -F"), ("zsh", "compdef"),
                          ("fish", "complete --no-files --command hacore")):
        proc = run(_HACORE_COMPLETE=f"{shell}_source")
        assert proc.returncode == 0 and marker in proc.stdout, (shell, proc.stdout[:200])
        assert "_HACORE_COMPLETE" in proc.stdout
