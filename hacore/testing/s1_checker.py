"""The S1 checker: records every moment two nodes hold the same exclusive thing.

Every ``interval`` (0.1 s) a background thread looks at every live node and notes which
addresses it holds on a link that is up (admin up and carrier), which of the watched
file systems it has mounted, and which of the watched processes run in its PID namespace.
Whenever two or more nodes hold the same thing in one sample, that is a violation.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from hacore.testing.node import Node, pid_ns_inode, read_cmdline
from hacore.testing.rtnl import RtnlReader

if TYPE_CHECKING:
    from hacore.testing.cluster import Cluster

_log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Violation:
    """Two or more nodes held ``item`` (an address, mount or process pattern) at ``time``."""

    time: float  # time.monotonic() of the sample
    wall: float  # time.time() of the sample
    kind: str  # "address", "mount" or "process"
    item: str
    nodes: tuple[str, ...]

    def __str__(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall)) + f".{int(self.wall * 1000) % 1000:03d}"
        return f"{stamp} {self.kind} {self.item} held by {', '.join(self.nodes)}"


class S1Checker:
    """Samples a cluster in the background; ``violations`` lists every double hold seen.

    ``addresses``: addresses to watch (default None: every address except loopback and
    link-local ones). ``mounts``: mount points or sources to watch. ``processes``: regexes
    matched against each process's command line. Use as a context manager, or
    ``start()``/``stop()``. Example::

        with c.s1_checker(mounts=["/srv/data"], processes=[r"^/usr/sbin/apache2"]) as s1:
            c.crash(n1)
            ...
        assert not s1.violations, "\\n".join(map(str, s1.violations))
    """

    def __init__(
        self, cluster: Cluster, addresses: Iterable[str] | None = None, mounts: Iterable[str] = (),
        processes: Iterable[str] = (), interval: float = 0.1,
    ) -> None:
        self.cluster = cluster
        self.addresses = set(addresses) if addresses is not None else None
        self.mounts = set(mounts)
        self.processes = [re.compile(p) for p in processes]
        self.interval = interval
        self.violations: list[Violation] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hacore-s1-checker", daemon=True)
        self._netlink: dict[str, tuple[int, RtnlReader]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> S1Checker:
        self._thread.start()
        return self

    def stop(self) -> list[Violation]:
        """Stop sampling; returns the violations."""
        self._stop.set()
        self._thread.join(timeout=10)
        for _, reader in self._netlink.values():
            reader.close()
        self._netlink.clear()
        return self.violations

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a node changing under us; next sample retries
                _log.debug("S1 sample failed", exc_info=True)
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _addresses_of(self, node: Node) -> set[str]:
        pid1 = node.pid1
        if pid1 is None:
            return set()
        cached = self._netlink.get(node.name)
        if cached is None or cached[0] != pid1:
            if cached is not None:
                cached[1].close()
            cached = (pid1, RtnlReader(f"/proc/{pid1}/ns/net"))
            self._netlink[node.name] = cached
        held = set()
        for address, scope in cached[1].active_addresses():
            if self.addresses is None:
                if scope == 0:  # universe; host and link scope are local by nature
                    held.add(address)
            elif address in self.addresses:
                held.add(address)
        return held

    def sample(self) -> list[Violation]:
        """Take one sample now; returns (and records) the violations it found."""
        now, wall = time.monotonic(), time.time()
        holders: dict[tuple[str, str], set[str]] = defaultdict(set)
        live = [n for n in self.cluster.nodes if n.up]
        for name in [name for name, (pid1, _) in self._netlink.items()
                     if all(n.pid1 != pid1 for n in live)]:
            self._netlink.pop(name)[1].close()
        for node in live:
            try:
                for address in self._addresses_of(node):
                    holders[("address", address)].add(node.name)
                if self.mounts:
                    for source, target, _ in node.mounts():
                        for watched in self.mounts & {source, target}:
                            holders[("mount", watched)].add(node.name)
            except Exception:  # noqa: BLE001 - node died while sampled
                _log.debug("S1 sample of %s failed", node.name, exc_info=True)
                continue
        if self.processes:
            by_ns = {pid_ns_inode(n.pid1): n for n in live if n.pid1}
            by_ns.pop(None, None)
            pid1s = {n.pid1 for n in live}
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) in pid1s:
                    continue
                node = by_ns.get(pid_ns_inode(int(entry)))
                if node is None:
                    continue
                cmdline = read_cmdline(int(entry))
                for rx in self.processes:
                    if rx.search(cmdline):
                        holders[("process", rx.pattern)].add(node.name)
        found = [
            Violation(now, wall, kind, item, tuple(sorted(nodes)))
            for (kind, item), nodes in sorted(holders.items()) if len(nodes) > 1
        ]
        self.violations.extend(found)
        self.samples += 1
        return found
