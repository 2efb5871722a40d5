"""cgroup v2 groups for testbed nodes: one group per node, so a node can be frozen whole."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hacore.errors import OperationFailed


def cgroup2_root() -> Path:
    """Where cgroup v2 is mounted on this host, read from /proc/mounts.

    /sys/fs/cgroup on a systemd host, /sys/fs/cgroup/unified on a hybrid layout.
    """
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "cgroup2":
                return Path(fields[1])
    raise OperationFailed("no cgroup2 file system is mounted (see /proc/mounts); mount one")


class NodeCgroup:
    """A cgroup v2 directory holding every process of one node."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def relative(self) -> str:
        """The group's path below the cgroup2 root, e.g. ``hacore-testbed-x/n1``."""
        return str(self.path.relative_to(cgroup2_root()))

    @property
    def procs_file(self) -> Path:
        return self.path / "cgroup.procs"

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def pids(self) -> list[int]:
        """Host PIDs of the processes in the group (empty when it does not exist)."""
        try:
            return [int(x) for x in self.procs_file.read_text().split()]
        except FileNotFoundError:
            return []

    def set_frozen(self, frozen: bool, timeout: float = 10.0) -> None:
        """Freeze or thaw every process of the group, and wait until the kernel says so."""
        (self.path / "cgroup.freeze").write_text("1" if frozen else "0")
        want = f"frozen {1 if frozen else 0}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if want in (self.path / "cgroup.events").read_text().splitlines():
                return
            time.sleep(0.005)
        raise OperationFailed(f"cgroup {self.path} did not reach '{want}' within {timeout} s")

    def kill(self) -> None:
        """SIGKILL every process of the group (cgroup.kill)."""
        try:
            (self.path / "cgroup.kill").write_text("1")
        except FileNotFoundError:
            pass

    def remove(self, timeout: float = 5.0) -> None:
        """Remove the group once its processes are gone (bounded wait)."""
        deadline = time.monotonic() + timeout
        while self.path.exists():
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise OperationFailed(f"cannot remove cgroup {self.path}: {exc}") from exc
                if (self.path / "cgroup.freeze").exists():
                    (self.path / "cgroup.freeze").write_text("0")
                self.kill()
                time.sleep(0.01)
