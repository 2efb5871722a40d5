"""The few rtnetlink requests the agent needs, on a plain netlink socket.

List interfaces, list addresses, add and remove one address. pyroute2 did this before, but
importing it costs about 20 MiB in the executor helper (which imports every agent before
it forks operations) and its package imports every netlink family it knows; this module
uses only ``socket`` and ``struct``.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import Self

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x1, 0x4, 0x200, 0x400, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_ADDRESS, IFLA_IFNAME, IFLA_OPERSTATE = 1, 3, 16
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index


class NetlinkError(OSError):
    """The kernel refused a request: ``args`` is (errno, its text)."""


class Message(dict):  # type: ignore[type-arg]
    """One link or address: header fields by name, attributes through ``get_attr``."""

    def __init__(self, fields: dict[str, int], attrs: dict[str, object]) -> None:
        super().__init__(fields)
        self.attrs = attrs

    def get_attr(self, name: str) -> object:
        return self.attrs.get(name)


def _attributes(data: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            return
        yield kind & 0x3FFF, data[offset + 4 : offset + length]
        offset += (length + 3) & ~3


def _attribute(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def _link(body: bytes) -> Message:
    _family, _type, index, flags, _change = IFINFO.unpack_from(body)
    attrs: dict[str, object] = {}
    for kind, value in _attributes(body, IFINFO.size):
        if kind == IFLA_IFNAME:
            attrs["IFLA_IFNAME"] = value.split(b"\0", 1)[0].decode(errors="replace")
        elif kind == IFLA_ADDRESS:
            attrs["IFLA_ADDRESS"] = ":".join(f"{b:02x}" for b in value)
        elif kind == IFLA_OPERSTATE and value:
            attrs["IFLA_OPERSTATE"] = OPERSTATES[value[0]] if value[0] < len(OPERSTATES) else ""
    return Message({"index": index, "flags": flags}, attrs)


def _address(body: bytes) -> Message:
    family, prefixlen, flags, scope, index = IFADDR.unpack_from(body)
    attrs: dict[str, object] = {}
    for kind, value in _attributes(body, IFADDR.size):
        if kind in (IFA_ADDRESS, IFA_LOCAL):
            name = "IFA_ADDRESS" if kind == IFA_ADDRESS else "IFA_LOCAL"
            attrs[name] = socket.inet_ntop(family, value)
        elif kind == IFA_FLAGS and len(value) >= 4:
            attrs["IFA_FLAGS"] = struct.unpack_from("=I", value)[0]
    return Message({"family": family, "prefixlen": prefixlen, "flags": flags, "scope": scope,
                    "index": index}, attrs)


class IPRoute:
    """A route netlink socket: ``with IPRoute() as ipr: ipr.get_links()``."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self._sock.settimeout(5.0)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _request(self, kind: int, flags: int, body: bytes) -> Iterator[tuple[int, bytes]]:
        """Send one request; yield (type, body) of each answer until the dump ends, the
        single answer came, or the ACK came. A refusal raises NetlinkError."""
        self._seq += 1
        seq = self._seq
        self._sock.send(HEADER.pack(HEADER.size + len(body), kind, flags, seq, 0) + body)
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        while True:
            data = self._sock.recv(1 << 16)
            offset = 0
            while offset + HEADER.size <= len(data):
                length, mtype, _, mseq, _ = HEADER.unpack_from(data, offset)
                if length < HEADER.size:
                    break
                payload = data[offset + HEADER.size : offset + length]
                offset += (length + 3) & ~3
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise NetlinkError(code, os.strerror(code))
                    return  # the ACK
                yield mtype, payload
                if not dump and not flags & NLM_F_ACK:
                    return

    def get_links(self, *indexes: int) -> list[Message]:
        """Every interface, or the given ones (NetlinkError when one does not exist)."""
        if not indexes:
            return [_link(body) for kind, body in
                    self._request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, IFINFO.pack(0, 0, 0, 0, 0))
                    if kind == RTM_NEWLINK]
        out = []
        for index in indexes:
            out += [_link(body) for kind, body in
                    self._request(RTM_GETLINK, NLM_F_REQUEST, IFINFO.pack(0, 0, index, 0, 0))
                    if kind == RTM_NEWLINK]
        return out

    def get_addr(self, family: int = socket.AF_UNSPEC) -> list[Message]:
        """Every address of ``family`` on this host."""
        return [_address(body) for kind, body in
                self._request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP,
                              IFADDR.pack(family, 0, 0, 0, 0))
                if kind == RTM_NEWADDR]

    def addr(self, command: str, *, index: int, address: str, prefixlen: int,
             flags: int = 0) -> None:
        """``command`` "add" (refused when present) or "del" one address on link ``index``."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        packed = socket.inet_pton(family, address)
        body = IFADDR.pack(family, prefixlen, flags & 0xFF, 0, index)
        body += _attribute(IFA_LOCAL, packed) + _attribute(IFA_ADDRESS, packed)
        if flags:
            body += _attribute(IFA_FLAGS, struct.pack("=I", flags))
        if command == "add":
            kind, extra = RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL
        elif command == "del":
            kind, extra = RTM_DELADDR, 0
        else:
            raise ValueError(f"addr command {command!r}: add or del")
        for _ in self._request(kind, NLM_F_REQUEST | NLM_F_ACK | extra, body):
            pass
