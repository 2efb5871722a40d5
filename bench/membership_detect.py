"""Benchmark the built-in membership provider on the testbed: crash detection, idle CPU/RSS.

Each cluster node is a testbed node (network, mount, PID namespaces behind a bridge) running
one provider process with the default timing (node_loss_timeout 1 s). For each cluster
size: wait until every node agrees on one quorate view, then crash one node after another
(every node in turn, the coordinator included): its cable is pulled (switch port down) and
its process SIGKILLed. The figure is the time from the moment the cable is down until every
survivor has reported it gone (a view event with it in `left`), on CLOCK_BOOTTIME, which
every namespace shares. The node is then plugged in and started again (a new incarnation),
and the cluster must re-form before the next crash. Idle: CPU% and RSS of every node process
over --idle seconds with the cluster formed and nothing happening (at the largest size).

Run (root; the testbed is shared, so under the lock):
    flock /work/netns.lock python bench/membership_detect.py --sizes 3 5 16 32 --crashes 20

On a 2-core machine 32 nodes measure contention as much as the protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

KEY = b"bench-membership-key-32-bytes!!!"
PORT = 5417


def boot_clock() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def config_for(addresses: list[str], loss_timeout: float):  # type: ignore[no-untyped-def]
    from hacore.config.model import ClusterConfig, Node, Quorum, Timing

    nodes = tuple(Node(f"n{i}", i, (a,)) for i, a in enumerate(addresses, 1))
    timing = Timing() if loss_timeout <= 0 else Timing.derived(loss_timeout)
    return ClusterConfig(name="bench", config_version=1, nodes=nodes,
                         quorum=Quorum(expected_votes=len(nodes)), timing=timing)


async def run_node(name: str, addresses: list[str], loss_timeout: float) -> None:
    """The node side: print every event as a JSON line until killed."""
    from hacore.membership.heartbeat import HeartbeatMembership

    provider = HeartbeatMembership(config_for(addresses, loss_timeout), name, KEY, port=PORT)

    def show(event) -> None:  # type: ignore[no-untyped-def]
        view = event.view
        print(json.dumps({"t": provider.now(), "kind": event.kind, "left": list(event.left),
                          "members": list(view.member_names()), "quorate": view.quorate,
                          "epoch": view.epoch}), flush=True)

    provider.on_event(show)
    await provider.start()
    await asyncio.sleep(24 * 3600)


class NodeProgram:
    """One provider process inside a testbed node; its JSON lines collected."""

    def __init__(self, tb_node: Any, addresses: list[str], loss_timeout: float) -> None:
        self.tb_node = tb_node
        self.name = tb_node.name
        self.lines: list[dict[str, Any]] = []
        self.proc = tb_node.popen([sys.executable, os.path.abspath(__file__), "--node",
                                   self.name, ",".join(addresses), str(loss_timeout)],
                                  stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                pass

    def view(self) -> dict[str, Any]:
        found = [x for x in list(self.lines) if "members" in x]
        return found[-1] if found else {}

    def pid(self) -> int | None:
        """Host PID of the provider process (not the nsenter that started it)."""
        pids = self.tb_node.find_pids(r"membership_detect\.py --node")
        return pids[0] if pids else None

    def kill(self) -> None:
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def wait(what, timeout: float) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.01)):
        if what():
            return
        time.sleep(0.01)
    raise SystemExit(f"benchmark: condition not met within {timeout} s")


def formed(nodes: dict[str, NodeProgram], names: list[str]) -> bool:
    views = [nodes[n].view() for n in names]
    return all(v.get("quorate") and sorted(v.get("members", [])) == sorted(names)
               and v.get("epoch") == views[0].get("epoch") for v in views)


def idle_figures(nodes: dict[str, NodeProgram], idle: float) -> tuple[float, float]:
    import psutil

    procs = [psutil.Process(p) for p in (n.pid() for n in nodes.values()) if p is not None]
    for p in procs:
        p.cpu_percent(None)
    time.sleep(idle)
    cpu = [p.cpu_percent(None) for p in procs]
    rss = [p.memory_info().rss / 2**20 for p in procs]
    return statistics.mean(cpu), statistics.mean(rss)


def flaps_under_loss(cluster: Any, nodes: dict[str, NodeProgram], loss: float,
                     seconds: float) -> int:
    """Membership changes (a view event with anyone joining or leaving) on any node while
    every node loses ``loss`` % of the packets it sends, for ``seconds``."""
    marks = {n: len(p.lines) for n, p in nodes.items()}
    for name in nodes:
        cluster.netem(name, loss=loss)
    time.sleep(seconds)
    for name in nodes:
        cluster.netem(name)
    return sum(1 for n, p in nodes.items() for x in p.lines[marks[n]:]
               if x.get("left") or (x.get("kind") == "quorum-lost"))


def measure(count: int, crashes: int, idle: float, loss_timeout: float = 0.0,
            loss: float = 0.0, loss_seconds: float = 0.0) -> dict[str, Any]:
    from hacore.testing import Cluster

    with Cluster(nodes=count) as cluster:
        addresses = [n.address for n in cluster.nodes]
        names = [n.name for n in cluster.nodes]
        nodes = {n.name: NodeProgram(n, addresses, loss_timeout) for n in cluster.nodes}
        try:
            wait(lambda: formed(nodes, names), 60)
            time.sleep(2.0)
            cpu, rss = idle_figures(nodes, idle) if idle > 0 else (float("nan"),) * 2
            flaps = None
            if loss > 0 and loss_seconds > 0:
                flaps = flaps_under_loss(cluster, nodes, loss, loss_seconds)
                wait(lambda: formed(nodes, names), 60)
            detect = []
            for i in range(crashes):
                victim = names[i % count]
                survivors = [n for n in names if n != victim]
                marks = {n: len(nodes[n].lines) for n in survivors}
                cluster.link_down(victim)
                down_at = boot_clock()
                nodes[victim].kill()

                def seen(n: str, victim: str = victim, marks: dict[str, int] = marks) -> float | None:
                    for line in nodes[n].lines[marks[n]:]:
                        if victim in line.get("left", []):
                            return float(line["t"])
                    return None

                wait(lambda s=survivors: all(seen(n) is not None for n in s), 30)
                detect.append(max(seen(n) for n in survivors) - down_at)  # type: ignore[type-var]
                wait(lambda s=survivors: formed(nodes, s), 30)
                cluster.link_up(victim)
                nodes[victim] = NodeProgram(cluster.node(victim), addresses, loss_timeout)
                wait(lambda: formed(nodes, names), 60)
            return {"nodes": count, "crashes": crashes,
                    "detect_median_s": round(statistics.median(detect), 3) if detect else None,
                    "detect_max_s": round(max(detect), 3) if detect else None,
                    "idle_cpu_percent_per_node": round(cpu, 2),
                    "idle_rss_mib_per_node": round(rss, 1),
                    "node_loss_timeout_s": loss_timeout or 1.0,
                    "loss_percent": loss, "loss_seconds": loss_seconds,
                    "flaps_under_loss": flaps}
        finally:
            for node in nodes.values():
                node.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 5, 16, 32])
    parser.add_argument("--crashes", type=int, nargs="+", default=[20],
                        help="crashes per size (one number for all, or one per size)")
    parser.add_argument("--idle", type=float, default=10.0,
                        help="seconds of idle CPU/RSS measurement (at every size)")
    parser.add_argument("--loss-timeout", type=float, default=0.0,
                        help="node_loss_timeout T (default: the configuration default)")
    parser.add_argument("--loss", type=float, default=0.0,
                        help="also lose this %% of every node's packets for --loss-seconds "
                        "and count membership changes (flaps)")
    parser.add_argument("--loss-seconds", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    crashes = args.crashes if len(args.crashes) == len(args.sizes) else \
        [args.crashes[0]] * len(args.sizes)
    results = [measure(n, k, args.idle, args.loss_timeout, args.loss,
                       args.loss_seconds if args.loss else 0.0)
               for n, k in zip(args.sizes, crashes)]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'nodes':>5} {'crashes':>7} {'detect median':>14} {'detect max':>11} "
          f"{'idle CPU %/node':>16} {'RSS MiB/node':>13}")
    for r in results:
        if r["detect_median_s"] is None:
            detect = f"{'-':>14} {'-':>11}"
        else:
            detect = f"{r['detect_median_s']:>13.3f}s {r['detect_max_s']:>10.3f}s"
        print(f"{r['nodes']:>5} {r['crashes']:>7} {detect} "
              f"{r['idle_cpu_percent_per_node']:>16.2f} {r['idle_rss_mib_per_node']:>13.1f}")
    for r in results:
        if r["flaps_under_loss"] is not None:
            print(f"{r['nodes']} nodes, T={r['node_loss_timeout_s']} s: "
                  f"{r['flaps_under_loss']} membership changes under {r['loss_percent']:g} % "
                  f"loss in {r['loss_seconds']:g} s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--node":
        asyncio.run(run_node(sys.argv[2], sys.argv[3].split(","), float(sys.argv[4]) if len(sys.argv) > 4 else 0.0))
    else:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        main()
