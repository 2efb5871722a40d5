"""Benchmark the policy engine: decide() time and peak memory, and whole `hacore simulate` runs.

Shapes: 3, 16, 32 nodes x 30, 300, 3000, 9000 resources (services of three resources, a
third of them in one of up to eight ordered failover domains, a third in unordered ones, the
rest free). For each shape:
  from empty   every node up, no service placed: decide() places them all
  steady       every service placed and healthy: decide() finds nothing to do
  node failed  the busiest node is lost and confirmed fenced: decide() recovers its services
Times are the median of --runs calls on a prebuilt snapshot with the config index warm (its
one-off build is shown separately); memory is tracemalloc's peak during one call, and
"all MiB" the peak of the whole pipeline (config, index, placing everything, recovering the
busiest node's services) with every snapshot kept alive.
With --simulate, also times the whole `hacore simulate --config F --step fail:NODE --json`
process (TOML load, placement, one step, JSON) on the largest shapes.

Run:  python bench/policy_decide.py [--runs 7] [--simulate] [--json]

Pacemaker's scheduler (crm_simulate, same shapes, measured on this machine class, from
issue 6): 3 x 9000: 11.8 s steady, 19.3 s after a node failure, 64 s from empty;
32 x 9000: 108 s steady, 184 s after a node failure, 4.2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from hacore.config.model import (
    ClusterConfig,
    DomainMember,
    FailoverDomain,
    FenceDeviceRef,
    FenceMethod,
    Node,
    Quorum,
    Resource,
    Service,
)
from hacore.policy import LostNode, Snapshot, apply, decide
from hacore.policy.index import build_index
from hacore.policy.snapshot import initial_snapshot

NODES = (3, 16, 32)
RESOURCES = (30, 300, 3000, 9000)


def _domains(n: int) -> list[tuple[str, list[str], bool]]:
    names = [f"n{i}" for i in range(1, n + 1)]
    out = []
    for k in range(min(8, n)):
        size = max(2, n // 4)
        members = [names[(k + j) % n] for j in range(size)]
        out.append((f"d{k}", members, k % 2 == 0))
    return out


def make_config(n_nodes: int, n_resources: int) -> ClusterConfig:
    """A cluster of ``n_nodes`` with ``n_resources // 3`` services of three resources."""
    nodes = tuple(Node(f"n{i}", i, (f"10.77.0.{i}",),
                       fence=(FenceMethod("p", (FenceDeviceRef("pdu", {"port": f"n{i}"}),)),))
                  for i in range(1, n_nodes + 1))
    domains = tuple(FailoverDomain(name, tuple(DomainMember(m, p) for p, m in enumerate(mem, 1)),
                                   ordered=ordered)
                    for name, mem, ordered in _domains(n_nodes))
    services = []
    for s in range(n_resources // 3):
        names = (f"s{s}-ip", f"s{s}-fs", f"s{s}-app")
        resources = tuple(Resource(r, "script") for r in names)
        domain = domains[s % len(domains)].name if s % 3 != 2 else None
        services.append(Service(f"s{s}", resources, names, tuple(reversed(names)),
                                domain=domain, recovery="relocate" if s % 5 == 0 else "restart"))
    return ClusterConfig("bench", 1, nodes, Quorum(expected_votes=n_nodes), domains=domains,
                         services=tuple(services))


def config_toml(cfg: ClusterConfig) -> str:
    """The same cluster as a cluster.toml (for timing the whole simulate process)."""
    out = ['[cluster]\nname = "bench"\nconfig_version = 1\n', ('[fence_devices.pdu]\n'
           'agent = "fence_dummy"\n')]
    for node in cfg.nodes:
        out.append(f'[[nodes]]\nname = "{node.name}"\nid = {node.id}\naddresses = '
                   f'["{node.addresses[0]}"]\nfence = [{{ method = "p", devices = '
                   f'[{{ device = "pdu", port = "{node.name}" }}] }}]\n')
    for d in cfg.domains:
        members = ", ".join(f'"{m.node}"' for m in d.members)
        out.append(f'[domains.{d.name}]\nmembers = [{members}]\nordered = '
                   f'{"true" if d.ordered else "false"}\n')
    for svc in cfg.services:
        tree = ", ".join(f'"{r.name}"' for r in svc.resources)
        domain = f'domain = "{svc.domain}"\n' if svc.domain else ""
        out.append(f'[services.{svc.name}]\n{domain}recovery = "{svc.recovery}"\n'
                   f'tree = [{tree}]\n')
        for r in svc.resources:
            out.append(f'[services.{svc.name}.resources.{r.name}]\nagent = "script"\n'
                       f'params = {{ file = "/etc/init.d/{r.name}" }}\n')
    return "\n".join(out)


def settle(cfg: ClusterConfig, snap: Snapshot) -> Snapshot:
    for _ in range(50):
        actions = decide(cfg, snap, 0.0)
        if not actions:
            return snap
        snap = apply(cfg, snap, actions)
    raise RuntimeError("did not settle")


def busiest_failed(cfg: ClusterConfig, snap: Snapshot) -> tuple[Snapshot, str]:
    load: dict[str, int] = {}
    for st in snap.services.values():
        if st.owner:
            load[st.owner] = load.get(st.owner, 0) + 1
    busiest = max(sorted(load), key=load.__getitem__)
    members = {n: g for n, g in snap.members.items() if n != busiest}
    return replace(snap, members=members, generation=snap.generation + 1,
                   lost={busiest: LostNode(fenced=True)}), busiest


def measure(cfg: ClusterConfig, snap: Snapshot, runs: int) -> tuple[float, float, int]:
    """(median ms, peak MiB, number of actions) of decide() on ``snap``."""
    times = []
    actions: list = []
    for _ in range(runs):
        t0 = time.perf_counter()
        actions = decide(cfg, snap, 0.0)
        times.append((time.perf_counter() - t0) * 1000)
    tracemalloc.start()
    decide(cfg, snap, 0.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20, len(actions)


def whole_pipeline_mib(n_nodes: int, n_resources: int) -> float:
    """tracemalloc peak (MiB) of config, index, placing from empty, and a node failure."""
    tracemalloc.start()
    cfg = make_config(n_nodes, n_resources)
    steady = settle(cfg, initial_snapshot(cfg))
    failed, _ = busiest_failed(cfg, steady)
    settle(cfg, failed)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def simulate_process(cfg: ClusterConfig, node: str, runs: int) -> float:
    """Median wall time (s) of the whole `hacore simulate ... --step fail:NODE --json`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cluster.toml"
        path.write_text(config_toml(cfg))
        cmd = [sys.executable, "-m", "hacore.cli.main", "simulate", "--config", str(path),
               "--step", f"fail:{node}", "--json"]
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
            times.append(time.perf_counter() - t0)
            if done.returncode != 0:
                raise RuntimeError(f"simulate failed: {done.stderr.strip()}")
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--simulate", action="store_true",
                        help="also time whole `hacore simulate` processes (largest shapes)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    header = (f"{'nodes':>5} {'res':>5} {'svcs':>5} {'index ms':>8} | {'empty ms':>8} {'MiB':>6} "
              f"| {'steady ms':>9} {'MiB':>6} | {'node-fail ms':>12} {'MiB':>6} {'acts':>5} "
              f"| {'all MiB':>7}")
    if not args.json:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; median of {args.runs}")
        print(header)
        print("-" * len(header))
    for n in NODES:
        for r in RESOURCES:
            all_mib = whole_pipeline_mib(n, r)
            cfg = make_config(n, r)
            t0 = time.perf_counter()
            build_index(cfg)
            index_ms = (time.perf_counter() - t0) * 1000
            empty = initial_snapshot(cfg)
            decide(cfg, empty, 0.0)  # warm the index cache
            empty_ms, empty_mib, _ = measure(cfg, empty, args.runs)
            steady = settle(cfg, empty)
            steady_ms, steady_mib, steady_n = measure(cfg, steady, args.runs)
            assert steady_n == 0, "steady state should need no action"
            failed, busiest = busiest_failed(cfg, steady)
            fail_ms, fail_mib, fail_n = measure(cfg, failed, args.runs)
            row = {"nodes": n, "resources": r, "services": len(cfg.services),
                   "index_ms": round(index_ms, 2),
                   "empty_ms": round(empty_ms, 2), "empty_mib": round(empty_mib, 2),
                   "steady_ms": round(steady_ms, 2), "steady_mib": round(steady_mib, 2),
                   "node_fail_ms": round(fail_ms, 2), "node_fail_mib": round(fail_mib, 2),
                   "node_fail_actions": fail_n, "all_mib": round(all_mib, 2)}
            if args.simulate and r == RESOURCES[-1]:
                row["simulate_s"] = round(simulate_process(cfg, busiest, 3), 2)
            rows.append(row)
            if not args.json:
                print(f"{n:>5} {r:>5} {len(cfg.services):>5} {index_ms:>8.1f} | "
                      f"{empty_ms:>8.1f} {empty_mib:>6.2f} | {steady_ms:>9.1f} "
                      f"{steady_mib:>6.2f} | {fail_ms:>12.1f} {fail_mib:>6.2f} {fail_n:>5} "
                      f"| {all_mib:>7.2f}"
                      + (f"   simulate process {row['simulate_s']:.2f} s"
                         if "simulate_s" in row else ""))
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
