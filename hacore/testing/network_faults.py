"""Network faults of the testbed: partitions, cuts, loss, delay and pulled cables.

A mixin of Cluster. Partitions, cuts and loss are rules on the switch (see switch.py);
delay is a user-space wire on the node's cable (see delay.py). All of them are properties
of the network: they stay across a node's reboot until changed or healed.

A second link (``add_second_link()``): every node gets ``eth1`` on a second bridge of the
switch (port ``<node>b``, address ``node.address2`` in 10.78.<octet>.0/24), for redundant
links. Partitions, cuts and loss then apply to both links; ``link_down(node, link=1)`` pulls
only the second cable. It is re-plugged when a node boots again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from hacore.testing import netns as netns_tools
from hacore.testing.delay import DelayWire
from hacore.testing.switch import SwitchRules

if TYPE_CHECKING:
    from hacore.testing.cluster import Client, NodeRef
    from hacore.testing.node import Node


class NetworkFaults:
    """The network half of Cluster's fault API."""

    nodes: list[Node]
    rules: SwitchRules
    lock: threading.RLock
    switch_netns: str
    _wires: dict[str, DelayWire]
    _delays: dict[str, float]
    _octet: int
    second_link: bool = False

    def node(self, ref: NodeRef) -> Node:
        raise NotImplementedError

    def _port(self, ref: NodeRef | Client) -> str:
        if not isinstance(ref, str) and getattr(ref, "name", None) == "client" or ref == "client":
            return "client"
        return self.node(ref).name  # type: ignore[arg-type]

    def _cable(self, port: str) -> list[str]:
        return [port, f"{port}w"] if port in self._wires else [port]

    def _ports(self, port: str) -> list[str]:
        """The switch ports of one node on every link (the client has only link 0)."""
        return [port, f"{port}b"] if self.second_link and port != "client" else [port]

    def link_down(self, ref: NodeRef, link: int = 0) -> None:
        """Pull the node's cable: its switch port goes down (eth0 loses carrier).

        ``link=1`` pulls the second link's cable (eth1) instead (see ``add_second_link``)."""
        port = self._port(ref)
        cable = self._cable(port) if link == 0 else [self._second_port(port, link)]
        netns_tools.ip_batch([f"link set {name} down" for name in cable], self.switch_netns)

    def link_up(self, ref: NodeRef, link: int = 0) -> None:
        """Plug the node's cable back in (``link=1``: the second link's)."""
        port = self._port(ref)
        cable = self._cable(port) if link == 0 else [self._second_port(port, link)]
        netns_tools.ip_batch([f"link set {name} up" for name in cable], self.switch_netns)

    def _second_port(self, port: str, link: int) -> str:
        if link != 1 or not self.second_link or port == "client":
            raise ValueError(f"link={link}: {port} has link 0" +
                             (" and 1" if self.second_link and port != "client" else "")
                             + " (add_second_link() adds link 1 to the nodes)")
        return f"{port}b"

    def second_address(self, ref: NodeRef) -> str:
        """The node's address on the second link (10.78.<octet>.<i>)."""
        node = self.node(ref)
        return f"10.78.{self._octet}.{node.name[1:]}"

    def add_second_link(self) -> None:
        """Give every node a second link: eth1 on bridge br1 of the switch, port <node>b,
        address ``second_address(node)``/24. Nodes booted later get it too."""
        with self.lock:
            if self.second_link:
                return
            bridge = "link add br1 type bridge stp_state 0 forward_delay 0 mcast_snooping 0"
            netns_tools.ip_batch([bridge, "link set br1 up"], self.switch_netns)
            self.second_link = True
            self._plug_second_link([n for n in self.nodes if n.up])

    def _plug_second_link(self, nodes: Iterable[Node]) -> None:
        """Wire eth1 of freshly made nodes to br1 (Cluster.boot calls this)."""
        if not self.second_link:
            return
        for node in nodes:
            netns_tools.ip_batch([
                f"link add {node.name}b type veth peer name eth1 netns {node.netns}",
                f"link set {node.name}b master br1 up",
            ], self.switch_netns)
            netns_tools.ip_batch([f"addr add {self.second_address(node)}/24 dev eth1",
                                  "link set eth1 up"], node.netns)

    def _insert_wire(self, port: str, delay: float) -> None:
        netns_tools.ip_batch([
            f"link set {port} down", f"link set {port} nomaster", f"link set {port} name {port}w",
            f"link add {port} type veth peer name {port}f", f"link set {port} master br0 up",
            f"link set {port}f up", f"link set {port}w up",
        ], self.switch_netns)
        path = f"/run/netns/{self.switch_netns}"
        self._wires[port] = DelayWire(path, f"{port}w", f"{port}f", delay).start()

    def _remove_wire(self, port: str) -> None:
        self._wires.pop(port).stop()
        netns_tools.ip_batch([
            f"link del {port}", f"link set {port}w down", f"link set {port}w name {port}",
            f"link set {port} master br0 up",
        ], self.switch_netns)

    def _set_delay(self, port: str, delay: float) -> None:
        self._delays[port] = delay
        if port in self._wires:
            if delay > 0:
                self._wires[port].delay = delay
            else:
                self._remove_wire(port)
        elif delay > 0 and (port == "client" or self.node(port).up):
            self._insert_wire(port, delay)

    def partition(self, groups: Iterable[Iterable[NodeRef | Client]]) -> None:
        """Cut every pair of members of different groups, both ways. Others are untouched.

        Example: ``c.partition([["n1"], ["n2", "n3"]])``. Adds to faults already in force.
        """
        ports = [[self._port(m) for m in group] for group in groups]
        with self.lock:
            for i, group in enumerate(ports):
                for other in ports[i + 1 :]:
                    for a in group:
                        for b in other:
                            for pa, pb in zip(self._ports(a), self._ports(b)):
                                self.rules.block(pa, pb)
                                self.rules.block(pb, pa)
            self.rules.apply(self.switch_netns)

    def partition_oneway(self, src: NodeRef | Client, dst: NodeRef | Client) -> None:
        """Drop IP traffic from ``src`` to ``dst``; ``dst`` still reaches ``src``."""
        with self.lock:
            for a, b in zip(self._ports(self._port(src)), self._ports(self._port(dst))):
                self.rules.block(a, b)
            self.rules.apply(self.switch_netns)

    def cut(self, a: NodeRef | Client, b: NodeRef | Client) -> None:
        """Break the link between ``a`` and ``b`` only (non-transitive: others see both)."""
        self.partition([[a], [b]])

    def netem(self, ref: NodeRef | Client, loss: float = 0.0, delay: float = 0.0) -> None:
        """Lose ``loss`` percent of the frames the node sends and delay them by ``delay`` s.

        ``netem(node)`` with no arguments restores the node's link. Both are properties of
        the network: they stay across the node's reboots until changed or ``heal()``.
        The delay is a user-space wire (see hacore.testing.delay), good for control
        traffic and moderate data rates.
        """
        if not 0 <= loss <= 100:
            raise ValueError(f"loss={loss}: a percentage from 0 to 100")
        if not 0 <= delay <= 60:
            raise ValueError(f"delay={delay}: seconds from 0 to 60")
        port = self._port(ref)
        with self.lock:
            for each in self._ports(port):
                self.rules.loss[each] = float(loss)
            self.rules.apply(self.switch_netns)
            self._set_delay(port, float(delay))

    def heal(self) -> None:
        """Remove every partition, cut and loss; plug every cable of a live node back in."""
        with self.lock:
            self.rules.clear()
            self.rules.apply(self.switch_netns)
            for port in list(self._wires):
                self._remove_wire(port)
            self._delays.clear()
            netns_tools.ip_batch(
                [f"link set {p} up" for n in self.nodes if n.up for p in self._ports(n.name)]
                + ["link set client up"],
                self.switch_netns,
            )
