"""A small in-process cluster of built-in providers on loopback addresses, for tests."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from dataclasses import replace

from hacore.config.model import ClusterConfig, Node, Quorum, Timing
from hacore.membership.contract import MembershipEvent
from hacore.membership.heartbeat import HeartbeatMembership
from hacore.membership.transport import PacketFilter

KEY = b"k" * 32


def free_port() -> int:
    """A UDP port unlikely to clash with another test run (random in a high range)."""
    return random.Random(os.getpid() ^ time.time_ns()).randrange(20000, 60000)


def make_config(n: int, *, links: int = 1, two_node: bool = False, subnet: int | None = None,
                loss_timeout: float = 1.0, name: str = "test", **quorum: bool) -> ClusterConfig:
    """n nodes named n1..nN on 127.<subnet>.<link>.<i>."""
    subnet = subnet if subnet is not None else random.randrange(10, 250)
    nodes = tuple(Node(f"n{i}", i, tuple(f"127.{subnet}.{link}.{i}" for link in range(links)))
                  for i in range(1, n + 1))
    q = Quorum(expected_votes=n, two_node=two_node, wait_for_all=two_node, **quorum)
    timing = Timing(node_loss_timeout=loss_timeout, heartbeat_interval=loss_timeout / 5)
    return ClusterConfig(name=name, config_version=1, nodes=nodes, quorum=q, timing=timing)


class LocalCluster:
    """Providers for every node of ``config`` in this event loop, sharing one packet filter."""

    def __init__(self, config: ClusterConfig, port: int | None = None) -> None:
        self.config = config
        self.port = port or free_port()
        self.filter = PacketFilter()
        self.nodes: dict[str, HeartbeatMembership] = {}
        self.events: list[tuple[float, str, MembershipEvent]] = []
        self.violations: list[str] = []

    async def start(self, name: str) -> HeartbeatMembership:
        provider = HeartbeatMembership(self.config, name, KEY, port=self.port,
                                       packet_filter=self.filter)
        provider.on_event(lambda e, n=name: self.events.append((time.monotonic(), n, e)))
        await provider.start()
        self.nodes[name] = provider
        return provider

    async def start_all(self) -> None:
        for node in self.config.nodes:
            await self.start(node.name)

    async def crash(self, name: str) -> None:
        """The node's process dies: its task is cancelled, its sockets closed."""
        await self.nodes.pop(name).stop()

    async def stop_all(self) -> None:
        for name in list(self.nodes):
            await self.crash(name)

    def lease_holders(self) -> list[str]:
        """Nodes that coordinate with a fresh lease right now."""
        return [n for n, p in self.nodes.items()
                if p.holds_fresh_lease() and p.state.coordinating]

    def check(self) -> None:
        holders = self.lease_holders()
        if len(holders) > 1:
            self.violations.append(f"two coordinators with a lease: {holders}")

    async def wait_for(self, what: Callable[[], bool], timeout: float, step: float = 0.02) -> float:
        """Wait until ``what()`` holds (checking the one-coordinator rule at every sample);
        return the seconds it took, or raise TimeoutError."""
        start = time.monotonic()
        for _ in range(int(timeout / step) + 1):
            self.check()
            if what():
                return time.monotonic() - start
            await asyncio.sleep(step)
        raise TimeoutError(f"condition not met within {timeout} s; views: {self.describe()}")

    async def hold(self, what: Callable[[], bool], seconds: float, step: float = 0.02) -> None:
        """Sample for ``seconds``; ``what()`` must hold at every sample."""
        for _ in range(int(seconds / step)):
            self.check()
            assert what(), f"condition broke; views: {self.describe()}"
            await asyncio.sleep(step)

    def describe(self) -> str:
        out = []
        for name, p in self.nodes.items():
            v = p.view()
            out.append(f"{name}: epoch={v.epoch} members={v.member_names()} "
                       f"quorate={v.quorate} coord={v.coordinator} lease={v.lease.role}")
        return "; ".join(out)

    def agreed(self, names: list[str], coordinator: str | None = None) -> bool:
        """Every node in ``names`` is in one quorate view made of exactly ``names``."""
        views = [self.nodes[n].view() for n in names]
        first = views[0]
        return all(v.quorate and v.epoch == first.epoch and set(v.member_names()) == set(names)
                   and v.coordinator == first.coordinator and v.coordinator is not None
                   and (coordinator is None or v.coordinator == coordinator) for v in views)


def relaxed(config: ClusterConfig, **timing: float) -> ClusterConfig:
    return replace(config, timing=replace(config.timing, **timing))
