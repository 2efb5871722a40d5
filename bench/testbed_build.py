"""How long the testbed takes to build and tear down clusters of 3, 5 and 16 nodes.

Run as root: ``python bench/testbed_build.py [--runs 5] [--sizes 3 5 16]``. Prints, per
size, the median and the max of the build time (switch, client, nodes with eth0 and
addresses, ready to run commands) and of the teardown time, over ``--runs`` runs, and
checks after each teardown that the host kept its links and no namespace was left.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from hacore.testing import Cluster, missing_prerequisites


def one_run(nodes: int) -> tuple[float, float]:
    links = set(os.listdir("/sys/class/net"))
    started = time.monotonic()
    cluster = Cluster(nodes=nodes)
    cluster.start()
    built = time.monotonic()
    try:
        last = cluster.nodes[-1]
        assert last.ping(cluster.nodes[0].address, 5.0), "the cluster does not forward"
    finally:
        closing = time.monotonic()
        cluster.close()
        closed = time.monotonic()
    leftover = [n for n in os.listdir("/run/netns") if n.startswith(cluster.prefix + "-")]
    assert not leftover, f"namespaces left: {leftover}"
    assert set(os.listdir("/sys/class/net")) == links, "the host's links changed"
    return built - started, closed - closing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per size (default 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 5, 16])
    args = parser.parse_args()
    why = missing_prerequisites()
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    print(f"{'nodes':>5}  {'build median':>12}  {'build max':>9}  {'teardown median':>15}  {'teardown max':>12}")
    for size in args.sizes:
        builds, teardowns = zip(*(one_run(size) for _ in range(args.runs)))
        print(f"{size:>5}  {statistics.median(builds) * 1000:>10.0f}ms  {max(builds) * 1000:>7.0f}ms"
              f"  {statistics.median(teardowns) * 1000:>13.0f}ms  {max(teardowns) * 1000:>10.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
