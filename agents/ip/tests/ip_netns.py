"""Test helpers for the ip agent: a node namespace and a peer namespace joined by a veth pair."""

from __future__ import annotations

import ctypes
import os
import pickle
import select
import subprocess
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CLONE_NEWNET = 0x40000000
CHILD_BUDGET = 60.0


@dataclass(frozen=True)
class Pair:
    node: str
    peer: str
    node_mac: str
    peer_mac: str


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


def make_pair(prefix: str) -> Pair:
    """Namespaces PREFIX-a (node) and PREFIX-b (peer), eth0 in each, 192.0.2.0/24, 2001:db8::/64."""
    node, peer = f"{prefix}-a", f"{prefix}-b"
    sh("ip", "netns", "add", node)
    sh("ip", "netns", "add", peer)
    sh(
        "ip",
        "-n",
        node,
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        peer,
    )
    for ns, host in ((node, 1), (peer, 2)):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "addr", "add", f"192.0.2.{host}/24", "dev", "eth0")
        sh("ip", "-n", ns, "addr", "add", f"2001:db8::{host}/64", "dev", "eth0", "nodad")
    return Pair(node, peer, mac_of(node), mac_of(peer))


def mac_of(ns: str) -> str:
    return sh("ip", "netns", "exec", ns, "cat", "/sys/class/net/eth0/address").strip()


def remove_pair(pair_prefix: str) -> None:
    for suffix in ("a", "b"):
        subprocess.run(
            ["ip", "netns", "del", f"{pair_prefix}-{suffix}"],
            capture_output=True,
            check=False,
            timeout=30,
        )


def addresses(ns: str) -> str:
    return sh("ip", "-n", ns, "addr", "show", "dev", "eth0")


def _enter(ns: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
    finally:
        os.close(fd)


def spawn_in(ns: str, body: Callable[..., Any], *args: Any) -> tuple[int, int]:
    """Fork a child that enters network namespace ``ns`` and runs ``body(*args)``.

    Returns (pid, read end of the pipe carrying the pickled result); see ``collect``.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _enter(ns)
            payload = pickle.dumps(("ok", body(*args)))
        except BaseException:  # noqa: BLE001 - reported to the parent
            payload = pickle.dumps(("error", traceback.format_exc()))
        try:
            os.write(write_fd, payload)
        finally:
            os._exit(0)
    os.close(write_fd)
    return pid, read_fd


def collect(pid: int, read_fd: int, budget: float = CHILD_BUDGET) -> Any:
    """The result of a ``spawn_in`` child; its traceback as an AssertionError if it failed."""
    data = bytearray()
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], budget)
            if not ready:
                os.kill(pid, 9)
                raise AssertionError(f"child in namespace did not answer within {budget} s")
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            data.extend(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    status, value = pickle.loads(bytes(data)) if data else ("error", "child wrote nothing")
    if status != "ok":
        raise AssertionError("in namespace:\n" + value)
    return value


def in_netns(ns: str, body: Callable[..., Any], *args: Any) -> Any:
    """Run ``body(*args)`` in network namespace ``ns`` (a forked child) and return its result."""
    return collect(*spawn_in(ns, body, *args))
