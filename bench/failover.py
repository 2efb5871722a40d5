"""Crash failover, cold start and idle memory of hacore on a 3-node namespace testbed.

Run as root: ``python bench/failover.py [--runs 5] [--node-loss-timeout 1.0]``.

web = a VIP (ip agent) + Apache (apache agent); the client namespace polls
``http://VIP/`` every 50 ms (0.2 s timeout per request); the testbed's fence device fences.

- crash failover: the owner crashes (cable pulled, every process killed) -> the first HTTP
  answer from another node. Split, from the daemons' logs: detection (crash -> the
  first daemon logs the node as gone from its view), decide (-> fence decided: a new
  coordinator's takeover and the settle wait), fencing (fence decided -> fence confirmed; the settle
  wait before it is counted in "decide"), start (start sent -> start done), and the rest.
  Median and max over --runs.
- planned relocation: ``hacore service relocate web --to NODE --no-wait`` -> the first HTTP
  answer from NODE (includes the CLI's start-up, about 0.3 s).
- cold start: every daemon launched at once -> the first HTTP answer.
- idle memory: RSS and PSS summed over one node's supervisor, daemon and executor helper
  with web running there.
"""

from __future__ import annotations

import argparse
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
           "fence": fenced - fence_sent, "start": started - start_sent,
           "rest": total - (started - wall)}
    bed.wait(lambda: victim.up, 30, "victim booted by the fence")
    bed.start_daemon(victim)
    bed.wait(lambda: all_online(bed, probe), 90, "all members back")
    return out


def one_relocation(bed: HacoreTestbed) -> float:
    """``hacore service relocate web --to OTHER`` -> the first HTTP answer from OTHER."""
    nodes = {n.name: n for n in bed.c.nodes}
    probe = nodes["n2"]
    bed.wait(lambda: all_online(bed, probe) and owner(bed, probe) is not None, 90, "ready")
    here = owner(bed, probe)
    target = next(n for n in bed.c.nodes if n.name != here)
    time.sleep(0.5)
    started = time.monotonic()
    bed.hacore(target, "service", "relocate", "web", "--to", target.name, "--no-wait")
    deadline = time.monotonic() + 60
    sample = None
    while sample is None and time.monotonic() < deadline:
        sample = bed.poller.first_answer_after(started, node=target.name)
        time.sleep(0.05)
    assert sample is not None, bed.tail_logs()
    return sample.sent + sample.elapsed - started


def memory(bed: HacoreTestbed, node) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    import psutil

    rss = pss = 0
    pattern = r"hacore\.daemon\.(main|supervisor)|hacore\.executor\.helper|hacore\.cli\.main daemon"
    for pid in node.find_pids(pattern):
        try:
            info = psutil.Process(pid).memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", 0)
    return rss / 2**20, pss / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--node-loss-timeout", type=float, default=1.0)
    parser.add_argument("--show-logs", action="store_true", help="Print the daemons' logs.")
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
        rss, pss = memory(bed, where)
        idle_node = next(n for n in c.nodes if n is not where)
        rss_idle, pss_idle = memory(bed, idle_node)
        runs = []
        moves = []
        try:
            for _ in range(args.runs):
                moves.append(one_relocation(bed))
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
    for key in ("total", "detect", "decide", "fence", "start", "rest"):
        values = [r[key] for r in runs]
        print(f"  crash failover {key:<7} median {statistics.median(values):6.2f} s   "
              f"max {max(values):6.2f} s")
    print(f"  planned relocation (CLI call -> answers from the target): median "
          f"{statistics.median(moves):.2f} s, max {max(moves):.2f} s")
    print(f"  cold start (daemons launched -> HTTP answers): {cold:.2f} s")
    print(f"  memory, node running web (supervisor + daemon + helper): RSS {rss:.1f} MiB, "
          f"PSS {pss:.1f} MiB")
    print(f"  memory, idle node: RSS {rss_idle:.1f} MiB, PSS {pss_idle:.1f} MiB")
    print(f"  S1 violations: {len(violations)}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
