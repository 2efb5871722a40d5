"""Helpers for the fencing tests: a scriptable fence agent that records its calls, and
configurations built around it."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from hacore.config.model import (
    ClusterConfig,
    FenceDevice,
    FenceDeviceRef,
    FenceMethod,
    Node,
    Quorum,
    Timing,
)

# A fence agent speaking the stdin protocol. Options: log=FILE (appends "DEVICE ACTION
# NODENAME PORT"), mode=ok|fail|hang|off (off: status answers off), label=DEVICE,
# childpid=FILE (hang: a child sleeping in the same process group writes its pid there).
RECORDER = r'''
import os, subprocess, sys, time
opts = {}
for line in sys.stdin.read().splitlines():
    if "=" in line and not line.startswith("#"):
        k, v = line.split("=", 1)
        opts[k] = v
action = opts.get("action", "reboot")
if action == "metadata":
    print('<?xml version="1.0" ?><resource-agent name="fence_recorder" shortdesc="test">'
          '<parameters><parameter name="action" required="1"><content type="string"/></parameter>'
          '<parameter name="log" required="1"><content type="string"/></parameter>'
          '<parameter name="mode"><content type="string" default="ok"/></parameter>'
          '<parameter name="label"><content type="string"/></parameter>'
          '<parameter name="childpid"><content type="string"/></parameter>'
          '<parameter name="port"><content type="string"/></parameter>'
          '<parameter name="secret"><content type="string"/></parameter>'
          '</parameters><actions><action name="off"/><action name="on"/></actions></resource-agent>')
    sys.exit(0)
with open(opts["log"], "a") as log:
    log.write(f"{opts.get('label', '?')} {action} {opts.get('nodename', '-')} "
              f"{opts.get('port', '-')} {opts.get('secret', '-')}\n")
mode = opts.get("mode", "ok")
if mode == "hang":
    child = subprocess.Popen(["sleep", "300"])
    with open(opts["childpid"], "w") as f:
        f.write(f"{child.pid} {os.getpid()}")
    time.sleep(300)
if mode == "fail":
    print("Failed: simulated failure", file=sys.stderr)
    sys.exit(1)
if action == "status":
    print("Status: OFF" if mode == "off" else "Status: ON")
    sys.exit(2 if mode == "off" else 0)
print("Success: done")
sys.exit(0)
'''


def make_recorder(directory: Path) -> Path:
    """Write the test fence agent (see RECORDER) into ``directory``; returns its path."""
    path = directory / "fence_recorder"
    path.write_text(f"#!{sys.executable}\n{RECORDER}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def read_log(path: Path) -> list[str]:
    """The recorded calls, one 'DEVICE ACTION NODENAME PORT SECRET' string each."""
    return path.read_text().splitlines() if path.exists() else []


def one_node(methods: list[list[tuple[str, dict[str, str]]]], devices: dict[str, tuple[str, dict]],
             fence_timeout: float = 30.0, name: str = "n1") -> ClusterConfig:
    """A cluster of node ``name`` (plus n2 without fencing) with the given methods:
    each method a list of (device, per-node params); devices name -> (agent, params)."""
    fence = tuple(FenceMethod(f"m{i}", tuple(FenceDeviceRef(d, p) for d, p in m))
                  for i, m in enumerate(methods, 1))
    return ClusterConfig(
        name="t", config_version=1,
        nodes=(Node(name, 1, ("10.99.0.1",), fence=fence), Node("n2", 2, ("10.99.0.2",))),
        quorum=Quorum(expected_votes=2), timing=Timing(fence_timeout=fence_timeout),
        fence_devices=tuple(FenceDevice(n, a, dict(p)) for n, (a, p) in devices.items()))


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

