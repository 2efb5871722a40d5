"""A cluster of NodeDaemons on one event loop over the test Bus, for daemon tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bus import Bus

from hacore.config.model import ClusterConfig
from hacore.daemon.node import NodeDaemon
from hacore.executor.forkserver import ForkServer

KEY = b"inproc cluster key, 32 bytes...."


def free_port() -> int:
    """A TCP port free on loopback now (for the TLS message channel of a test cluster)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class InprocCluster:
    """Daemon messages travel over the TLS channel on loopback as in production (each node
    listens on its 127.0.0.x address); membership stays on the Bus. ``tls=False`` carries
    them on the Bus instead (the provider's ``send``)."""

    def __init__(self, config: ClusterConfig, base: Path, executor: ForkServer,
                 tls: bool = True) -> None:
        self.config = config
        self.base = base
        self.executor = executor
        self.bus = Bus(config)
        self.daemons: dict[str, NodeDaemon] = {}
        self.tls = tls
        self.port = free_port() if tls else 0

    def tokens(self, node: str) -> Path:
        return self.base / node / "tokens"

    def runs(self, resource: str) -> list[str]:
        """The nodes where ``resource``'s token file exists."""
        return sorted(n.name for n in self.config.nodes
                      if (self.tokens(n.name) / f"{resource}.running").exists())

    async def boot(self, node: str, socket: bool = False,
                   probe_interval: float | None = None) -> NodeDaemon:
        self.tokens(node).mkdir(parents=True, exist_ok=True)
        daemon = NodeDaemon(self.config, node, self.bus.provider(node),
                            state_dir=str(self.base / node / "state"),
                            socket_path=str(self.base / node / "hacore.sock") if socket else None,
                            executor=self.executor,
                            env={"HACORE_TOKEN_DIR": str(self.tokens(node))}, tick=0.05,
                            probe_interval=probe_interval)
        self.daemons[node] = daemon
        if self.tls:
            peers = {n.name: [(a, self.port) for a in n.addresses] for n in self.config.nodes}
            daemon.use_channel(KEY, listen=peers[node], peers=peers)
        await daemon.start()
        return daemon

    async def crash(self, node: str) -> None:
        """The node goes silent and its daemon stops; what it ran stays (no self-stop)."""
        self.bus.crash(node)
        daemon = self.daemons.pop(node)
        await daemon.stop()

    def status(self, node: str | None = None) -> dict:
        name = node or next(iter(self.daemons))
        return self.daemons[name].api_status()

    def service(self, name: str, node: str | None = None) -> dict:
        return next(s for s in self.status(node)["services"] if s["name"] == name)


async def wait_for(cond: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or cond}")


@contextlib.asynccontextmanager
async def inproc_cluster(config: ClusterConfig, base: Path, executor: ForkServer,
                         nodes: list[str] | None = None, socket: bool = False,
                         probe_interval: float | None = None, tls: bool = True
                         ) -> AsyncIterator[InprocCluster]:
    cluster = InprocCluster(config, base, executor, tls=tls)
    try:
        for node in nodes or [n.name for n in config.nodes]:
            await cluster.boot(node, socket=socket, probe_interval=probe_interval)
        yield cluster
    finally:
        for name in list(cluster.daemons):
            await cluster.daemons.pop(name).stop()
