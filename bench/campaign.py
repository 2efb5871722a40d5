"""A long fault campaign in parts: 4 x 50 episodes of 30 s of faults on a 5-node testbed.

Run as root, one part per command so the namespace lock is shared in turns:

    flock /work/netns.lock python bench/campaign.py --part 1/4
    flock /work/netns.lock python bench/campaign.py --part 2/4   # ... 3/4, 4/4
    python bench/campaign.py --report                             # all parts' summary

Each part records its episodes in bench/results/campaign-<mode>.jsonl and resumes from it
(a killed part loses only its current episode; run the same command again). ``--limit 10``
runs only 10 more episodes of the part, to hold the namespace lock for minutes at a time. ``--no-fence``
runs the shorter no-fence-device campaign into its own file; its summary separates the
double holds inside the paused-node window (DESIGN.md, S3) from everything else.
Extra arguments go to ``python -m hacore.testing.campaign`` (e.g. ``--episodes 10``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hacore.testing.campaign import load_progress, main, render, summarize

RESULTS = Path(__file__).parent / "results"


def run() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", default="1/4", help="K/M (default 1/4)")
    p.add_argument("--no-fence", action="store_true", help="the no-fence-device campaign")
    p.add_argument("--report", action="store_true", help="summarize the recorded episodes")
    args, rest = p.parse_known_args()
    mode = "nofence" if args.no_fence else "fence"
    progress = RESULTS / f"campaign-{mode}.jsonl"
    if args.report:
        results = sorted(load_progress(progress).values(), key=lambda r: r["seed"])
        print(render(summarize(results), fencing=not args.no_fence))
        return 0
    RESULTS.mkdir(exist_ok=True)
    episodes = "20" if args.no_fence else "50"
    argv = ["--episodes", episodes, "--part", args.part, "--progress", str(progress),
            "--resume", "--log-dir", str(RESULTS / f"campaign-{mode}-logs")]
    if args.no_fence:
        argv += ["--no-fence", "--seed-base", "5000"]
    if not progress.exists():
        progress.touch()
    return main(argv + rest)


if __name__ == "__main__":
    sys.exit(run())
