"""A floating address: probe for a duplicate, add, announce; check the link; remove."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextlib import ExitStack
from typing import ClassVar

from hacore.agent import OCF, Agent, AgentFailure, Param, Result
from hacore_agent_ip.announcer import announce_first_then_background, wait_for_announcer
from hacore_agent_ip.links import (
    IFA_F_DADFAILED,
    IFA_F_NODAD,
    choose_link,
    find_assigned,
    links,
    parse_address,
)
from hacore_agent_ip.probes import find_holder, packet_socket
from hacore_agent_ip.rtnl import IPRoute, NetlinkError

#: set by the daemon for a start whose service's previous holder is confirmed off (fenced,
#: fence-acknowledged or left cleanly): that node, which held the address, cannot answer
PREVIOUS_HOLDER_FENCED = "HACORE_PREVIOUS_HOLDER_FENCED"
#: set by the daemon for a start that continues a move whose previous holder, a member,
#: reported its stop succeeded: the address is no longer on that node, so it cannot answer
PREVIOUS_HOLDER_STOPPED = "HACORE_PREVIOUS_HOLDER_STOPPED"


#: listening after the one probe of a start whose previous holder is confirmed off or
#: confirmed to have removed the address (see probe_timing)
CONFIRMED_WAIT = 0.025


def probe_timing(environ: Mapping[str, str]) -> tuple[int, float, float]:
    """find_holder's (probes, spacing, wait): one probe and 25 ms of listening when the
    previous holder is confirmed off or confirmed to have removed the address, else two
    probes 50 ms apart and 150 ms of listening (0.2 s).

    With that confirmation the node that held the address cannot answer; the probe is
    then only after a misconfigured third host holding it. Such a host is up and its
    kernel answers an ARP probe or a DAD solicitation in softirq, within a millisecond or
    two on a LAN (a tenth of a millisecond between the testbed's namespaces): 25 ms is
    more than ten times that, and each millisecond more is one a failover's start waits.
    A lost probe is not covered by this short form (one probe): the full form, for starts
    without a confirmed previous holder, still sends two."""
    if environ.get(PREVIOUS_HOLDER_FENCED) or environ.get(PREVIOUS_HOLDER_STOPPED):
        return 1, 0.05, CONFIRMED_WAIT
    return 2, 0.05, 0.15


class FloatingAddress(Agent):
    """An IPv4 or IPv6 address that moves between nodes (rgmanager's ``ip`` resource)."""

    name = "ip"
    shortdesc = "A floating IPv4 or IPv6 address"
    longdesc = (
        "Adds ADDRESS/PREFIX to the interface whose subnet contains it (or to interface=). "
        "Before adding, it asks the network whether another host holds the address (an ARP "
        "probe, or an IPv6 duplicate address detection probe: 0.2 s, or 25 ms when the "
        "daemon says the previous holder was fenced or stopped it) and refuses to start, naming "
        "the MAC address that answered. After adding, it sends arp_count gratuitous ARPs "
        "(IPv4) or unsolicited neighbour advertisements (IPv6) so neighbours switch at once: "
        "the first before start returns, the others 20 ms apart from a short-lived background "
        "process (they only cover a lost frame), which stop waits for before removing the "
        "address. "
        "Monitor fails when the link of the interface is down (monitor_link). Stop removes "
        "the address and waits sleeptime seconds. Netlink and raw sockets only: no ip or "
        "arping command is run."
    )
    parameters = (
        Param(
            "address",
            "IPv4 or IPv6 address, with /prefix (else the subnet's)",
            required=True,
            unique_group="address",
        ),
        Param(
            "family",
            "Address family",
            type="select",
            options=("auto", "inet", "inet6"),
            default="auto",
        ),
        Param(
            "interface",
            "Interface to use (default: the one whose subnet holds the address)",
            default="",
        ),
        Param(
            "monitor_link",
            "Monitor fails when the interface's link is down",
            type="boolean",
            default=True,
        ),
        Param("sleeptime", "Seconds to wait after removing the address", type="integer", default=0),
        Param(
            "check_duplicate",
            "Refuse to start when another host answers for the address",
            type="boolean",
            default=True,
        ),
        Param(
            "arp_count",
            "Gratuitous ARPs / unsolicited NAs sent on start",
            type="integer",
            default=3,
        ),
    )
    timeouts: ClassVar[dict[str, float]] = {
        "start": 20.0,
        "stop": 20.0,
        "monitor": 20.0,
        "validate": 10.0,
    }
    monitor_interval = 20.0

    def _address(self):
        return parse_address(self.params["address"], self.params["family"])

    def validate(self) -> Result:
        self._address()
        if self.params["sleeptime"] < 0 or self.params["arp_count"] < 0:
            return Result.error(OCF.ERR_CONFIGURED, "sleeptime and arp_count must not be negative")
        if self.context.depth >= 10:
            ip, prefix = self._address()
            with IPRoute() as ipr:
                choose_link(ipr, ip, prefix, self.params["interface"])
        return Result.ok()

    def monitor(self) -> Result:
        ip, _prefix = self._address()
        with IPRoute() as ipr:
            held = find_assigned(ipr, ip)
            if held is None:
                return Result.not_running(f"{ip} is not assigned here")
            link = links(ipr, held.index).get(held.index)
        if held.flags & IFA_F_DADFAILED:
            return Result.error(
                OCF.ERR_GENERIC,
                f"{held.address} failed duplicate address detection: another host holds it",
            )
        if link is None:
            return Result.error(OCF.ERR_GENERIC, f"{held.address} is on a vanished interface")
        if self.params["monitor_link"] and not (link.admin_up and link.carrier):
            return Result.error(OCF.ERR_GENERIC, f"{held.address} is assigned but {link.state()}")
        return Result.ok()

    def start(self) -> Result:
        ip, prefix = self._address()
        with IPRoute() as ipr:
            held = find_assigned(ipr, ip)
            if held is not None:
                return Result.ok(f"{held.address} is already assigned here")
            link, prefix = choose_link(ipr, ip, prefix, self.params["interface"])
            if not link.admin_up or (self.params["monitor_link"] and not link.carrier):
                raise AgentFailure(OCF.ERR_GENERIC, f"cannot add {ip}/{prefix}: {link.state()}")
            # one packet socket for the probe and the announcements (see packet_socket)
            with ExitStack() as frames:
                sock = None
                if self.params["check_duplicate"]:
                    sock = frames.enter_context(packet_socket(link.name, ip.version))
                    probes, spacing, wait = probe_timing(os.environ)
                    holder = find_holder(link.name, link.mac, ip, probes, spacing, wait, sock)
                    if holder is not None:
                        raise AgentFailure(
                            OCF.ERR_GENERIC,
                            f"address {ip}/{prefix} is already held by {holder} "
                            f"(it answered on {link.name}); not adding it",
                        )
                self._add(ipr, ip, prefix, link)
                if self.params["arp_count"] > 0:
                    try:
                        if sock is None:
                            sock = frames.enter_context(packet_socket(link.name, ip.version))
                        # the first frame now, the rest in the background (see announcer)
                        announce_first_then_background(sock, link.mac, ip,
                                                       self.params["arp_count"])
                    except OSError as exc:
                        return Result.ok(
                            f"{ip}/{prefix} added to {link.name}, but announcing it failed: "
                            f"{exc.strerror}"
                        )
        return Result.ok(f"{ip}/{prefix} added to {link.name}")

    @staticmethod
    def _add(ipr: IPRoute, ip, prefix: int, link) -> None:  # type: ignore[no-untyped-def]
        extra = {"flags": IFA_F_NODAD} if ip.version == 6 else {}
        try:
            ipr.addr("add", index=link.index, address=str(ip), prefixlen=prefix, **extra)
        except NetlinkError as exc:
            raise AgentFailure(
                OCF.ERR_GENERIC, f"adding {ip}/{prefix} to {link.name} failed: {exc.args[-1]}"
            ) from None

    def stop(self) -> Result:
        ip, _prefix = self._address()
        with IPRoute() as ipr:
            held = find_assigned(ipr, ip)
            if held is None:
                return Result.ok()
            # no announcement of the address may leave after its removal (see announcer)
            wait_for_announcer(ip)
            try:
                ipr.addr(
                    "del",
                    index=held.index,
                    address=str(ip),
                    prefixlen=held.address.network.prefixlen,
                )
            except NetlinkError as exc:
                if find_assigned(ipr, ip) is not None:
                    raise AgentFailure(
                        OCF.ERR_GENERIC, f"removing {held.address} failed: {exc.args[-1]}"
                    ) from None
        if self.params["sleeptime"] > 0:
            time.sleep(self.params["sleeptime"])
        return Result.ok()
