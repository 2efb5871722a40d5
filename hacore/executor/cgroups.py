"""cgroup v2 groups per resource and per operation, so no child escapes a kill.

A process group is not enough: a child that calls setsid() leaves it. Where the cgroup v2
hierarchy is writable, each operation runs in a group of its own under its resource's group
(<own cgroup>/hacore/<resource>/op-N); at a timeout the operation's group is killed whole;
after a normal end its survivors (the daemons a start left running) move up into the
resource's group, where a stop must leave nothing behind.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import struct
import time
from pathlib import Path

_counter = itertools.count(1)
_SAFE = re.compile(r"[^A-Za-z0-9_.:-]")


def cgroup2_mount() -> Path | None:
    """Where cgroup v2 is mounted (``/sys/fs/cgroup`` or, in a hybrid layout, ``.../unified``)."""
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) > 2 and fields[2] == "cgroup2":
                    return Path(fields[1])
    except OSError:
        return None
    return None


def own_cgroup() -> str:
    """This process's cgroup v2 path (``0::/path`` in /proc/self/cgroup)."""
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return "/"


def _safe_name(text: str) -> str:
    return _SAFE.sub("_", text)[:100] or "_"


def read_pids(group: Path) -> list[int]:
    try:
        return [int(x) for x in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


class CgroupTree:
    """The hacore subtree of this process's cgroup, or nothing when it is not writable."""

    def __init__(self, base: Path | None) -> None:
        self.base = base
        #: keep a resource's emptied operation group for its next operation (the warm helper
        #: does: creating and removing a cgroup costs about 0.1 ms each on a small VM)
        self.reuse_groups = False
        self._spare: dict[str, Path] = {}
        self._open: dict[Path, tuple[int, int]] = {}  # reused group -> (directory fd, procs fd)

    @classmethod
    def discover(cls) -> CgroupTree:
        """The writable subtree, or none when cgroup v2 is absent, read-only, or switched off
        with HACORE_EXECUTOR_CGROUPS=0 (operations then rely on their process group alone)."""
        if os.environ.get("HACORE_EXECUTOR_CGROUPS", "1") == "0":
            return cls(None)
        mount = cgroup2_mount()
        if mount is None:
            return cls(None)
        base = mount / own_cgroup().lstrip("/") / "hacore"
        try:
            base.mkdir(exist_ok=True)
            probe = base / f"probe-{os.getpid()}"
            probe.mkdir(exist_ok=True)
            probe.rmdir()
        except OSError:
            return cls(None)
        tree = cls(base)
        tree.remove_stale_groups()
        return tree

    def remove_stale_groups(self) -> None:
        """Remove the empty operation groups of executors that died (op-<pid>-N, pid gone),
        then resource groups left empty. Live groups are never touched: their executor's pid
        is alive, and a populated group cannot be removed anyway."""
        if self.base is None:
            return
        for resource in [p for p in self.base.iterdir() if p.is_dir()]:
            try:
                self._remove_stale_in(resource)
            except FileNotFoundError:
                pass  # another executor sharing this tree removed it meanwhile

    def _remove_stale_in(self, resource: Path) -> None:
        for group in [p for p in resource.iterdir() if p.is_dir() and p.name.startswith("op-")]:
            owner = group.name.split("-")[1]
            if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                try:
                    group.rmdir()
                except OSError:
                    pass
        if not any(p.is_dir() for p in resource.iterdir()):
            try:
                resource.rmdir()
            except OSError:
                pass  # a service still runs in it

    @property
    def available(self) -> bool:
        return self.base is not None

    def resource_group(self, instance: str) -> Path | None:
        if self.base is None:
            return None
        group = self.base / _safe_name(instance)
        try:
            group.mkdir(exist_ok=True)
        except OSError:
            return None
        return group

    def operation_group(self, instance: str) -> Path | None:
        """An empty group for one operation of a resource: new, or the one its last
        operation left empty (operations of one resource never overlap)."""
        spare = self._spare.pop(instance, None)
        if spare is not None:
            return spare
        parent = self.resource_group(instance)
        if parent is None:
            return None
        group = parent / f"op-{os.getpid()}-{next(_counter)}"
        try:
            group.mkdir()
        except OSError:
            return None
        return group

    def directory_fd(self, group: Path) -> int:
        """An open descriptor of ``group`` (for clone3); kept while the group is reused,
        else the caller closes it."""
        if not self.reuse_groups:
            return os.open(group, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        return self._descriptors(group)[0]

    def _descriptors(self, group: Path) -> tuple[int, int]:
        fds = self._open.get(group)
        if fds is None:
            directory = os.open(group, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fds = self._open[group] = (directory, os.open("cgroup.procs", os.O_RDONLY | os.O_CLOEXEC,
                                                          dir_fd=directory))
        return fds

    def is_empty(self, group: Path) -> bool:
        """Whether no process is left in ``group`` (cheap for a reused group: no open)."""
        if group in self._open:
            try:
                return not os.pread(self._open[group][1], 64, 0)
            except OSError:
                pass
        return not read_pids(group)

    def forget(self, group: Path) -> None:
        """Close what is kept open for ``group`` (before it is removed)."""
        for fd in self._open.pop(group, ()):
            os.close(fd)

    def end_operation(self, instance: str, group: Path | None, reusable: bool) -> None:
        """After an operation: what it left running moves up to the resource's group; its
        group is kept for the resource's next operation (``reusable`` and reuse_groups on)
        or removed, and the resource's group with it when nothing runs there."""
        if group is not None:
            empty = self.is_empty(group) or release_survivors(group)
            if empty and reusable and self.reuse_groups:
                self._spare[instance] = group
                return
            self.forget(group)
            try:
                group.rmdir()
            except OSError:
                pass
        self.prune(instance)

    def prune(self, instance: str) -> None:
        """Remove a resource's group once nothing runs in it."""
        if self.base is None:
            return
        try:
            (self.base / _safe_name(instance)).rmdir()
        except OSError:
            pass  # still populated (a running service) or already gone

    def resource_pids(self, instance: str) -> list[int]:
        """Processes left in a resource's group (outside any running operation)."""
        if self.base is None:
            return []
        return read_pids(self.base / _safe_name(instance))


def join(group: Path) -> None:
    """Move the calling process into ``group`` (called in the forked child before exec)."""
    with open(group / "cgroup.procs", "w") as procs:
        procs.write("0")


def kill_group(group: Path, budget: float = 5.0) -> list[int]:
    """SIGKILL everything in ``group`` and wait (bounded) until it is empty. Returns the pids."""
    pids = read_pids(group)
    try:
        (group / "cgroup.kill").write_text("1")
    except OSError:
        for pid in pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + budget
    while read_pids(group) and time.monotonic() < deadline:
        time.sleep(0.005)
    return pids


def release_survivors(group: Path) -> bool:
    """Move an ended operation's survivors up to the resource's group; True once it is empty."""
    parent_procs = group.parent / "cgroup.procs"
    for _ in range(5):
        pids = read_pids(group)
        if not pids:
            return True
        for pid in pids:
            try:
                parent_procs.write_text(str(pid))
            except OSError:
                pass
    return not read_pids(group)


def release_group(group: Path) -> None:
    """Move an ended operation's survivors up to the resource's group and remove the group."""
    release_survivors(group)
    try:
        group.rmdir()
    except OSError:
        pass


_SYS_CLONE3 = 435  # x86_64 and aarch64
_CLONE_INTO_CGROUP = 0x200000000
_SIGCHLD = 17
_clone3_works: bool | None = None


def fork_into(group: Path | None) -> int:
    """fork(), with the child born inside ``group``; returns 0 in the child, its pid in the parent.

    Moving a running process into a cgroup takes a kernel lock that costs most of a
    millisecond; clone3(CLONE_INTO_CGROUP) places the child there at birth for almost
    nothing. Only safe in a single-threaded process (the executor's helper, the CLI): like
    os.fork() but without Python's at-fork hooks. Falls back to os.fork() + join.
    """
    global _clone3_works
    if group is not None and _clone3_works is not False:
        try:
            pid = _clone3_into(group)
            _clone3_works = True
            return pid
        except OSError:
            _clone3_works = False
    pid = os.fork()
    if pid == 0 and group is not None:
        try:
            join(group)
        except OSError:
            pass
    return pid


def fork_beside_operation() -> int:
    """fork() for a native agent leaving a process behind its operation (a start's short
    background helper): 0 in the child, its pid in the parent. Run by the executor, the
    child is born in the resource's group rather than the operation's, so the operation's
    end need not move it there: each such move waits for a kernel grace period (3-10 ms on
    a loaded host), and the next resource's start waits with it. A plain fork() elsewhere
    (no cgroup v2, or not in an operation's group). Single-threaded callers only (an
    operation's child is one), as ``fork_into``."""
    mount = cgroup2_mount()
    here = Path(own_cgroup())
    if mount is not None and here.name.startswith("op-"):
        return fork_into(mount / str(here.parent).lstrip("/"))
    return os.fork()


def _clone3_into(group: Path) -> int:
    libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL keeps the GIL held across the call
    fd = os.open(group, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        # stack_size, tls, set_tid, set_tid_size, cgroup
        args = struct.pack("11Q", _CLONE_INTO_CGROUP, 0, 0, 0, _SIGCHLD, 0, 0, 0, 0, 0, fd)
        buffer = ctypes.create_string_buffer(args, len(args))
        libc.syscall.restype = ctypes.c_long
        pid = libc.syscall(ctypes.c_long(_SYS_CLONE3), buffer, ctypes.c_size_t(len(args)))
        if pid < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return int(pid)
    finally:
        os.close(fd)
