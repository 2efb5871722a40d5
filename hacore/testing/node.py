"""One testbed node: its directories, its holder process (PID 1) and ways to run things in it."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from hacore.errors import OperationFailed
from hacore.testing import netns as netns_tools
from hacore.testing.cgroups import NodeCgroup

HOLDER = str(Path(__file__).with_name("holder.py"))
# Host directory name -> path inside the node. /etc/hacore and /var/lib/hacore survive a
# crash like a disk does; /run and /tmp start empty at every boot.
NODE_DIRS = {"run": "/run", "tmp": "/tmp", "etc": "/etc/hacore", "state": "/var/lib/hacore"}
VOLATILE_DIRS = ("run", "tmp")


def pid_ns_inode(pid: int) -> int | None:
    """The inode of a process's PID namespace, or None when the process is gone."""
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def read_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class Node:
    """A cluster node made of network, mount, UTS and PID namespaces.

    Attributes: ``name`` (n1..nN, also its hostname), ``address`` (IPv4), ``address6`` (ULA
    IPv6), ``netns`` (the network namespace's name), ``run_dir``/``tmp_dir``/``etc_dir``/
    ``state_dir`` (host paths of the node's /run, /tmp, /etc/hacore, /var/lib/hacore),
    ``socket_path`` (the daemon's control socket, seen from the host), ``pid1`` (host PID of
    the node's first process, None while the node is down), ``boots`` (how many times the
    node was made).
    """

    def __init__(
        self, name: str, netns: str, address: str, address6: str, prefixlen: int, base: Path,
        cgroup: NodeCgroup,
    ) -> None:
        self.name = name
        self.netns = netns
        self.address = address
        self.address6 = address6
        self.prefixlen = prefixlen
        self.base = base / name
        self.cgroup = cgroup
        self.mac = ""
        self.pid1: int | None = None
        self.boots = 0
        self._holder: subprocess.Popen[bytes] | None = None
        self._entered: list[subprocess.Popen[Any]] = []
        for key in NODE_DIRS:
            (self.base / key).mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Node({self.name}, {self.address}, pid1={self.pid1})"

    run_dir = property(lambda self: self.base / "run", doc="Host path of the node's /run.")
    tmp_dir = property(lambda self: self.base / "tmp", doc="Host path of the node's /tmp.")
    etc_dir = property(lambda self: self.base / "etc", doc="Host path of the node's /etc/hacore.")
    state_dir = property(lambda self: self.base / "state", doc="Host path of /var/lib/hacore.")

    @property
    def socket_path(self) -> Path:
        """Host path of the daemon's control socket (/run/hacore/hacore.sock in the node)."""
        return self.run_dir / "hacore" / "hacore.sock"

    @property
    def netns_path(self) -> str:
        """The network namespace file, for ``in_netns`` or pyroute2's ``NetNS``."""
        return f"/run/netns/{self.netns}"

    @property
    def up(self) -> bool:
        """True while the node's PID 1 lives."""
        return self._holder is not None and self._holder.poll() is None and self.pid1 is not None

    # -- making and killing (called by Cluster) -------------------------------------------

    def spawn(self, watch_fd: int) -> None:
        """Start the holder; returns once it reported PID 1 (namespaces exist, not wired)."""
        for key in VOLATILE_DIRS:
            shutil.rmtree(self.base / key, ignore_errors=True)
            (self.base / key).mkdir(parents=True)
        (self.run_dir / "hacore").mkdir()
        for target in NODE_DIRS.values():
            os.makedirs(target, exist_ok=True)  # mount points; exist on any hacore host
        self.cgroup.create()
        spec = {
            "hostname": self.name,
            "binds": [[str(self.base / key), target] for key, target in NODE_DIRS.items()],
            "cgroup_procs": str(self.cgroup.procs_file),
            "watch_fd": watch_fd,
            "addresses": [[self.address, self.prefixlen, 4], [self.address6, 64, 6]],
        }
        self._holder = subprocess.Popen(
            [sys.executable, "-I", "-S", HOLDER, json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(watch_fd,),
            start_new_session=True, cwd="/",
        )
        self._buffer = b""

    def expect(self, word: str, timeout: float = 20.0) -> str:
        """Wait for the holder's next line; it must start with ``word``. Returns the rest."""
        assert self._holder is not None and self._holder.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self._holder.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise OperationFailed(f"node {self.name}: no '{word}' from its holder in {timeout} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise OperationFailed(f"node {self.name}: holder exited before '{word}'")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        text = line.decode()
        if not text.startswith(word):
            raise OperationFailed(f"node {self.name}: holder said '{text}', expected '{word}'")
        return text[len(word) :].strip()

    def release(self) -> None:
        """Tell PID 1 that eth0 is plugged in (it configures addresses, then says ready)."""
        assert self._holder is not None and self._holder.stdin is not None
        self._holder.stdin.write(b"go\n")
        self._holder.stdin.close()

    def finish_boot(self) -> None:
        assert self._holder is not None and self._holder.stdout is not None
        self._holder.stdout.close()
        self.boots += 1

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL PID 1 (the kernel kills the rest of the PID namespace), wait, bounded."""
        holder, pid1 = self._holder, self.pid1
        if holder is None:
            return
        deadline = time.monotonic() + timeout
        while holder.poll() is None:
            for pid in (pid1, holder.pid):
                if pid is not None:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
            try:
                holder.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise OperationFailed(f"node {self.name}: holder {holder.pid} survived SIGKILL")
        self._wake_entered()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._holder = None
        self.pid1 = None

    def _wake_entered(self) -> None:
        # nsenter stops itself when its child is stopped (SIGSTOP) and waits for SIGCONT;
        # a stopped nsenter never reaps its dead child, which keeps the PID namespace
        # (and PID 1's exit) alive. Continue every nsenter we started so it reaps.
        for proc in self._entered:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        self._entered = [p for p in self._entered if p.poll() is None]

    # -- looking inside ---------------------------------------------------------------------

    def pids(self) -> list[int]:
        """Host PIDs of every process in the node's PID namespace (PID 1 included)."""
        pid1 = self.pid1
        ns = pid_ns_inode(pid1) if pid1 else None
        if ns is None:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and pid_ns_inode(int(entry)) == ns:
                found.append(int(entry))
        return found

    def find_pids(self, pattern: str) -> list[int]:
        """Host PIDs of the node's processes whose command line matches the regex ``pattern``."""
        rx = re.compile(pattern)
        return [pid for pid in self.pids() if pid != self.pid1 and rx.search(read_cmdline(pid))]

    # -- running things inside --------------------------------------------------------------

    def command(self, argv: Sequence[str]) -> list[str]:
        """The host argv that runs ``argv`` inside the node (all its namespaces and cgroup)."""
        if not self.up:
            raise OperationFailed(f"node {self.name} is down; boot it first (cluster.boot)")
        procs = f"/sys/fs/cgroup/{self.cgroup.relative}/cgroup.procs"
        return [
            "nsenter", "-t", str(self.pid1), "-m", "-u", "-n", "-p", "-r", "-w", "--",
            "/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', procs, *argv,
        ]

    def run(
        self, argv: Sequence[str], check: bool = True, timeout: float = 60.0, **kw: Any
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the node and wait; output captured as text unless overridden.

        Example: ``node.run(["ip", "-br", "addr"]).stdout``. Raises ``CalledProcessError``
        when ``check`` and the exit code is not 0.
        """
        capture = kw.pop("capture_output", "stdout" not in kw and "stderr" not in kw)
        if capture:
            kw["stdout"] = kw["stderr"] = subprocess.PIPE
        kw.setdefault("text", True)
        given = kw.pop("input", None)
        if given is not None:
            kw["stdin"] = subprocess.PIPE
        with self.popen(argv, **kw) as proc:
            try:
                out, err = proc.communicate(given, timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        if check:
            done.check_returncode()
        return done

    def popen(self, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the node; the returned Popen's pid is nsenter's (host side)."""
        kw.setdefault("start_new_session", True)
        proc = subprocess.Popen(self.command(argv), **kw)
        self._entered = [p for p in self._entered if p.poll() is None] + [proc]
        return proc

    def in_netns(self) -> AbstractContextManager[None]:
        """Context manager: the calling thread runs in the node's network namespace only."""
        return netns_tools.in_netns(self.netns_path)

    def ping(self, address: str, timeout: float = 1.0) -> bool:
        """One ICMP echo from this node to ``address``; True when answered within ``timeout``."""
        return netns_tools.ping(self.netns_path, address, timeout)

    def mounts(self) -> Iterator[tuple[str, str, str]]:
        """(source, mount point, fs type) of every mount in the node's mount namespace."""
        if self.pid1 is None:
            return
        try:
            with open(f"/proc/{self.pid1}/mounts") as f:
                lines = f.read().splitlines()
        except OSError:
            return
        for line in lines:
            fields = line.split()
            if len(fields) >= 3:
                yield fields[0], fields[1], fields[2]
