"""The fault campaign: episodes of seeded random faults on a 5-node hacore testbed cluster.

    python -m hacore.testing.campaign --episodes 10 --length 30 [--json]
    python -m hacore.testing.campaign --seed 1234              # replay one episode
    python -m hacore.testing.campaign --episodes 50 --part 2/4 --progress p.jsonl --resume
    python -m hacore.testing.campaign --no-fence --episodes 10  # the paused-node window

Each episode resets the cluster (every service enabled and running, every node up), runs the
faults ``make_schedule(seed)`` draws (node crash, daemon kill -9, daemon pause, node freeze,
reboot, partitions one-way / symmetric / non-transitive, 30 % loss, a job agent that hangs or
fails, admin commands), heals everything, and checks: S1 throughout (addresses, the shared
disk's mount, the job's process), admin commands reflected, recovery within the bound, no
unexpected daemon death, no leak. The cluster is reused between episodes and rebuilt when a
reset fails. Needs root and the testbed's prerequisites. See docs/campaign.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from hacore.testing.campaign_episode import EpisodeOptions, run_episode
from hacore.testing.campaign_schedule import ALL_KINDS

DEFAULT_BASE = 1000


def seeds_of(episodes: int, base: int = DEFAULT_BASE, part: str | None = None) -> list[int]:
    """The seeds of a campaign: ``episodes`` seeds from ``base``; ``part`` "k/m" takes the
    k-th of m consecutive blocks of ``episodes`` seeds (4 parts of 50 = 200 episodes)."""
    if part is None:
        return list(range(base, base + episodes))
    try:
        k, m = (int(x) for x in part.split("/"))
    except ValueError:
        raise ValueError(f"--part {part!r}: expected K/M, e.g. 1/4") from None
    if not 1 <= k <= m:
        raise ValueError(f"--part {part!r}: K must be between 1 and M")
    start = base + (k - 1) * episodes
    return list(range(start, start + episodes))


def load_progress(path: Path | None) -> dict[int, dict[str, Any]]:
    """Episode results already recorded in a progress file (JSON lines), by seed."""
    done: dict[int, dict[str, Any]] = {}
    if path is None or not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
            done[int(item["seed"])] = item
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill: that episode runs again
    return done


def append_progress(path: Path | None, result: dict[str, Any]) -> None:
    """One result line, flushed and fsynced (a killed campaign loses at most its episode)."""
    if path is None:
        return
    with open(path, "a") as f:
        f.write(json.dumps(result, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Episodes, faults per kind, violations (with seed and schedule), recovery times; for a
    no-fence campaign violations inside the paused-node window are listed apart."""
    counts: dict[str, int] = {}
    violations, in_window = [], []
    recoveries = [r["recovery"] for r in results if r.get("recovery") is not None]
    for r in results:
        for kind, n in r.get("counts", {}).items():
            counts[kind] = counts.get(kind, 0) + n
        for f in r.get("findings", []):
            item = {"seed": r["seed"], **f, "schedule": r.get("schedule", [])}
            (in_window if f.get("in_window") else violations).append(item)
    return {
        "episodes": len(results),
        "faults": dict(sorted(counts.items())),
        "violations": violations,
        "window_violations": in_window,
        "failed_seeds": sorted({v["seed"] for v in violations}),
        "recovery": {"median": round(statistics.median(recoveries), 2) if recoveries else None,
                     "max": round(max(recoveries), 2) if recoveries else None,
                     "count": len(recoveries)},
    }


def render(summary: dict[str, Any], fencing: bool = True) -> str:
    """The summary as text."""
    rec = summary["recovery"]
    lines = [f"episodes: {summary['episodes']}",
             "faults: " + ", ".join(f"{k} {n}" for k, n in summary["faults"].items()),
             (f"recovery after the last fault healed: median {rec['median']} s, "
              f"max {rec['max']} s ({rec['count']} episodes)"),
             f"violations: {len(summary['violations'])}"
             + ("" if fencing else " outside the paused-node window, "
                f"{len(summary['window_violations'])} inside it")]
    for title, items in (("violation", summary["violations"]),
                         ("inside the window", summary["window_violations"])):
        for v in items:
            at = f" at t={v['at']}" if v.get("at") is not None else ""
            lines.append(f"  {title}: seed {v['seed']}: {v['check']}{at}: {v['detail']}")
            lines += [f"      {s}" for s in v["schedule"]]
    return "\n".join(lines)


def run_campaign(seeds: Iterable[int], options: EpisodeOptions, fencing: bool = True,
                 progress: Path | None = None, resume: bool = False,
                 on_result: Callable[[dict[str, Any]], None] | None = None,
                 node_loss_timeout: float = 2.0) -> list[dict[str, Any]]:
    """Run the episodes of ``seeds`` on one cluster (rebuilt when a reset fails); results in
    seed order, earlier ones taken from ``progress`` when ``resume``."""
    from hacore.testing import Cluster
    from hacore.testing.campaign_bed import CampaignBed

    done = load_progress(progress) if resume else {}
    if progress is not None and not resume and progress.exists():
        progress.unlink()
    results = [done[s] for s in seeds if s in done]
    todo = [s for s in seeds if s not in done]
    while todo:
        with Cluster(nodes=5) as c:
            bed = CampaignBed(c, node_loss_timeout=node_loss_timeout, fencing=fencing).start()
            try:
                while todo:
                    seed = todo.pop(0)
                    result = run_episode(bed, seed, options)
                    results.append(result)
                    append_progress(progress, result)
                    if on_result:
                        on_result(result)
                    if not result.get("ready", True):
                        break  # a cluster that would not reset: build a new one
            finally:
                bed.close()
        bed.detach_disk()
    return sorted(results, key=lambda r: r["seed"])


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; exit 0 without violations, 1 with, 2 on bad input."""
    p = argparse.ArgumentParser(prog="python -m hacore.testing.campaign",
                                description=__doc__.split("\n\n")[0],
                                epilog="Example: python -m hacore.testing.campaign --episodes 4 "
                                       "--length 20")
    p.add_argument("--episodes", type=int, default=10, help="episodes (per part)")
    p.add_argument("--seed-base", type=int, default=DEFAULT_BASE, help="first seed")
    p.add_argument("--seed", type=int, action="append", help="run exactly this seed (repeatable)")
    p.add_argument("--part", help="K/M: the K-th of M blocks of --episodes seeds")
    p.add_argument("--length", type=float, default=30.0, help="seconds of faults per episode")
    p.add_argument("--recovery-bound", type=float, default=180.0,
                   help="seconds after the last fault healed for every service to run")
    p.add_argument("--kinds", help=f"comma-separated fault kinds (default all: {','.join(ALL_KINDS)})")
    p.add_argument("--no-fence", action="store_true", help="no fence device configured")
    p.add_argument("--node-loss-timeout", type=float, default=2.0)
    p.add_argument("--max-pause", type=float,
                   help="longest pause/freeze in s (default 10, with --no-fence 100: past the "
                        "self-stop deadline)")
    p.add_argument("--progress", type=Path, help="JSON-lines file of finished episodes")
    p.add_argument("--resume", action="store_true", help="skip the seeds in --progress")
    p.add_argument("--limit", type=int, help="run at most this many new episodes, then stop "
                                             "(continue later with --resume)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--log-dir", help="keep the daemon logs of episodes with findings here")
    p.add_argument("--keep-all-logs", action="store_true", help="keep every episode's logs")
    a = p.parse_args(argv)
    try:
        seeds = a.seed or seeds_of(a.episodes, a.seed_base, a.part)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kinds = tuple(a.kinds.split(",")) if a.kinds else None
    bad = [k for k in kinds or () if k not in ALL_KINDS]
    if bad or (a.resume and a.progress is None):
        print(f"error: unknown fault kinds {bad} (valid: {', '.join(ALL_KINDS)})" if bad
              else "error: --resume needs --progress FILE", file=sys.stderr)
        return 2
    from hacore.testing import missing_prerequisites

    why = missing_prerequisites()
    if why:
        print(f"error: cannot build a testbed: {why}", file=sys.stderr)
        return 1
    options = EpisodeOptions(length=a.length, recovery_bound=a.recovery_bound, kinds=kinds,
                             log_dir=a.log_dir, keep_all_logs=a.keep_all_logs,
                             max_pause=a.max_pause or (100.0 if a.no_fence else 10.0))

    def tell(r: dict[str, Any]) -> None:
        n = len(r.get("findings", []))
        print(f"{time.strftime('%H:%M:%S')} seed {r['seed']}: {len(r['schedule'])} faults, "
              f"recovery {r.get('recovery')} s, {n} finding(s)", file=sys.stderr, flush=True)

    if a.limit is not None:
        done = load_progress(a.progress) if a.resume else {}
        todo = [s for s in seeds if s not in done][:a.limit]
        seeds = [s for s in seeds if s in done] + todo
    results = run_campaign(seeds, options, fencing=not a.no_fence, progress=a.progress,
                           resume=a.resume, on_result=tell, node_loss_timeout=a.node_loss_timeout)
    summary = summarize(results)
    print(json.dumps(summary, indent=2) if a.json else render(summary, not a.no_fence))
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
