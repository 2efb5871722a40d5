"""Idle CPU and memory of a hacore node, on loopback only (no namespaces, no testbed lock).

Starts a cluster of ``--nodes`` hacore daemons as host processes (``hacore daemon``: the
supervisor, the daemon, its executor helper), each bound to its own 127.a.b.c address, with
its state directory, control socket and key under a temporary directory; waits until they
form a quorate cluster (and every service runs), lets it settle, then measures per node over
``--seconds``:

- CPU %: utime + stime of the supervisor, the daemon, the executor helper and every other
  live descendant, plus the times of the children they reaped (the operations the helper
  ran), as a share of one CPU;
- memory: PSS, USS and RSS (psutil ``memory_full_info``) of each long-lived process, and
  their sum.

``--resources N`` adds N services of one resource each, monitored every
``--monitor-interval`` seconds: ``--agent native`` (default) is a native agent whose
resource is a state file in the temporary directory (the bench writes the agent and an entry
point for it there, on the cluster's PYTHONPATH; ``native-worker`` is the same agent with
``monitor_in_worker``), ``script`` the installed ``script`` agent running a shell script
that exits 0. ``--placement one`` runs them all on n1 (a restricted domain), ``spread``
lets the policy spread them. Each run is a fresh cluster; the figures
are the median over ``--runs``. Every process is stopped by PID at the end (SIGTERM to each
supervisor: a clean leave, then SIGKILL to whatever is left), also on failure or Ctrl-C.

After the runs it measures bench/heartbeat_floor.py's floor of the same heartbeat traffic (the
baseline, in the same run) and prints the nodes' figure as a ratio of it.

Run: python bench/idle.py [--runs 3] [--seconds 60] [--resources 100 --placement one]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil

ROLES = (("supervisor", "hacore.daemon.supervisor"), ("daemon", "hacore.daemon.main"),
         ("helper", "hacore.executor.helper"))
#: an LSB script whose service is a file per node (each node has its own, as on real hosts)
SCRIPT = """#!/bin/sh
f="{state}.$HACORE_NODE"
case "$1" in
start) : > "$f";;
stop) rm -f "$f";;
status) [ -f "$f" ] || exit 3;;
esac
exit 0
"""
AGENTS = textwrap.dedent('''
    """Benchmark agents: the resource is a state file (bench/idle.py writes this module)."""
    import os

    from hacore.agent import Agent, Param, Result, hookimpl


    class BenchFile(Agent):
        name = "bench-file"
        shortdesc = "A resource that is a state file per node (benchmark only)"
        parameters = (Param("state", "State file (the node name is appended)", required=True),)

        @property
        def path(self):
            return self.params["state"] + "." + os.environ.get("HACORE_NODE", "")

        def start(self):
            open(self.path, "w").close()
            return Result.ok()

        def stop(self):
            if os.path.exists(self.path):
                os.unlink(self.path)
            return Result.ok()

        def monitor(self):
            return Result.ok() if os.path.exists(self.path) else Result.not_running()


    class BenchFileWorker(BenchFile):
        name = "bench-file-worker"
        monitor_in_worker = True


    @hookimpl
    def hacore_register_agents(register):
        register(BenchFile)
        register(BenchFileWorker)
''')


def write_bench_agents(base: Path) -> Path:
    """A module and a dist-info declaring it as a hacore.agents entry point, in ``base``
    (a directory to put on the cluster's PYTHONPATH)."""
    (base / "hacore_idle_bench_agents.py").write_text(AGENTS)
    info = base / "hacore_idle_bench_agents-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hacore-idle-bench-agents\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[hacore.agents]\nbench = hacore_idle_bench_agents\n")
    return base


def free_base() -> tuple[int, int, int]:
    """A random 127.a.b.c base address with room for the nodes after it."""
    return random.randint(100, 250), random.randint(1, 250), random.randint(1, 200)


def write_cluster(base: Path, nodes: int, resources: int, interval: float,
                  placement: str, loss: float, agent: str = "script",
                  heartbeat: float | None = None) -> list[dict[str, str]]:
    """The config, key and script under ``base``; one dict of paths per node."""
    a, b, c = free_base()
    port = random.randint(20000, 40000)
    lines = [f'[cluster]\nname = "idle"\nconfig_version = 1\nmessage_port = {port}\n',
             f"[timing]\nnode_loss_timeout = {loss}\n"
             + (f"heartbeat_interval = {heartbeat}\n" if heartbeat else ""),
             '[metrics]\nlisten = ""\n']
    for i in range(nodes):
        lines.append(f'[[nodes]]\nname = "n{i + 1}"\nid = {i + 1}\n'
                     f'addresses = ["127.{a}.{b}.{c + i}"]\n')
    if resources:
        for r in range(resources):
            script = base / f"r{r}.sh"
            script.write_text(SCRIPT.format(state=base / f"r{r}.state"))
            script.chmod(0o755)
        if placement == "one":
            lines.append('[domains.first]\nmembers = ["n1"]\nrestricted = true\n')
        kind = {"script": "script", "native": "bench-file",
                "native-worker": "bench-file-worker"}[agent]
        for r in range(resources):
            params = (f'file = "{base}/r{r}.sh"' if agent == "script"
                      else f'state = "{base}/r{r}.state"')
            lines.append(textwrap.dedent(f'''
                [resources.r{r}]
                agent = "{kind}"
                params = {{ {params} }}
                operations = {{ monitor = {{ interval = {interval}, timeout = 20 }} }}
                [services.s{r}]
                tree = [{{ resource = "r{r}" }}]
                {'domain = "first"' if placement == "one" else ""}
            '''))
    config = base / "cluster.toml"
    config.write_text("\n".join(lines))
    key = base / "cluster.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o400)
    out = []
    for i in range(nodes):
        state = base / f"n{i + 1}"
        out.append({"name": f"n{i + 1}", "config": str(config), "key": str(key),
                    "state": str(state), "socket": str(base / f"n{i + 1}.sock"),
                    "log": str(base / f"n{i + 1}.log")})
    return out


class Cluster:
    """The supervisors started, and every PID seen under them (for the clean-up)."""

    def __init__(self, nodes: list[dict[str, str]]) -> None:
        self.nodes = nodes
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        #: every process seen under a supervisor; psutil checks its start time before a
        #: kill, so a PID reused by another process since is never signalled
        self.seen: dict[int, psutil.Process] = {}

    def start(self, pythonpath: str | None = None) -> None:
        env = None
        if pythonpath:
            env = {**os.environ, "PYTHONPATH": pythonpath + os.pathsep
                   + os.environ.get("PYTHONPATH", "")}
        for node in self.nodes:
            with open(node["log"], "ab") as log:
                self.procs[node["name"]] = subprocess.Popen(
                    [sys.executable, "-m", "hacore.cli.main", "daemon", "--config",
                     node["config"], "--node", node["name"], "--state-dir", node["state"],
                     "--socket", node["socket"], "--key-file", node["key"]],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=env, start_new_session=True)  # Ctrl-C reaches us only; we stop them by PID

    def tree(self, name: str) -> list[psutil.Process]:
        """The node's supervisor and its live descendants (remembered for the clean-up)."""
        proc = self.procs[name]
        try:
            top = psutil.Process(proc.pid)
            found = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for p in found:
            self.seen.setdefault(p.pid, p)
        return found

    def status(self, node: dict[str, str]) -> dict[str, Any] | None:
        from hacore.api.client import ApiClient

        try:
            return ApiClient(node["socket"], timeout=5).call("status")
        except Exception:  # noqa: BLE001 - not up yet
            return None

    def wait_ready(self, resources: int, timeout: float) -> float:
        """Seconds until every node is quorate with every node a member and every service
        started; raises with the logs' tails if it does not happen within ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name}'s supervisor exited {proc.returncode}\n"
                                       + self.tails())
            sts = [self.status(n) for n in self.nodes]
            if all(st is not None and st["quorate"]
                   and all(m["state"] == "Online" for m in st["members"])
                   and sum(s["state"] == "started" for s in st["services"]) == resources
                   for st in sts):
                return time.monotonic() - start
            time.sleep(0.5)
        raise RuntimeError(f"no quorate cluster with {resources} services started within "
                           f"{timeout:.0f} s\n" + self.tails())

    def tails(self, lines: int = 15) -> str:
        out = []
        for node in self.nodes:
            try:
                text = Path(node["log"]).read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                text = []
            out.append(f"--- {node['name']} ---\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        """SIGTERM each supervisor (a clean leave), then SIGKILL every PID still alive."""
        for name in self.procs:
            self.tree(name)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.seen.values():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    p.kill()
            except psutil.Error:
                pass
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def role(proc: psutil.Process) -> str:
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "gone"
    return next((r for r, marker in ROLES if marker in cmd), "other")


def cpu_total(proc: psutil.Process) -> float | None:
    """Own and reaped children's CPU seconds of one process (None if it is gone)."""
    try:
        t = proc.cpu_times()
    except psutil.Error:
        return None
    return t.user + t.system + t.children_user + t.children_system


def measure(cluster: Cluster, seconds: float) -> dict[str, dict[str, Any]]:
    """Per node: CPU % over ``seconds`` and memory of each long-lived process."""
    before = {}
    for name in cluster.procs:
        before[name] = {p.pid: (p, cpu_total(p)) for p in cluster.tree(name)}
    started = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - started
    out: dict[str, dict[str, Any]] = {}
    for name in cluster.procs:
        used = 0.0
        per_role: dict[str, float] = {}
        for proc, t0 in before[name].values():
            t1 = cpu_total(proc)
            if t0 is None or t1 is None:
                continue
            r = role(proc)
            per_role[r] = per_role.get(r, 0.0) + (t1 - t0)
            used += t1 - t0
        memory: dict[str, dict[str, float]] = {}
        for proc in cluster.tree(name):
            try:
                info = proc.memory_full_info()
            except psutil.Error:
                continue
            r = role(proc)
            m = memory.setdefault(r, {"pss": 0.0, "uss": 0.0, "rss": 0.0, "n": 0})
            m["pss"] += info.pss / 2**20
            m["uss"] += info.uss / 2**20
            m["rss"] += info.rss / 2**20
            m["n"] += 1
        out[name] = {"cpu": 100 * used / wall,
                     "cpu_roles": {r: 100 * v / wall for r, v in per_role.items()},
                     "memory": memory,
                     "pss": sum(m["pss"] for m in memory.values()),
                     "rss": sum(m["rss"] for m in memory.values())}
    return out


def keep_logs(tmp: str) -> None:
    """Copy the nodes' logs of a failed run next to the temporary directory's name."""
    import shutil

    kept = tempfile.mkdtemp(prefix="hacore-idle-failed-")
    for log in Path(tmp).glob("n*.log"):
        shutil.copy(log, kept)
    print(f"  the logs of the failed run are in {kept}", file=sys.stderr)


def one_run(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="hacore-idle-") as tmp:
        nodes = write_cluster(Path(tmp), args.nodes, args.resources, args.monitor_interval,
                              args.placement, args.node_loss_timeout, args.agent,
                              args.heartbeat_interval)
        cluster = Cluster(nodes)
        try:
            cluster.start(str(write_bench_agents(Path(tmp))) if args.agent != "script" else None)
            ready = cluster.wait_ready(args.resources, args.ready_timeout)
            print(f"  ready after {ready:.1f} s; settling {args.settle:.0f} s", file=sys.stderr)
            time.sleep(args.settle)
            figures = measure(cluster, args.seconds)
            for node in nodes:  # a sanity check: an idle cluster logs no complaints
                text = Path(node["log"]).read_text(errors="replace")
                bad = [ln for ln in text.splitlines() if " WARNING" in ln or " ERROR" in ln]
                if bad:
                    print(f"  {node['name']}: {len(bad)} warnings/errors, last: {bad[-1]}",
                          file=sys.stderr)
            return figures
        except Exception:
            keep_logs(tmp)
            raise
        finally:
            cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds between ready and the measurement")
    parser.add_argument("--resources", type=int, default=0)
    parser.add_argument("--monitor-interval", type=float, default=10.0)
    parser.add_argument("--placement", choices=("one", "spread"), default="one")
    parser.add_argument("--agent", choices=("native", "native-worker", "script"),
                        default="native")
    parser.add_argument("--node-loss-timeout", type=float, default=1.0)
    parser.add_argument("--heartbeat-interval", type=float, default=None,
                        help="[timing] heartbeat_interval (default: derived)")
    parser.add_argument("--floor-seconds", type=float, default=20.0,
                        help="then measure bench/heartbeat_floor.py's floor of the same "
                        "heartbeat traffic for this long (0: skip)")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--json", action="store_true", help="print every run's figures")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    runs = []
    for i in range(args.runs):
        print(f"run {i + 1}/{args.runs}", file=sys.stderr)
        runs.append(one_run(args))
    if args.json:
        print(json.dumps(runs, indent=1))
    load = os.getloadavg()
    print(f"{args.nodes} nodes, {args.resources} {args.agent} resources ({args.placement}, "
          f"monitor every "
          f"{args.monitor_interval:g} s), {args.runs} runs x {args.seconds:g} s; "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    for name in runs[0]:
        cpu = [r[name]["cpu"] for r in runs]
        pss = [r[name]["pss"] for r in runs]
        rss = [r[name]["rss"] for r in runs]
        roles = sorted({k for r in runs for k in r[name]["memory"]})
        parts = []
        for k in roles:
            mp = statistics.median(r[name]["memory"].get(k, {}).get("pss", 0.0) for r in runs)
            mc = statistics.median(r[name]["cpu_roles"].get(k, 0.0) for r in runs)
            parts.append(f"{k} {mp:.1f} MiB {mc:.2f} %")
        print(f"{name}: CPU {statistics.median(cpu):.2f} % (runs {', '.join(f'{c:.2f}' for c in cpu)}); "
              f"PSS {statistics.median(pss):.1f} MiB, RSS {statistics.median(rss):.1f} MiB "
              f"[{'; '.join(parts)}]")
    if args.floor_seconds > 0:
        print_floor(args, statistics.median(statistics.median(r[n]["cpu"] for r in runs)
                                            for n in runs[0]))
    return 0


def print_floor(args: argparse.Namespace, daemon_cpu: float) -> None:
    """The baseline measured in the same run: the CPU of the same heartbeat traffic alone."""
    from heartbeat_floor import floor  # bench/ is this script's directory, first on sys.path

    interval = min(args.heartbeat_interval or args.node_loss_timeout / 10,
                   args.node_loss_timeout / 10)
    figures = floor(args.nodes, interval, args.floor_seconds, 1)
    bare, full = figures["bare"], figures["asyncio+json+hmac"]
    print(f"heartbeat floor, same packets ({args.nodes} processes, every {interval:g} s, "
          f"{args.floor_seconds:g} s): bare loop {bare:.2f} %, asyncio+json+hmac {full:.2f} % "
          f"per process; the nodes' median {daemon_cpu:.2f} % is {daemon_cpu / full:.1f}x the "
          f"latter, {daemon_cpu / bare:.1f}x the bare loop")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; every process was stopped", file=sys.stderr)
        sys.exit(130)
