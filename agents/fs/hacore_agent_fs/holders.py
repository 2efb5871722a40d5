"""Which processes use a mounted file system, and ending exactly those.

A process uses the mount when its cwd, its root, one of its open files or one of its
memory maps is a file on that file system (same st_dev) at a path under the mountpoint.
Both must hold, so a process on another mount of the same device, or anywhere else, is
never touched.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import psutil

TERM_BUDGET = 5.0
KILL_BUDGET = 5.0
POLL = 0.1


@dataclass(frozen=True)
class Holder:
    pid: int
    name: str
    why: str  # "cwd", "root", "open file PATH", "map PATH"

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.name}, {self.why})"


def _under(path: str, mountpoint: str) -> bool:
    return path == mountpoint or path.startswith(mountpoint.rstrip("/") + "/")


def _link_on(link: str, dev: int, mountpoint: str) -> str | None:
    """The target of a /proc symlink when it is a file on ``dev`` under ``mountpoint``."""
    try:
        target = os.readlink(link)
        if not _under(target.removesuffix(" (deleted)"), mountpoint):
            return None
        if os.stat(link).st_dev != dev:
            return None
    except OSError:
        return None
    return target


def _maps_on(pid: int, dev: int, mountpoint: str) -> str | None:
    major, minor = os.major(dev), os.minor(dev)
    try:
        with open(f"/proc/{pid}/maps") as maps:
            for line in maps:
                fields = line.split(None, 5)
                if len(fields) < 6:
                    continue
                dev_major, _, dev_minor = fields[3].partition(":")
                path = fields[5].strip()
                if (int(dev_major, 16), int(dev_minor, 16)) == (major, minor) and _under(
                    path, mountpoint
                ):
                    return path
    except (OSError, ValueError):
        return None
    return None


def holders_of(dev: int, mountpoint: str) -> list[Holder]:
    """Every process (but this one) using the file system ``dev`` mounted at ``mountpoint``."""
    found = []
    me = os.getpid()
    for pid in psutil.pids():
        if pid == me:
            continue
        why = None
        for kind in ("cwd", "root"):
            if _link_on(f"/proc/{pid}/{kind}", dev, mountpoint) is not None:
                why = kind
                break
        if why is None:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                fds = []
            for fd in fds:
                target = _link_on(f"/proc/{pid}/fd/{fd}", dev, mountpoint)
                if target is not None:
                    why = f"open file {target}"
                    break
        if why is None:
            mapped = _maps_on(pid, dev, mountpoint)
            if mapped is not None:
                why = f"map {mapped}"
        if why is not None:
            try:
                name = psutil.Process(pid).name()
            except psutil.Error:
                continue
            found.append(Holder(pid, name, why))
    return found


def _signal(holders: list[Holder], signum: int) -> None:
    for holder in holders:
        try:
            os.kill(holder.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _wait_released(dev: int, mountpoint: str, budget: float) -> list[Holder]:
    deadline = time.monotonic() + budget
    while True:
        left = holders_of(dev, mountpoint)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(POLL)


def end_holders(
    dev: int, mountpoint: str, term_budget: float = TERM_BUDGET, kill_budget: float = KILL_BUDGET
) -> tuple[list[Holder], list[Holder]]:
    """SIGTERM the mount's users, SIGKILL those left after ``term_budget``.

    Returns (the processes signalled, those still using the mount after both budgets).
    A dead process that is not yet reaped holds no files, so it no longer counts.
    """
    first = holders_of(dev, mountpoint)
    if not first:
        return [], []
    _signal(first, signal.SIGTERM)
    left = _wait_released(dev, mountpoint, term_budget)
    if left:
        _signal(left, signal.SIGKILL)
        left = _wait_released(dev, mountpoint, kill_budget)
    return first, left
