"""What ``hacore cluster init`` and ``join`` do on this machine: root-only files, the daemon.

Files (under ``etc_dir``, default /etc/hacore, made mode 0700): ``cluster.key`` (0400) and
``cluster.toml`` (0600), written atomically. A machine that has a key already is refused:
it belongs to a cluster (remove both files to start over).

The daemon is started with systemd when it runs here and the ``hacore`` unit is installed
(``systemctl enable --now hacore``, the node name in /etc/default/hacore), else as a
background supervisor (``hacore daemon``, a session of its own, output in
``<state-dir>/daemon.log``); ``how="none"`` starts nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import psutil

from hacore.errors import InputError, OperationFailed
from hacore.files import write_atomically

START_CHOICES = ("auto", "systemd", "background", "none")
DEFAULT_ETC = "/etc/hacore"
DEFAULT_STATE = "/var/lib/hacore"


@dataclass(frozen=True)
class NodePaths:
    """Where this node's files go."""

    etc_dir: str = DEFAULT_ETC
    state_dir: str = DEFAULT_STATE
    socket: str = "/run/hacore/hacore.sock"

    @property
    def key_file(self) -> str:
        return os.path.join(self.etc_dir, "cluster.key")

    @property
    def config_file(self) -> str:
        return os.path.join(self.etc_dir, "cluster.toml")


def local_node_name() -> str:
    """This machine's short host name (the default node name)."""
    return socket.gethostname().split(".")[0]


def local_addresses() -> list[str]:
    """The first global IPv4 address of an interface that is up (the default address)."""
    stats = psutil.net_if_stats()
    for name, addrs in psutil.net_if_addrs().items():
        if name == "lo" or not stats.get(name) or not stats[name].isup:
            continue
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith(("127.", "169.254.")):
                return [addr.address]
    raise InputError("no global IPv4 address found on an interface that is up; give this "
                     "node's address(es) with --address")


def refuse_if_member(paths: NodePaths) -> None:
    """A machine with a cluster key is in a cluster already: refuse to set up another."""
    if os.path.exists(paths.key_file):
        raise InputError(f"{paths.key_file} exists: this machine belongs to a cluster already "
                         f"(to start over, stop its daemon and remove {paths.key_file} and "
                         f"{paths.config_file})")


def write_node_files(paths: NodePaths, key: bytes, config_text: str) -> None:
    """The key (0400) and configuration (0600), atomically, in a 0700 directory."""
    os.makedirs(paths.etc_dir, mode=0o700, exist_ok=True)
    os.chmod(paths.etc_dir, 0o700)
    os.makedirs(paths.state_dir, mode=0o700, exist_ok=True)
    write_atomically(paths.config_file, config_text, 0o600)
    write_atomically(paths.key_file, key, 0o400, replace=False)


def _has_systemd_unit() -> bool:
    if not os.path.isdir("/run/systemd/system") or shutil.which("systemctl") is None:
        return False
    found = subprocess.run(["systemctl", "cat", "hacore.service"], capture_output=True,
                           check=False)
    return found.returncode == 0


def start_daemon(paths: NodePaths, node: str, how: str = "auto") -> str:
    """Start this node's daemon; says how (for the output)."""
    if how not in START_CHOICES:
        raise InputError(f"--start {how!r}: valid are {', '.join(START_CHOICES)}")
    if how == "none":
        return "not started (--start none): run `hacore daemon --config " \
               f"{paths.config_file} --node {node}`"
    if how == "systemd" or (how == "auto" and _has_systemd_unit()):
        write_atomically("/etc/default/hacore", f"HACORE_NODE={node}\n", 0o644)
        done = subprocess.run(["systemctl", "enable", "--now", "hacore.service"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise OperationFailed("systemctl enable --now hacore failed: " +
                                  (done.stderr.strip() or f"exit {done.returncode}"))
        return "started by systemd (hacore.service, enabled)"
    log_path = os.path.join(paths.state_dir, "daemon.log")
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        subprocess.Popen(
            [sys.executable, "-m", "hacore.cli.main", "daemon", "--config", paths.config_file,
             "--node", node, "--state-dir", paths.state_dir, "--socket", paths.socket,
             "--key-file", paths.key_file],
            stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True,
            close_fds=True)
    finally:
        os.close(fd)
    return f"started in the background (supervisor; log {log_path})"


def wait_for_daemon(paths: NodePaths, timeout: float = 60.0, quorate: bool = False) -> bool:
    """True once the daemon answers on its socket (and, with ``quorate``, is in a quorate
    partition), bounded by ``timeout``."""
    from hacore.api.client import ApiClient

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client = ApiClient(paths.socket, timeout=5.0)
            if not quorate and client.call("ping"):
                return True
            if quorate and client.call("status").get("quorate"):
                return True
        except Exception:  # noqa: BLE001, S110 - not up yet: ask again
            pass
        time.sleep(0.3)
    return False
