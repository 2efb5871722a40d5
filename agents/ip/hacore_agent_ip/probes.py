"""Raw frames on one interface: ARP probe and gratuitous ARP, IPv6 DAD probe and unsolicited NA.

Everything goes through an AF_PACKET socket bound to the interface, so no external tool
(arping, ndisc6) is needed and the answer's MAC address is at hand.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import struct
import time

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
BROADCAST = b"\xff" * 6
ALL_NODES = ipaddress.IPv6Address("ff02::1")
ICMPV6 = 58
NS, NA = 135, 136
NA_OVERRIDE = 0x20000000

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _arp(op: int, mac: bytes, sender: bytes, target_mac: bytes, target: bytes, dst: bytes) -> bytes:
    header = dst + mac + struct.pack("!H", ETH_P_ARP)
    return header + struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac, sender, target_mac, target
    )


def arp_probe_frame(mac: str, ip: IPv4) -> bytes:
    """RFC 5227 probe: who has IP? asked from 0.0.0.0, so nobody's cache learns anything."""
    return _arp(1, mac_bytes(mac), b"\0" * 4, b"\0" * 6, ip.packed, BROADCAST)


def garp_frame(mac: str, ip: IPv4) -> bytes:
    """Gratuitous ARP (a request for our own address): neighbours update their caches."""
    return _arp(1, mac_bytes(mac), ip.packed, b"\0" * 6, ip.packed, BROADCAST)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _icmpv6_frame(mac: str, src: IPv6, dst: IPv6, dst_mac: bytes, body: bytes) -> bytes:
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(body), ICMPV6)
    body = body[:2] + struct.pack("!H", _checksum(pseudo + body)) + body[4:]
    ip_header = struct.pack("!IHBB16s16s", 6 << 28, len(body), ICMPV6, 255, src.packed, dst.packed)
    return dst_mac + mac_bytes(mac) + struct.pack("!H", ETH_P_IPV6) + ip_header + body


def dad_probe_frame(mac: str, ip: IPv6) -> bytes:
    """RFC 4862 duplicate address detection: NS for IP from ::, to its solicited-node group."""
    group = IPv6(b"\xff\x02" + b"\0" * 9 + b"\x01\xff" + ip.packed[13:])
    body = struct.pack("!BBHI16s", NS, 0, 0, 0, ip.packed)
    return _icmpv6_frame(mac, IPv6("::"), group, b"\x33\x33" + group.packed[12:], body)


def unsolicited_na_frame(mac: str, ip: IPv6) -> bytes:
    """Unsolicited neighbour advertisement (override) to all nodes, with our link address."""
    body = struct.pack("!BBHI16s", NA, 0, 0, NA_OVERRIDE, ip.packed)
    body += struct.pack("!BB6s", 2, 1, mac_bytes(mac))
    return _icmpv6_frame(mac, ip, ALL_NODES, b"\x33\x33" + ALL_NODES.packed[12:], body)


def _holder_v4(frame: bytes, ip: IPv4, own: bytes) -> str | None:
    if len(frame) < 42 or frame[12:14] != struct.pack("!H", ETH_P_ARP):
        return None
    sender_mac, sender_ip = frame[22:28], frame[28:32]
    if sender_ip == ip.packed and sender_mac != own:
        return mac_text(sender_mac)
    return None


def _holder_v6(frame: bytes, ip: IPv6, own: bytes) -> str | None:
    if len(frame) < 78 or frame[12:14] != struct.pack("!H", ETH_P_IPV6) or frame[20] != ICMPV6:
        return None
    icmp = frame[54:]
    if icmp[0] != NA or icmp[8:24] != ip.packed or frame[6:12] == own:
        return None
    options = icmp[24:]
    while len(options) >= 8 and options[1]:
        if options[0] == 2:
            return mac_text(options[2:8])
        options = options[options[1] * 8 :]
    return mac_text(frame[6:12])


def packet_socket(ifname: str, version: int) -> socket.socket:
    """An ARP (IPv4) or IPv6 packet socket on ``ifname``, for probing and announcing.

    Made with protocol 0 and then bound, so the kernel registers its receive hook once
    (a protocol given to socket() registers it for every interface first and bind() moves
    it, waiting for an RCU grace period: 8-30 ms on a loaded host). Closing one waits for
    another grace period, so a start probes and announces on the same socket."""
    proto = ETH_P_ARP if version == 4 else ETH_P_IPV6
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        sock.bind((ifname, proto))
    except OSError:
        sock.close()
        raise
    return sock


def find_holder(
    ifname: str, mac: str, ip: IPv4 | IPv6, probes: int = 2, spacing: float = 0.05,
    wait: float = 0.15, sock: socket.socket | None = None
) -> str | None:
    """The MAC of another host answering for ``ip`` on ``ifname``, or None when none does.

    Sends ``probes`` probes ``spacing`` seconds apart and listens until ``wait`` seconds after
    the last one; any ARP from ``ip`` or NA for ``ip`` by another MAC is an answer.

    0.2 s in all by default: a live host's kernel answers an ARP probe or a DAD solicitation
    within a millisecond or two on a LAN, so a longer wait only delays every start (a
    failover's included); two probes cover one lost frame. A host too slow to answer in
    0.15 s is not told apart by 0.5 s either (RFC 5227's 1-2 s are for lossy wireless).
    ``sock``: a ``packet_socket`` to use (and leave open), else one is made and closed.
    """
    v4 = ip.version == 4
    frame = arp_probe_frame(mac, ip) if v4 else dad_probe_frame(mac, ip)
    reader = _holder_v4 if v4 else _holder_v6
    own = mac_bytes(mac)
    if sock is None:
        with packet_socket(ifname, ip.version) as own_sock:
            return find_holder(ifname, mac, ip, probes, spacing, wait, own_sock)
    sent = 0
    next_send = time.monotonic()
    end = next_send + spacing * (probes - 1) + wait
    while True:
        now = time.monotonic()
        if sent < probes and now >= next_send:
            sock.send(frame)
            sent += 1
            next_send = now + spacing
        if now >= end:
            return None
        timeout = min(end, next_send if sent < probes else end) - now
        ready, _, _ = select.select([sock], [], [], max(0.0, timeout))
        if not ready:
            continue
        data, address = sock.recvfrom(2048)
        if address[2] == PACKET_OUTGOING:
            continue
        holder = reader(data, ip, own)
        if holder is not None:
            return holder


def announce(ifname: str, mac: str, ip: IPv4 | IPv6, count: int, spacing: float = 0.02,
             sock: socket.socket | None = None) -> None:
    """Tell neighbours ``ip`` is at ``mac``: ``count`` gratuitous ARPs or unsolicited NAs.

    Close together (as keepalived sends its burst): neighbours switch on the first one, the
    others only cover a lost frame, and the start (and the resources after it) waits for all.
    ``sock``: the ``packet_socket`` the probe used (left open), else one is made and closed."""
    if sock is None:
        with packet_socket(ifname, ip.version) as own_sock:
            announce(ifname, mac, ip, count, spacing, own_sock)
        return
    frame = garp_frame(mac, ip) if ip.version == 4 else unsolicited_na_frame(mac, ip)
    for number in range(count):
        if number:
            time.sleep(spacing)
        sock.send(frame)
