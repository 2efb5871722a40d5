"""Crash failover, cold start and idle memory of hacore on a 3-node namespace testbed.

Run as root: ``python bench/failover.py [--runs 5] [--node-loss-timeout 1.0]``.

web = a VIP (ip agent) + Apache (apache agent); the client namespace polls
``http://VIP/`` every 50 ms (0.2 s timeout per request); the testbed's fence device fences.

- crash failover: the owner crashes (cable pulled, every process killed) -> the first HTTP
  answer from another node. Split, from the daemons' logs: detection (crash -> the
  first daemon logs the node as gone from its view), decide (-> fence decided: a new
  coordinator's takeover and the wait for an agreed view), fencing (fence decided -> fence
  confirmed), dispatch (fence confirmed -> start sent), start (start sent -> start done:
  the VIP's probe and announcements, then Apache), and the rest (-> the client's answer).
  Median and max over --runs.
- planned relocation: ``hacore service relocate web --to NODE --no-wait`` -> the first HTTP
  answer from NODE (includes the CLI's start-up, about 0.1 s). Split: request (-> stop
  sent), stop (Apache, then the VIP), dispatch (stop done -> start sent), start, rest.
- cold start: every daemon launched at once -> the first HTTP answer.
- idle memory: PSS of each of one node's supervisor, daemon and executor helper and their
  sum (and RSS), on the node running web and on one running nothing. The testbed's nodes
  share one host, so shared libraries count a third per node: PSS on a real node is higher.
- idle CPU: per node, CPU time of those processes and of the operations they ran (monitors
  every 2 s of the VIP and Apache on the web node) over --idle-seconds.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time

from hacore.daemon.testbed import HacoreTestbed, wait_for_namespace_turn
from hacore.testing import Cluster, missing_prerequisites


def owner(bed: HacoreTestbed, via) -> str | None:  # type: ignore[no-untyped-def]
    web = bed.web(via)
    return web["owner"] if web and web["state"] == "started" else None


def all_online(bed: HacoreTestbed, via) -> bool:  # type: ignore[no-untyped-def]
    st = bed.status(via)
    return bool(st) and all(m["state"] == "Online" for m in st["members"])


def one_crash(bed: HacoreTestbed) -> dict[str, float]:
    nodes = {n.name: n for n in bed.c.nodes}
    probe = nodes["n2"]
    bed.wait(lambda: all_online(bed, probe) and owner(bed, probe) is not None, 90, "ready")
    victim = nodes[owner(bed, probe) or "n1"]
    probe = next(n for n in bed.c.nodes if n is not victim)
    assert bed.poller.wait_for_answer(node=victim.name, timeout=30) is not None
    time.sleep(1.0)
    wall, mono = time.time(), time.monotonic()
    bed.c.crash(victim)
    sample = None
    deadline = time.monotonic() + 60
    while sample is None and time.monotonic() < deadline:
        answers = [x for x in list(bed.poller.samples)
                   if x.sent >= mono and x.ok and x.node != victim.name]
        sample = min(answers, key=lambda x: x.sent) if answers else None
        time.sleep(0.05)
    assert sample is not None, bed.tail_logs()
    total = sample.sent + sample.elapsed - mono
    time.sleep(0.5)
    v = victim.name

    def after(pattern: str) -> float:
        times = [t for t in bed.log_times(pattern) if t >= wall - 0.01]
        return times[0] if times else float("nan")

    lost = after(rf"membership seen by \w+: left [^;]*\b{v}\b")
    fence_sent, fenced = after(rf"INFO: fence {v}: "), after(rf"fenced {v}: ")
    start_sent = after(rf"INFO: start web on {sample.node}: ")
    started = after(rf"done: start web on {sample.node}")
    out = {"total": total, "detect": lost - wall, "decide": fence_sent - lost,
           "fence": fenced - fence_sent, "dispatch": start_sent - fenced,
           "start": started - start_sent,
           "rest": total - (started - wall)}
    bed.wait(lambda: victim.up, 30, "victim booted by the fence")
    bed.start_daemon(victim)
    bed.wait(lambda: all_online(bed, probe), 90, "all members back")
    return out


def one_relocation(bed: HacoreTestbed) -> dict[str, float]:
    """``hacore service relocate web --to OTHER`` -> the first HTTP answer from OTHER; split
    from the logs: request (-> stop sent), stop, dispatch (stop done -> start sent), start,
    rest (start done -> answer)."""
    nodes = {n.name: n for n in bed.c.nodes}
    probe = nodes["n2"]
    bed.wait(lambda: all_online(bed, probe) and owner(bed, probe) is not None, 90, "ready")
    here = owner(bed, probe)
    target = next(n for n in bed.c.nodes if n.name != here)
    time.sleep(0.5)
    wall, started = time.time(), time.monotonic()
    bed.hacore(target, "service", "relocate", "web", "--to", target.name, "--no-wait")
    deadline = time.monotonic() + 60
    sample = None
    while sample is None and time.monotonic() < deadline:
        sample = bed.poller.first_answer_after(started, node=target.name)
        time.sleep(0.05)
    assert sample is not None, bed.tail_logs()
    total = sample.sent + sample.elapsed - started
    time.sleep(0.3)

    def after(pattern: str) -> float:
        times = [t for t in bed.log_times(pattern) if t >= wall - 0.01]
        return times[0] if times else float("nan")

    stop_sent, stop_done = after(rf"INFO: stop web on {here}: "), after(rf"done: stop web on {here}")
    start_sent = after(rf"INFO: start web on {target.name}: ")
    start_done = after(rf"done: start web on {target.name}")
    return {"total": total, "request": stop_sent - wall, "stop": stop_done - stop_sent,
            "dispatch": start_sent - stop_done, "start": start_done - start_sent,
            "rest": total - (start_done - wall)}


PROCESS_PATTERN = (r"hacore\.daemon\.(main|supervisor)|hacore\.executor\.helper|"
                   r"hacore\.cli\.main daemon")


def node_processes(node) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """One node's supervisor, daemon and executor helper (psutil.Process by role)."""
    import psutil

    out: dict[str, object] = {}
    for pid in node.find_pids(PROCESS_PATTERN):
        try:
            proc = psutil.Process(pid)
            line = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        role = ("helper" if "executor.helper" in line else "daemon" if "daemon.main" in line
                else "supervisor")
        out[role] = proc
    return out


def memory(bed: HacoreTestbed, node) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """(RSS, PSS) in MiB of each of the node's processes, and their sum under "total"."""
    import psutil

    out: dict[str, tuple[float, float]] = {}
    for role, proc in node_processes(node).items():
        try:
            info = proc.memory_full_info()  # type: ignore[attr-defined]
        except psutil.Error:
            continue
        out[role] = (info.rss / 2**20, getattr(info, "pss", 0) / 2**20)
    out["total"] = (sum(r for r, _ in out.values()), sum(p for _, p in out.values()))
    return out


def cpu_seconds(procs: dict[str, object]) -> float:
    """CPU time so far of the processes and of their reaped children (operations)."""
    import psutil

    total = 0.0
    for proc in procs.values():
        try:
            t = proc.cpu_times()  # type: ignore[attr-defined]
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def idle_cpu(bed: HacoreTestbed, seconds: float) -> dict[str, float]:
    """Per node: CPU used by supervisor + daemon + helper (+ operations) over ``seconds``,
    in % of one core."""
    procs = {n.name: node_processes(n) for n in bed.c.nodes}
    before = {name: cpu_seconds(p) for name, p in procs.items()}
    started = time.monotonic()
    time.sleep(seconds)
    took = time.monotonic() - started
    return {name: 100 * (cpu_seconds(p) - before[name]) / took for name, p in procs.items()}


def describe_memory(what: str, mem: dict[str, tuple[float, float]]) -> str:
    parts = ", ".join(f"{role} {mem[role][1]:.1f}" for role in ("supervisor", "daemon", "helper")
                      if role in mem)
    rss, pss = mem["total"]
    return f"  memory, {what}: PSS {pss:.1f} MiB ({parts}), RSS {rss:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--node-loss-timeout", type=float, default=1.0)
    parser.add_argument("--show-logs", action="store_true", help="Print the daemons' logs.")
    parser.add_argument("--idle-seconds", type=float, default=30.0,
                        help="How long idle CPU is measured (default 30).")
    args = parser.parse_args()
    why = missing_prerequisites() or wait_for_namespace_turn(600)
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    with Cluster(nodes=3) as c:
        bed = HacoreTestbed(c, node_loss_timeout=args.node_loss_timeout)
        bed.write_config()
        poller = c.http_poller(f"http://{bed.vip}/")
        s1 = c.s1_checker(addresses=[bed.vip])
        bed.poller = poller
        launched = time.monotonic()
        bed.start()
        first = poller.wait_for_answer(timeout=90)
        cold = (first.sent + first.elapsed - launched) if first else float("nan")
        time.sleep(3.0)
        where = next(n for n in c.nodes if n.name == owner(bed, c.nodes[1]))
        mem_web = memory(bed, where)
        idle_node = next(n for n in c.nodes if n is not where)
        mem_idle = memory(bed, idle_node)
        cpu = idle_cpu(bed, args.idle_seconds)
        load = os.getloadavg()[0]
        runs = []
        moves = []
        try:
            for i in range(args.runs):
                moves.append(one_relocation(bed))
                print(f"relocation {i + 1}: " + ", ".join(f"{k} {v:.2f} s"
                                                         for k, v in moves[-1].items()), flush=True)
            for i in range(args.runs):
                runs.append(one_crash(bed))
                print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in runs[-1].items()),
                      flush=True)
        finally:
            poller.stop()
            violations = s1.stop()
            bed.stop()
            if args.show_logs:
                print(bed.tail_logs(400))
    print()
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(f"node_loss_timeout {args.node_loss_timeout:g} s, {len(runs)} crash runs, "
          "3 testbed nodes, VIP + Apache, client polls every 50 ms")
    for key in ("total", "detect", "decide", "fence", "dispatch", "start", "rest"):
        values = [r[key] for r in runs]
        print(f"  crash failover {key:<8} median {statistics.median(values):6.2f} s   "
              f"max {max(values):6.2f} s")
    for key in ("total", "request", "stop", "dispatch", "start", "rest"):
        values = [m[key] for m in moves]
        print(f"  relocation {key:<12} median {statistics.median(values):6.2f} s   "
              f"max {max(values):6.2f} s")
    print(f"  cold start (daemons launched -> HTTP answers): {cold:.2f} s")
    print(describe_memory(f"{where.name} running web", mem_web))
    print(describe_memory(f"{idle_node.name} running nothing", mem_idle))
    print(f"  CPU over {args.idle_seconds:g} s idle (supervisor + daemon + helper + operations, "
          "% of one core): " + ", ".join(
              f"{name}{' (web)' if name == where.name else ''} {pct:.2f} %"
              for name, pct in sorted(cpu.items())))
    print(f"  machine load average (1 min) during the idle window: {load:.2f} on "
          f"{os.cpu_count()} cores")
    print(f"  S1 violations: {len(violations)}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
