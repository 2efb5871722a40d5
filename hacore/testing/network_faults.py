"""Network faults of the testbed: partitions, cuts, loss, delay and pulled cables.

A mixin of Cluster. Partitions, cuts and loss are rules on the switch (see switch.py);
delay is a user-space wire on the node's cable (see delay.py). All of them are properties
of the network: they stay across a node's reboot until changed or healed.
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

    def node(self, ref: NodeRef) -> Node:
        raise NotImplementedError

    def _port(self, ref: NodeRef | Client) -> str:
        if not isinstance(ref, str) and getattr(ref, "name", None) == "client" or ref == "client":
            return "client"
        return self.node(ref).name  # type: ignore[arg-type]

    def _cable(self, port: str) -> list[str]:
        return [port, f"{port}w"] if port in self._wires else [port]

    def link_down(self, ref: NodeRef) -> None:
        """Pull the node's cable: its switch port goes down (eth0 loses carrier)."""
        cable = self._cable(self._port(ref))
        netns_tools.ip_batch([f"link set {name} down" for name in cable], self.switch_netns)

    def link_up(self, ref: NodeRef) -> None:
        """Plug the node's cable back in."""
        cable = self._cable(self._port(ref))
        netns_tools.ip_batch([f"link set {name} up" for name in cable], self.switch_netns)

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
                            self.rules.block(a, b)
                            self.rules.block(b, a)
            self.rules.apply(self.switch_netns)

    def partition_oneway(self, src: NodeRef | Client, dst: NodeRef | Client) -> None:
        """Drop IP traffic from ``src`` to ``dst``; ``dst`` still reaches ``src``."""
        with self.lock:
            self.rules.block(self._port(src), self._port(dst))
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
            self.rules.loss[port] = float(loss)
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
                [f"link set {n.name} up" for n in self.nodes if n.up] + ["link set client up"],
                self.switch_netns,
            )
