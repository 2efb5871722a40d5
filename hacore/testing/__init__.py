"""The hacore testbed: cluster nodes as namespaces on one machine, with faults and observers.

Public API::

    from hacore.testing import Cluster, leak_check

    with Cluster(nodes=3) as c:          # switch, n1..n3, client namespace
        c.nodes[0].run(["hostname"])     # run inside a node (all its namespaces)
        c.crash("n2"); c.boot("n2")      # faults: crash boot reboot shutdown freeze thaw
        c.partition([["n1"], ["n2", "n3"]]); c.heal()   # partition_oneway cut netem link_down
        with c.s1_checker() as s1: ...   # observers: s1_checker http_poller

See docs/testbed.md.
"""

from hacore.testing.cluster import Client, Cluster, missing_prerequisites, remove_stale_testbeds
from hacore.testing.http_poller import HttpPoller, Sample
from hacore.testing.leaks import HostSnapshot, LeakError, leak_check
from hacore.testing.netns import in_netns, ping
from hacore.testing.node import Node
from hacore.testing.s1_checker import S1Checker, Violation

__all__ = [
    "Client", "Cluster", "HostSnapshot", "HttpPoller", "LeakError", "Node", "S1Checker", "Sample",
    "Violation", "in_netns", "leak_check", "missing_prerequisites", "ping", "remove_stale_testbeds",
]
