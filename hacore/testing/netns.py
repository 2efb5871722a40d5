"""Entering a network namespace from Python, and small tools that need one.

Python 3.11 has no ``os.setns``; this calls libc's. A network namespace is per thread, so
``in_netns`` switches only the calling thread and switches it back on exit. Sockets made
inside stay in that namespace after the switch back (pyroute2's ``IPRoute`` included).
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from hacore.errors import OperationFailed

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def in_netns(path: str) -> Iterator[None]:
    """Run the body with the calling thread inside the network namespace at ``path``.

    ``path`` is a namespace file: ``/run/netns/NAME`` or ``/proc/PID/ns/net``.
    Example: ``with in_netns(node.netns_path): IPRoute().get_addr()``.
    """
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        target = os.open(path, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def call_in_netns(path: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` in a short-lived thread inside the namespace at ``path``; return its result."""
    box: dict[str, object] = {}

    def body() -> None:
        try:
            with in_netns(path):
                box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=body, name="hacore-netns-call", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _ping_here(address: str, timeout: float) -> bool:
    ident = (os.getpid() + threading.get_native_id()) & 0xFFFF
    payload = b"hacore-testbed"
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        deadline = time.monotonic() + timeout
        try:
            sock.sendto(packet, (address, 0))
        except OSError:
            return False
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, (source, _) = sock.recvfrom(2048)
            except (TimeoutError, OSError):
                return False
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, got_ident, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if kind == 0 and got_ident == ident and source == address:
                return True
    return False


def ping(netns_path: str, address: str, timeout: float = 1.0) -> bool:
    """Send one ICMP echo from inside a namespace; True when the reply came within ``timeout``."""
    return call_in_netns(netns_path, lambda: _ping_here(address, timeout))


def ip_batch(
    commands: list[str], netns: str | None = None, timeout: float = 30.0, check: bool = True
) -> None:
    """Run iproute2 commands as one ``ip -batch`` (in the named namespace if given).

    With ``check`` a failure raises OperationFailed; without, failures are ignored (every
    command is still tried: ``-force``).
    """
    if not commands:
        return
    argv = ["ip", "-force"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    proc = subprocess.run(
        argv, input="\n".join(commands) + "\n", capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    if proc.returncode != 0 and check:
        raise OperationFailed(
            f"ip -batch{' in ' + netns if netns else ''} failed: {proc.stderr.strip()} "
            f"(commands: {'; '.join(commands)})"
        )
