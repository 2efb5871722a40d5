"""Benchmark the built-in membership provider: crash-detection time, idle CPU and RSS.

Each node is its own process on a loopback address (127.S.0.i, one shared UDP port), with
the default timing (node_loss_timeout 1 s). For each cluster size: wait until every node
agrees on one quorate view, then repeatedly SIGKILL one node (every node in turn, the
coordinator included) and measure, on the system-wide monotonic clock, the time from the
kill until every survivor has reported it gone (a view event with it in `left`); then
restart it and wait for the full view again. Idle: CPU% and RSS of each node process over
--idle seconds with the cluster formed and nothing happening.

Run:  python bench/membership_detect.py [--sizes 3 5] [--crashes 10] [--idle 10] [--json]

Network namespaces (bridge, netem) come later with the testbed; loopback has no wire
latency, so these figures are the protocol's own: timeout, tick and scheduling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

KEY = b"bench-membership-key-32-bytes!!!"


def config_for(count: int, subnet: int):  # type: ignore[no-untyped-def]
    from hacore.config.model import ClusterConfig, Node, Quorum, Timing

    nodes = tuple(Node(f"n{i}", i, (f"127.{subnet}.0.{i}",)) for i in range(1, count + 1))
    return ClusterConfig(name="bench", config_version=1, nodes=nodes,
                         quorum=Quorum(expected_votes=count), timing=Timing())


async def run_node(name: str, count: int, subnet: int, port: int) -> None:
    """The node side: print every event as a JSON line until killed."""
    from hacore.membership.heartbeat import HeartbeatMembership

    provider = HeartbeatMembership(config_for(count, subnet), name, KEY, port=port)

    def show(event) -> None:  # type: ignore[no-untyped-def]
        view = event.view
        print(json.dumps({"t": time.monotonic(), "kind": event.kind, "left": list(event.left),
                          "members": list(view.member_names()), "quorate": view.quorate,
                          "epoch": view.epoch}), flush=True)

    provider.on_event(show)
    await provider.start()
    await asyncio.sleep(24 * 3600)


class Node:
    def __init__(self, name: str, count: int, subnet: int, port: int) -> None:
        self.name = name
        self.lines: list[dict[str, Any]] = []
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--node", name, str(count), str(subnet), str(port)],
            stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(json.loads(raw))

    def view(self) -> dict[str, Any]:
        found = [x for x in list(self.lines) if "members" in x]
        return found[-1] if found else {}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def wait(what, timeout: float) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.01)):
        if what():
            return
        time.sleep(0.01)
    raise SystemExit(f"benchmark: condition not met within {timeout} s")


def formed(nodes: dict[str, Node], names: list[str]) -> bool:
    views = [nodes[n].view() for n in names]
    return all(v.get("quorate") and sorted(v.get("members", [])) == sorted(names)
               and v.get("epoch") == views[0].get("epoch") for v in views)


def measure(count: int, crashes: int, idle: float) -> dict[str, Any]:
    import psutil

    subnet, port = random.randrange(10, 250), random.randrange(20000, 60000)
    names = [f"n{i}" for i in range(1, count + 1)]
    nodes = {n: Node(n, count, subnet, port) for n in names}
    try:
        wait(lambda: formed(nodes, names), 30)
        time.sleep(1.0)
        procs = [psutil.Process(n.proc.pid) for n in nodes.values()]
        for p in procs:
            p.cpu_percent(None)
        time.sleep(idle)
        cpu = [p.cpu_percent(None) for p in procs]
        rss = [p.memory_info().rss / 2**20 for p in procs]
        detect = []
        for i in range(crashes):
            victim = names[i % count]
            survivors = [n for n in names if n != victim]
            marks = {n: len(nodes[n].lines) for n in survivors}
            killed_at = time.monotonic()
            nodes[victim].kill()

            def seen(n: str, victim: str = victim, marks: dict[str, int] = marks) -> float | None:
                for line in nodes[n].lines[marks[n]:]:
                    if victim in line.get("left", []):
                        return line["t"]
                return None

            def everyone(survivors: list[str] = survivors) -> bool:
                return all(seen(n) is not None for n in survivors)

            wait(everyone, 30)
            detect.append(max(seen(n) for n in survivors) - killed_at)  # type: ignore[type-var]
            wait(lambda s=survivors: formed(nodes, s), 30)
            nodes[victim] = Node(victim, count, subnet, port)
            wait(lambda: formed(nodes, names), 30)
        return {"nodes": count, "crashes": crashes,
                "detect_median_s": round(statistics.median(detect), 3),
                "detect_max_s": round(max(detect), 3),
                "idle_cpu_percent_per_node": round(statistics.mean(cpu), 2),
                "idle_rss_mib_per_node": round(statistics.mean(rss), 1)}
    finally:
        for node in nodes.values():
            node.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--crashes", type=int, default=10)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [measure(n, args.crashes, args.idle) for n in args.sizes]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'nodes':>5} {'crashes':>7} {'detect median':>14} {'detect max':>11} "
          f"{'idle CPU %/node':>16} {'RSS MiB/node':>13}")
    for r in results:
        print(f"{r['nodes']:>5} {r['crashes']:>7} {r['detect_median_s']:>13.3f}s "
              f"{r['detect_max_s']:>10.3f}s {r['idle_cpu_percent_per_node']:>16.2f} "
              f"{r['idle_rss_mib_per_node']:>13.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--node":
        asyncio.run(run_node(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
    else:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        main()
