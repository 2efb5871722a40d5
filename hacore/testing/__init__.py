"""The hacore testbed: cluster nodes as namespaces on one machine, with faults and observers.

Public API::

    from hacore.testing import Cluster, leak_check

    with Cluster(nodes=3) as c:          # switch, n1..n3, client namespace
        c.nodes[0].run(["hostname"])     # run inside a node (all its namespaces)
        c.crash("n2"); c.boot("n2")      # faults: crash boot reboot shutdown freeze thaw
        c.partition([["n1"], ["n2", "n3"]]); c.heal()   # partition_oneway cut netem link_down
        with c.s1_checker() as s1: ...   # observers: s1_checker http_poller

See docs/testbed.md.

The names are imported on first use: the testbed's fence agent
(``hacore.testing.fence_testbed``, a fresh interpreter for every fence) lives in this
package and must not pay for the testbed's imports (psutil, asyncio, ...) on the failover's
critical path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hacore.testing.cluster import Client, Cluster, missing_prerequisites, remove_stale_testbeds
    from hacore.testing.http_poller import HttpPoller, Sample
    from hacore.testing.leaks import HostSnapshot, LeakError, leak_check
    from hacore.testing.netns import in_netns, ping
    from hacore.testing.node import Node
    from hacore.testing.s1_checker import S1Checker, Violation

_LAZY = {
    "Client": "cluster", "Cluster": "cluster", "missing_prerequisites": "cluster",
    "remove_stale_testbeds": "cluster", "HttpPoller": "http_poller", "Sample": "http_poller",
    "HostSnapshot": "leaks", "LeakError": "leaks", "leak_check": "leaks", "in_netns": "netns",
    "ping": "netns", "Node": "node", "S1Checker": "s1_checker", "Violation": "s1_checker",
}

__all__ = [
    "Client", "Cluster", "HostSnapshot", "HttpPoller", "LeakError", "Node", "S1Checker", "Sample",
    "Violation", "in_netns", "leak_check", "missing_prerequisites", "ping", "remove_stale_testbeds",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hacore.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"hacore.testing.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
