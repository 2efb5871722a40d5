"""Announcing a new address without holding up the start: the first frame now, the rest
from a short-lived background process.

Neighbours switch to the new MAC on the first gratuitous ARP / unsolicited NA; the later
ones (``arp_count`` - 1, ``spacing`` apart) only cover a lost frame. Sending them from the
start itself made every start wait ``(arp_count - 1) * spacing`` (40 ms at the defaults),
and the resources after the address (and a failover's first answer) waited with it.

The background sender holds an exclusive ``flock`` on a per-address file under
``ANNOUNCE_DIR`` from before it is forked until it exits; ``stop`` takes that lock before
removing the address (``wait_for_announcer``), so no announcement of an address ever
leaves a node after its stop began to remove it (a late one would send neighbours back
to this node after a move). The sender is born in the resource's cgroup, not the
operation's (``fork_beside_operation``), so ending the operation moves nothing; it closes
every descriptor but its packet socket and the lock, so no pipe of the executor waits for it, and ends within
``(arp_count - 1) * spacing`` plus scheduling delays.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from ipaddress import IPv4Address, IPv6Address

from hacore.executor.cgroups import fork_beside_operation
from hacore_agent_ip.probes import garp_frame, unsolicited_na_frame

#: one lock file per address (per boot: /run is a tmpfs)
ANNOUNCE_DIR = "/run/hacore/ip"
#: how long a stop waits at most for a background sender to finish (it needs
#: (arp_count - 1) * spacing; this bound only matters if the sender is stuck)
STOP_WAIT = 5.0


def lock_path(ip: IPv4Address | IPv6Address) -> str:
    """The announcement lock file of ``ip``."""
    return os.path.join(ANNOUNCE_DIR, f"announce-{ip.compressed.replace(':', '_')}.lock")


def announce_frame(mac: str, ip: IPv4Address | IPv6Address) -> bytes:
    """The gratuitous ARP (IPv4) or unsolicited NA (IPv6) for ``ip`` at ``mac``."""
    return garp_frame(mac, ip) if ip.version == 4 else unsolicited_na_frame(mac, ip)


def announce_first_then_background(sock: socket.socket, mac: str, ip: IPv4Address | IPv6Address,
                                   count: int, spacing: float = 0.02) -> int | None:
    """Send the first of ``count`` announcements on ``sock`` now and the other ``count - 1``
    from a forked process, ``spacing`` seconds apart. Returns that process's pid (None when
    one frame was all there was to send, or when no process could be forked: then the rest
    were sent here). Raises OSError when the first frame cannot be
    sent; the caller keeps ``sock`` and may close it at once (the child has its own copy)."""
    frame = announce_frame(mac, ip)
    sock.send(frame)
    if count <= 1:
        return None
    os.makedirs(ANNOUNCE_DIR, mode=0o755, exist_ok=True)
    lock_fd = os.open(lock_path(ip), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # shared with the child: held until it exits
        try:
            pid = fork_beside_operation()  # born outside the operation's cgroup
        except OSError:  # no process to spare: send the rest here, as before
            for _ in range(count - 1):
                time.sleep(spacing)
                sock.send(frame)
            return None
        if pid == 0:
            _send_rest(sock, lock_fd, frame, count - 1, spacing)
        return pid
    finally:
        os.close(lock_fd)  # the parent's copy; the child's keeps the lock


def _send_rest(sock: socket.socket, lock_fd: int, frame: bytes, count: int,
               spacing: float) -> None:
    """The background sender (never returns): detached, quiet, ``count`` frames, exit."""
    try:
        os.setsid()  # its own session: the operation's end or a signal to its group spares it
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)  # the executor's output pipes reach their end now
        keep = sorted({0, 1, 2, sock.fileno(), lock_fd})
        for low, high in zip(keep, keep[1:] + [os.sysconf("SC_OPEN_MAX")]):
            os.closerange(low + 1, high)
        for _ in range(count):
            time.sleep(spacing)
            sock.send(frame)
    finally:  # whatever happened (a lost frame only costs its cover), never return
        os._exit(0)


def wait_for_announcer(ip: IPv4Address | IPv6Address, budget: float = STOP_WAIT) -> bool:
    """Wait until no background sender announces ``ip`` (bounded by ``budget``); True when
    none does (or none ever did)."""
    try:
        lock_fd = os.open(lock_path(ip), os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        deadline = time.monotonic() + budget
        while True:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.005)
    finally:
        os.close(lock_fd)
