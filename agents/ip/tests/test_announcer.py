"""The ip agent's announcements after the first one: sent from a background process that a
stop waits for (hacore_agent_ip.announcer)."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import time
from pathlib import Path

import pytest
from hacore_agent_ip import announcer
from ip_netns import collect, in_netns, make_pair, remove_pair, spawn_in

LISTEN_BUDGET = 20.0
#: far apart, so that "start returned before the later frames" needs no timing luck
SLOW_SPACING = 2.0


@pytest.fixture
def pair():
    prefix = f"hacore-ann-{os.getpid()}"
    remove_pair(prefix)
    try:
        yield make_pair(prefix)
    finally:
        remove_pair(prefix)


def arrivals(ready: str, address: str, want: int) -> list[tuple[float, str]]:
    """In the peer: (monotonic time, sender MAC) of each gratuitous ARP for ``address``."""
    ip = ipaddress.ip_address(address)
    seen: list[tuple[float, str]] = []
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806)) as sock:
        sock.bind(("eth0", 0x0806))
        sock.settimeout(0.2)
        Path(ready).touch()
        end = time.monotonic() + LISTEN_BUDGET
        while len(seen) < want and time.monotonic() < end:
            try:
                frame = sock.recv(2048)
            except TimeoutError:
                continue
            if frame[28:32] == ip.packed and frame[38:42] == ip.packed:
                seen.append((time.monotonic(), ":".join(f"{b:02x}" for b in frame[6:12])))
    return seen


def announce_slowly(address: str, mac: str, lock_dir: str) -> tuple[float, bool, float, bool]:
    """In the node: announce 3 times SLOW_SPACING apart; (when the call returned, whether it
    forked a sender, when waiting for the sender ended, whether the wait succeeded)."""
    from hacore_agent_ip.probes import packet_socket

    announcer.ANNOUNCE_DIR = lock_dir
    ip = ipaddress.ip_address(address)
    with packet_socket("eth0", 4) as sock:
        pid = announcer.announce_first_then_background(sock, mac, ip, 3, SLOW_SPACING)
    returned = time.monotonic()
    waited = announcer.wait_for_announcer(ip, budget=LISTEN_BUDGET)
    ended = time.monotonic()
    if pid is not None:
        os.waitpid(pid, 0)
    return returned, pid is not None, ended, waited


@pytest.mark.netns
def test_first_announcement_now_the_rest_from_the_background(pair, tmp_path):
    """The call returns after the first gratuitous ARP, all three reach the peer from the
    node's MAC, and waiting for the sender (as stop does) ends only after the last one."""
    ready = tmp_path / "ready"
    listener = spawn_in(pair.peer, arrivals, str(ready), "192.0.2.99", 3)
    deadline = time.monotonic() + LISTEN_BUDGET
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    returned, forked, ended, waited = in_netns(pair.node, announce_slowly, "192.0.2.99",
                                               pair.node_mac, str(tmp_path / "locks"))
    seen = collect(*listener)
    assert forked and waited
    assert [mac for _, mac in seen] == [pair.node_mac] * 3
    assert seen[0][0] <= returned < seen[1][0]
    assert ended >= seen[2][0] - 0.5  # the wait outlasted the sender (lock held until its exit)


def test_wait_for_announcer_waits_for_the_lock_holder(tmp_path, monkeypatch):
    """wait_for_announcer fails while a sender holds the address's lock and succeeds at
    once when no sender runs (or never ran)."""
    monkeypatch.setattr(announcer, "ANNOUNCE_DIR", str(tmp_path))
    ip = ipaddress.ip_address("2001:db8::7")
    assert announcer.wait_for_announcer(ip, budget=0.0)  # no lock file: nothing to wait for
    with open(announcer.lock_path(ip), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # another process: flock locks of one open file don't exclude each other
            os.close(reader)
            os.write(writer, b"1" if announcer.wait_for_announcer(ip, budget=0.2) else b"0")
            os._exit(0)
        os.close(writer)
        blocked = os.read(reader, 1)
        os.close(reader)
        os.waitpid(pid, 0)
    assert blocked == b"0"
    assert announcer.wait_for_announcer(ip, budget=0.0)
    assert ":" not in os.path.basename(announcer.lock_path(ip))
