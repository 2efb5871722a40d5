"""fork_beside_operation: a process a native agent leaves behind its operation is born in
the resource's cgroup, so the operation's end has nothing to move."""

from __future__ import annotations

import os
import select

import pytest

from hacore.executor import cgroup_tree
from hacore.executor.cgroups import fork_beside_operation, fork_into, own_cgroup, read_pids

BUDGET = 30.0


def _child_reports(write_fd: int) -> None:
    """In the operation's child: report its own cgroup and its background child's."""
    try:
        lines = [f"op {own_cgroup()}"]
        pid = fork_beside_operation()
        if pid == 0:
            os.write(write_fd, f"beside {own_cgroup()}\n".encode())
            os._exit(0)
        os.waitpid(pid, 0)
        os.write(write_fd, ("\n".join(lines) + "\n").encode())
    finally:
        os._exit(0)


def _read_all(read_fd: int) -> str:
    data = b""
    while True:
        ready, _, _ = select.select([read_fd], [], [], BUDGET)
        assert ready, "the operation's child did not report"
        chunk = os.read(read_fd, 4096)
        if not chunk:
            return data.decode()
        data += chunk


def test_background_child_is_born_in_the_resource_group():
    """From an operation's child, fork_beside_operation's child lives in the resource's
    group (the operation group's parent), not in the operation's group."""
    tree = cgroup_tree()
    if not tree.available:
        pytest.skip("cgroup v2 is not writable here")
    group = tree.operation_group("beside-test")
    assert group is not None
    read_fd, write_fd = os.pipe()
    try:
        pid = fork_into(group)
        if pid == 0:
            os.close(read_fd)
            _child_reports(write_fd)
        os.close(write_fd)
        report = dict(line.split(" ", 1) for line in _read_all(read_fd).splitlines())
        os.waitpid(pid, 0)
    finally:
        os.close(read_fd)
        assert read_pids(group) == []
        tree.end_operation("beside-test", group, reusable=False)
    assert report["op"].endswith("/" + group.name)
    assert report["beside"] == report["op"].rsplit("/", 1)[0]


def test_outside_an_operation_group_it_is_a_plain_fork():
    """Outside an operation's group (a CLI, a test) the child stays where its parent is."""
    read_fd, write_fd = os.pipe()
    pid = fork_beside_operation()
    if pid == 0:
        try:
            os.write(write_fd, own_cgroup().encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    got = _read_all(read_fd)
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert got == own_cgroup()
