"""A running hacore cluster on the namespace testbed (hacore.testing): daemons, VIP + Apache.

Shared by tests/integration and bench/failover.py (and meant for ``hacore demo``): ``HacoreTestbed(cluster).start()``
writes the config and key into every node, starts ``hacore daemon`` in each, and gives a
CLI runner, log readers and waits.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hacore.testing import Cluster

CONFIG = """
[cluster]
name = "tb"
config_version = 1
{nodes}
[timing]
node_loss_timeout = {loss}
post_join_delay = 2.0

[fence_devices.testbed]
agent = "fence_hacore_testbed"
params = {{ testbed_socket = "{sock}" }}

[resources.vip]
agent = "ip"
params = {{ address = "{vip}/24" }}
operations = {{ monitor = {{ interval = 2, timeout = 10 }} }}

[resources.www]
agent = "apache"
params = {{ listen = "{vip}:80", document_root = "/tmp/www", shutdown_wait = "2" }}
operations = {{ monitor = {{ interval = 2, timeout = 10 }}, stop = {{ timeout = 10 }} }}

[services.web]
tree = [{{ resource = "vip", children = ["www"] }}]
recovery = "relocate"
"""

NODE = """
[[nodes]]
name = "{name}"
id = {id}
addresses = ["{address}"]
fence = [{{ method = "testbed", devices = [{{ device = "testbed", port = "{name}" }}] }}]
"""


def wait_for_namespace_turn(timeout: float = 600.0) -> str | None:
    """Wait until no live testbed of another process exists; the reason if it never came."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             check=False).stdout
        others = set()
        for line in out.splitlines():
            m = re.match(r"tb(\d+)x\d+-", line.split()[0]) if line.strip() else None
            if m and int(m.group(1)) != os.getpid() and os.path.exists(f"/proc/{m.group(1)}"):
                others.add(m.group(1))
        if not others:
            return None
        if time.monotonic() > deadline:
            return f"namespaces of another run (pids {', '.join(sorted(others))}) stayed"
        time.sleep(2.0)


def daemon_environment() -> dict[str, str]:
    """The daemons' environment: this one, with this Python's scripts directory first on
    PATH, as on an installed node (install.sh links the venv's commands into /usr/local/bin).
    The fence agent (``fence_hacore_testbed``) is then run directly, not through a version
    manager's shim on the host's PATH (pyenv's wraps every run in bash: +50 ms a fence)."""
    scripts = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    return {**os.environ, "PATH": scripts + (os.pathsep + path if path else "")}


class HacoreTestbed:
    """hacore daemons on every node of a testbed Cluster, serving web = VIP + Apache."""

    def __init__(self, cluster: Cluster, node_loss_timeout: float = 1.0) -> None:
        self.c = cluster
        self.vip = cluster.free_address(0)
        self.loss = node_loss_timeout
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def write_config(self) -> None:
        c = self.c
        nodes = "".join(NODE.format(name=n.name, id=i + 1, address=n.address)
                        for i, n in enumerate(c.nodes))
        text = CONFIG.format(nodes=nodes, sock=c.control_socket, vip=self.vip, loss=self.loss)
        key = os.urandom(32)
        for node in c.nodes:
            etc = Path(node.etc_dir)
            (etc / "cluster.toml").write_text(text)
            keyfile = etc / "cluster.key"
            if keyfile.exists():
                keyfile.chmod(0o600)
            keyfile.write_bytes(key)
            keyfile.chmod(0o400)

    def prepare(self, node: Any) -> None:
        """A page saying the node's name, in the node's own /tmp (gone at every boot)."""
        www = Path(node.tmp_dir) / "www"
        www.mkdir(exist_ok=True)
        (www / "index.html").write_text(node.name + "\n")
        os.chmod(www, 0o755)

    def start_daemon(self, node: Any) -> None:
        self.prepare(node)
        log = Path(self.c.base) / f"{node.name}.log"
        self.logs[node.name] = log
        with open(log, "ab") as out:
            self.procs[node.name] = node.popen(
                [sys.executable, "-m", "hacore.cli.main", "daemon", "--config",
                 "/etc/hacore/cluster.toml", "--node", node.name],
                stdout=out, stderr=subprocess.STDOUT, env=daemon_environment())

    def start(self) -> HacoreTestbed:
        self.write_config()
        for node in self.c.nodes:
            self.start_daemon(node)
        return self

    def daemon_pids(self, node: Any, which: str = "daemon.main") -> list[int]:
        """Host PIDs of the daemon process (``daemon.main``) or its supervisor."""
        pattern = (r"hacore\.daemon\.main" if which == "daemon.main"
                   else r"hacore\.daemon\.supervisor|hacore\.cli\.main daemon")
        return node.find_pids(pattern) if node.up else []

    def stop(self) -> None:
        for node in self.c.nodes:
            for pid in self.daemon_pids(node, "supervisor"):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def hacore(self, node: Any, *args: str, check: bool = True,
               timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """The CLI run on the host against ``node``'s control socket."""
        proc = subprocess.run([sys.executable, "-m", "hacore.cli.main", *args, "--socket",
                               str(node.socket_path)], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"hacore {' '.join(args)} on {node.name} exited "
                                 f"{proc.returncode}: {proc.stderr}")
        return proc

    def status(self, node: Any) -> dict[str, Any] | None:
        import json

        proc = self.hacore(node, "status", "--json", check=False, timeout=10)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    def web(self, node: Any) -> dict[str, Any] | None:
        st = self.status(node)
        return next(s for s in st["services"] if s["name"] == "web") if st else None

    def web_owner(self, node: Any) -> str | None:
        """Where ``node`` says web is started (None: not started, or no answer)."""
        web = self.web(node)
        return web["owner"] if web and web["state"] == "started" else None

    def all_online(self, node: Any) -> bool:
        """``node`` answers and sees every configured node Online."""
        st = self.status(node)
        return bool(st) and all(m["state"] == "Online" for m in st["members"])

    def wait(self, cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except (OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"not within {timeout} s: {what}\n" + self.tail_logs())

    def tail_logs(self, lines: int = 25) -> str:
        out = []
        for name, path in self.logs.items():
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(out)

    def log_times(self, pattern: str) -> list[float]:
        """Wall-clock times (epoch seconds) of the daemon log lines matching ``pattern``."""
        from datetime import datetime

        out = []
        for line in self.log_lines(pattern):
            try:
                stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            except ValueError:
                continue
            out.append(stamp.timestamp())
        return sorted(out)

    def log_lines(self, pattern: str) -> list[str]:
        found = []
        for path in self.logs.values():
            try:
                found += [ln for ln in path.read_text(errors="replace").splitlines()
                          if re.search(pattern, ln)]
            except OSError:
                pass
        return found
