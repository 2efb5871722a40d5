"""What netlink says about this host's interfaces and addresses (read-only)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from hacore.agent import OCF, AgentFailure
from hacore_agent_ip.rtnl import IPRoute, NetlinkError

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000
IFA_F_NODAD = 0x02
IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40

Address = ipaddress.IPv4Interface | ipaddress.IPv6Interface


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    mac: str
    flags: int
    operstate: str

    @property
    def admin_up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def carrier(self) -> bool:
        return bool(self.flags & IFF_LOWER_UP)

    def state(self) -> str:
        if not self.admin_up:
            return f"link {self.name} is administratively down"
        if not self.carrier:
            return f"link {self.name} has no carrier (cable or peer down)"
        return f"link {self.name} is up"


@dataclass(frozen=True)
class Assigned:
    """An address as netlink lists it: where, with which prefix and flags."""

    address: Address
    index: int
    flags: int


def parse_address(
    text: str, family: str
) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int | None]:
    """``address=`` as (ip, prefix or None); AgentFailure(ERR_CONFIGURED) when malformed."""
    ip_text, sep, prefix_text = text.strip().partition("/")
    try:
        ip = ipaddress.ip_address(ip_text)
    except ValueError:
        raise AgentFailure(
            OCF.ERR_CONFIGURED,
            f"address={text!r} is not an IPv4 or IPv6 address (e.g. 10.0.0.5/24, fd00::5/64)",
        ) from None
    prefix = None
    if sep:
        if not prefix_text.isdigit() or not 0 < int(prefix_text) <= ip.max_prefixlen:
            raise AgentFailure(
                OCF.ERR_CONFIGURED, f"address={text!r}: prefix must be 1..{ip.max_prefixlen}"
            )
        prefix = int(prefix_text)
    wanted = {"inet": 4, "inet6": 6}.get(family)
    if wanted is not None and ip.version != wanted:
        raise AgentFailure(
            OCF.ERR_CONFIGURED, f"address={text!r} is IPv{ip.version} but family={family}"
        )
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
        raise AgentFailure(OCF.ERR_CONFIGURED, f"address={text!r} cannot be a floating address")
    return ip, prefix


def links(ipr: IPRoute, *indexes: int) -> dict[int, Link]:
    """Interfaces by index: all of them, or only ``indexes`` (one netlink get each)."""
    out = {}
    try:
        messages = ipr.get_links(*indexes)
    except NetlinkError:  # an index that vanished meanwhile
        messages = []
    for msg in messages:
        out[msg["index"]] = Link(
            msg["index"],
            msg.get_attr("IFLA_IFNAME"),
            msg.get_attr("IFLA_ADDRESS") or "",
            msg["flags"],
            msg.get_attr("IFLA_OPERSTATE") or "",
        )
    return out


def assigned(ipr: IPRoute, version: int) -> list[Assigned]:
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    out = []
    for msg in ipr.get_addr(family=family):
        text = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        if not text:
            continue
        flags = msg.get_attr("IFA_FLAGS")
        out.append(
            Assigned(
                ipaddress.ip_interface(f"{text}/{msg['prefixlen']}"),
                msg["index"],
                flags if flags is not None else msg["flags"],
            )
        )
    return out


def find_assigned(
    ipr: IPRoute, ip: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> Assigned | None:
    """Where ``ip`` is assigned on this host, or None."""
    return next((a for a in assigned(ipr, ip.version) if a.address.ip == ip), None)


def choose_link(
    ipr: IPRoute,
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    prefix: int | None,
    interface: str,
) -> tuple[Link, int]:
    """The interface to put ``ip`` on and the prefix to use.

    With ``interface=`` that interface; otherwise the first interface holding another
    address whose subnet contains ``ip``. The prefix comes from ``address=`` or that subnet.
    """
    by_index = links(ipr)
    others = [
        a
        for a in assigned(ipr, ip.version)
        if a.address.ip != ip and ip in a.address.network and not a.address.ip.is_link_local
    ]
    if interface:
        link = next((k for k in by_index.values() if k.name == interface), None)
        if link is None:
            names = ", ".join(sorted(k.name for k in by_index.values())) or "none"
            raise AgentFailure(
                OCF.ERR_ARGS,
                f"interface {interface} does not exist on this host (interfaces: {names})",
            )
        if prefix is None:
            subnet = next((a for a in others if a.index == link.index), None)
            if subnet is None:
                raise AgentFailure(
                    OCF.ERR_ARGS,
                    f"address {ip} has no /prefix and {interface} "
                    "has no subnet containing it; write ADDRESS/PREFIX",
                )
            prefix = subnet.address.network.prefixlen
        return link, prefix
    if not others:
        raise AgentFailure(
            OCF.ERR_ARGS,
            f"no interface here has a subnet containing {ip}; "
            "set interface= or add a base address on that subnet",
        )
    others.sort(key=lambda a: a.index)
    chosen = others[0]
    return by_index[
        chosen.index
    ], prefix if prefix is not None else chosen.address.network.prefixlen
