"""The leak check: what a test left behind on the host, compared with before it ran.

It compares named network namespaces, mounts (of the host's mount namespace), loop devices,
processes (this process's descendants, and any process in a network or PID namespace other
than the host's), cgroup v2 groups and the host's link count. Example::

    with leak_check():
        with Cluster(nodes=3) as c:
            ...
    # raises LeakError naming everything that is still there

The check looks at the whole machine. Things that belong to a testbed of another
process (names carrying a default prefix ``tb<pid>x<n>`` of another PID) are not counted,
so two test runs at once do not blame each other; anything else made meanwhile by
someone else would be.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import psutil

from hacore.testing.cgroups import cgroup2_root

_TESTBED_PREFIX = re.compile(r"\btb(\d+)x\d+\b")


def _foreign(item: str) -> bool:
    """True when ``item`` names a default-prefixed testbed of another process."""
    own = str(os.getpid())
    return any(m.group(1) != own for m in _TESTBED_PREFIX.finditer(item))


class LeakError(AssertionError):
    """Something a test made is still on the host after it finished."""


def _netns_names() -> frozenset[str]:
    try:
        return frozenset(os.listdir("/run/netns"))
    except FileNotFoundError:
        return frozenset()


#: mounts that iproute2 makes once, on the first `ip netns add` of the machine, and keeps
SYSTEM_MOUNTS = frozenset({"/run/netns", "/var/run/netns"})


def _mounts() -> frozenset[str]:
    with open("/proc/self/mountinfo") as f:
        return frozenset(
            f"{left.split(' ')[4]} ({right.split(' ')[0]} {right.split(' ')[1]})"
            for left, _, right in (line.rstrip("\n").partition(" - ") for line in f)
            if left.split(" ")[4] not in SYSTEM_MOUNTS
        )


def _loops() -> frozenset[str]:
    found = set()
    for entry in Path("/sys/block").glob("loop*"):
        backing = entry / "loop" / "backing_file"
        if backing.exists():
            found.add(f"/dev/{entry.name} -> {backing.read_text().strip()}")
    return frozenset(found)


def _ns(pid: int | str, kind: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except OSError:
        return None


def _cgroup_of(pid: int | str) -> str:
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return next((line[3:].strip() for line in f if line.startswith("0::")), "")
    except OSError:
        return ""


def _add_process(found: set[str], pid: int, argv: list[str]) -> None:
    cmdline, cgroup = " ".join(argv), _cgroup_of(pid)
    if not _foreign(f"{cmdline} {cgroup}"):
        found.add(f"{pid} {cmdline[:160]} [{cgroup}]")


def _processes() -> frozenset[str]:
    own_net, own_pid = _ns("self", "net"), _ns("self", "pid")
    found = set()
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        children = []
    for child in children:
        try:
            _add_process(found, child.pid, child.cmdline())
        except psutil.Error:
            continue
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        spaces = (_ns(entry, "net"), _ns(entry, "pid"))
        if None in spaces or spaces == (own_net, own_pid):
            continue
        try:
            _add_process(found, int(entry), psutil.Process(int(entry)).cmdline())
        except psutil.Error:
            continue
    return frozenset(found)


def _cgroups() -> frozenset[str]:
    root = cgroup2_root()
    found = set()
    for dirpath, dirnames, _ in os.walk(root):
        depth = Path(dirpath).relative_to(root).parts
        if len(depth) >= 4:
            dirnames[:] = []
        for name in dirnames:
            found.add(str(Path(dirpath, name).relative_to(root)))
    return frozenset(found)


def _host_links() -> frozenset[str]:
    return frozenset(os.listdir("/sys/class/net"))


@dataclass(frozen=True)
class HostSnapshot:
    """What the host holds at one moment, in the categories the leak check compares."""

    namespaces: frozenset[str]
    mounts: frozenset[str]
    loop_devices: frozenset[str]
    processes: frozenset[str]
    cgroups: frozenset[str]
    host_links: frozenset[str]

    @classmethod
    def take(cls) -> HostSnapshot:
        return cls(_netns_names(), _mounts(), _loops(), _processes(), _cgroups(), _host_links())

    def left_since(self, before: HostSnapshot, all_cgroups: bool = False) -> dict[str, list[str]]:
        """What this snapshot holds that ``before`` did not, per category (empty: no leak).

        Unless ``all_cgroups``, only cgroups of testbeds (hacore-testbed-*) count.
        """
        extra = {}
        for f in fields(self):
            new = sorted(x for x in getattr(self, f.name) - getattr(before, f.name) if not _foreign(x))
            if f.name == "cgroups" and not all_cgroups:
                new = [x for x in new if x.startswith("hacore-testbed-")]
            if new:
                extra[f.name] = new
        return extra


def report(extra: dict[str, list[str]]) -> str:
    return "; ".join(f"{kind}: {', '.join(items)}" for kind, items in extra.items())


@contextmanager
def leak_check(settle: float = 5.0, all_cgroups: bool = False) -> Iterator[HostSnapshot]:
    """Fail (LeakError) when the body leaves anything behind; waits up to ``settle`` s first.

    Cgroups count only below the testbed's groups (hacore-testbed-*; a node's own
    components make theirs there) unless ``all_cgroups``: other programs on a shared
    machine create and remove groups of their own all the time. Yields the snapshot
    taken before the body ran.
    """
    before = HostSnapshot.take()
    yield before
    deadline = time.monotonic() + settle
    while True:
        extra = HostSnapshot.take().left_since(before, all_cgroups)
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if extra:
        raise LeakError(f"left behind after the test: {report(extra)}")
