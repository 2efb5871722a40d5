"""pytest fixtures for the testbed. Import the factory into a test module::

    from hacore.testing.pytest_fixtures import cluster_fixture

    testbed_cluster = cluster_fixture(nodes=3)

    @pytest.mark.netns
    def test_n1_reaches_n2(testbed_cluster):
        n1, n2 = testbed_cluster.nodes[:2]
        assert n1.ping(n2.address)

The cluster is module-scoped (built once for every test of the module). It skips the test
with the reason when this machine cannot build namespaces (not root, no ``ip netns``). The
teardown checks that nothing is left behind (namespaces, mounts, processes, cgroups, host
links) and fails the module's last test when something is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hacore.testing.cluster import Cluster, missing_prerequisites
from hacore.testing.leaks import leak_check


def skip_unless_testbed() -> None:
    """pytest.skip with the reason when a testbed cannot be built on this machine."""
    why = missing_prerequisites()
    if why:
        pytest.skip(f"testbed unavailable: {why}")


def cluster_fixture(nodes: int = 3, check_leaks: bool = True, **kw: Any) -> Callable[..., Any]:
    """A module-scoped fixture yielding a started Cluster of ``nodes`` nodes.

    The cluster is shared: a test that causes faults calls ``restore(cluster)`` in a
    ``finally`` so the next test starts from a healthy cluster.
    """

    @pytest.fixture(scope="module")
    def testbed_cluster() -> Iterator[Cluster]:
        skip_unless_testbed()
        if check_leaks:
            with leak_check(), Cluster(nodes=nodes, **kw) as cluster:
                yield cluster
        else:
            with Cluster(nodes=nodes, **kw) as cluster:
                yield cluster

    return testbed_cluster


def restore(cluster: Cluster) -> None:
    """Undo every fault: thaw and boot nodes, heal the network."""
    for node in cluster.nodes:
        if node.up:
            node.cgroup.set_frozen(False)
        else:
            cluster.boot(node)
    cluster.heal()


def observed_hacore_testbed(nodes: int = 3, bed_class: type | None = None,
                            more_s1_addresses: Callable[[Cluster], list[str]] | None = None,
                            http: bool = True) -> Iterator[Any]:
    """The body of a module fixture (``yield from observed_hacore_testbed(...)``): a
    leak-checked testbed Cluster with hacore on every node (``bed_class``, default
    ``hacore.daemon.testbed.HacoreTestbed``), the S1 checker on the VIP (and
    ``more_s1_addresses(cluster)``) and, with ``http``, the client's HTTP poller of the VIP,
    as ``bed.s1`` / ``bed.poller``. After the module, S1 must never have been violated.
    Skips when this machine cannot build a testbed or another run's testbed stays."""
    from hacore.daemon.testbed import HacoreTestbed, wait_for_namespace_turn

    skip_unless_testbed()
    why = wait_for_namespace_turn()
    if why:
        pytest.skip(f"namespace tests busy: {why}")
    with leak_check(), Cluster(nodes=nodes) as c:
        bed = (bed_class or HacoreTestbed)(c).start()
        extra = more_s1_addresses(c) if more_s1_addresses else []
        bed.s1 = c.s1_checker(addresses=[bed.vip, *extra])
        bed.poller = c.http_poller(f"http://{bed.vip}/") if http else None
        try:
            yield bed
        finally:
            if bed.poller is not None:
                bed.poller.stop()
            violations = bed.s1.stop()
            bed.stop()
            if os.environ.get("HACORE_SHOW_LOGS"):
                print(bed.tail_logs(200))
        assert not violations, "S1 violated: " + "; ".join(str(v) for v in violations)
