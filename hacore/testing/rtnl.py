"""A minimal rtnetlink reader: which addresses sit on which links, inside a namespace.

The S1 checker samples every node ten times a second; this keeps one netlink socket per
node (made inside the node's network namespace, where it stays) and parses only what it
needs. pyroute2's own namespace support forks helper processes, which a sampler cannot
afford to leave behind.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

from hacore.testing.netns import call_in_netns

NETLINK_ROUTE = 0
RTM_GETLINK, RTM_NEWLINK, RTM_GETADDR, RTM_NEWADDR = 18, 16, 22, 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFA_ADDRESS, IFA_LOCAL = 1, 2
IFF_UP, IFF_LOOPBACK, IFF_LOWER_UP = 0x1, 0x8, 0x10000


class RtnlReader:
    """A netlink route socket bound to one network namespace (``path``) at creation."""

    def __init__(self, path: str) -> None:
        self._sock = call_in_netns(
            path, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        )
        self._sock.settimeout(2.0)
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def _dump(self, kind: int, body: bytes) -> Iterator[tuple[int, bytes]]:
        self._seq += 1
        header = struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, self._seq, 0)
        self._sock.send(header + body)
        while True:
            data = self._sock.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, mtype, _, seq, _ = struct.unpack_from("=IHHII", data, offset)
                if length < 16:
                    return
                if seq == self._seq:
                    if mtype == NLMSG_DONE:
                        return
                    if mtype == NLMSG_ERROR:
                        raise OSError("netlink dump failed")
                    yield mtype, data[offset + 16 : offset + length]
                offset += (length + 3) & ~3

    @staticmethod
    def _attrs(data: bytes, offset: int) -> dict[int, bytes]:
        attrs = {}
        while offset + 4 <= len(data):
            length, kind = struct.unpack_from("=HH", data, offset)
            if length < 4:
                break
            attrs[kind] = data[offset + 4 : offset + length]
            offset += (length + 3) & ~3
        return attrs

    def link_flags(self) -> dict[int, int]:
        """{ifindex: flags} of every link."""
        flags = {}
        for mtype, msg in self._dump(RTM_GETLINK, struct.pack("=BxHiII", 0, 0, 0, 0, 0)):
            if mtype == RTM_NEWLINK:
                _, _, index, link_flags, _ = struct.unpack_from("=BxHiII", msg)
                flags[index] = link_flags
        return flags

    def addresses(self) -> list[tuple[str, int, int]]:
        """(address, ifindex, scope) of every address (IPv4 and IPv6)."""
        found = []
        for mtype, msg in self._dump(RTM_GETADDR, struct.pack("=BBBBI", 0, 0, 0, 0, 0)):
            if mtype != RTM_NEWADDR:
                continue
            family, _, _, scope, index = struct.unpack_from("=BBBBI", msg)
            attrs = self._attrs(msg, 8)
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw is None:
                continue
            found.append((socket.inet_ntop(family, raw), index, scope))
        return found

    def active_addresses(self) -> set[tuple[str, int]]:
        """(address, scope) of addresses on non-loopback links that are up with carrier."""
        up = {
            index for index, flags in self.link_flags().items()
            if flags & IFF_UP and flags & IFF_LOWER_UP and not flags & IFF_LOOPBACK
        }
        return {(addr, scope) for addr, index, scope in self.addresses() if index in up}
