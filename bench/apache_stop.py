"""How long Debian's apache2 takes to stop: graceful-stop (SIGWINCH) against SIGTERM.

Two measurements, both with apache2 on 127.0.0.1 and a free high port (nothing else on the
host is touched; no namespace is needed):

- ``signal``: the apache agent starts the server, the bench sends one signal to the main
  process and times until every process of the instance is gone (polled every 2 ms). This is
  apache's own behaviour, whatever the agent does around it.
- ``agent``: the time of the agent's whole stop operation through hacore's executor, with
  ``graceful_stop=false`` (the default: SIGTERM) and ``graceful_stop=true`` (SIGWINCH first).

Figures are the median, minimum and maximum over --rounds runs, in ms. The machine is shared
with other work, so single runs are noisy; the medians are what to compare.

Run (root): python bench/apache_stop.py [--rounds 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from hacore_agent_apache.agent import still_running

from hacore.executor import OperationRequest, run_operation

POLL = 0.002
GONE_WITHIN = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def op(action: str, instance: str, params: dict[str, str]) -> float:
    """Run one agent operation; its duration in seconds (exits on failure)."""
    result = run_operation(OperationRequest("apache", action, instance, params=params, timeout=60.0))
    if not result.success:
        raise SystemExit(f"apache {action} failed: {result.code.label}: {result.reason}")
    return result.duration


def family_of(run_dir: Path) -> list[psutil.Process]:
    pid = int((run_dir / "httpd.pid").read_text().strip())
    main = psutil.Process(pid)
    return [main] + main.children(recursive=True)


def time_signal(instance: str, params: dict[str, str], run_dir: Path, signum: int) -> float:
    """Start, send ``signum`` to the main process, seconds until no process of it is left."""
    op("start", instance, params)
    procs = family_of(run_dir)
    began = time.monotonic()
    procs[0].send_signal(signum)
    deadline = began + GONE_WITHIN
    while still_running(procs):
        if time.monotonic() > deadline:
            for proc in still_running(procs):
                proc.kill()
            raise SystemExit(f"apache survived {signal.Signals(signum).name} for {GONE_WITHIN} s")
        time.sleep(POLL)
    elapsed = time.monotonic() - began
    op("stop", instance, params)  # removes the pid file
    return elapsed


def time_agent_stop(instance: str, params: dict[str, str]) -> float:
    op("start", instance, params)
    return op("stop", instance, params)


def summary(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
        "runs": len(ms),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/apache2"):
        print("needs root and Debian's apache2", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="hacore-bench-apache-"))
    base.chmod(0o755)
    docs = base / "docs"
    docs.mkdir()
    (docs / "index.html").write_text("bench\n")
    instance = f"bench-stop-{os.getpid()}"
    run_dir = base / "run"
    params = {
        "listen": f"127.0.0.1:{free_port()}",
        "document_root": str(docs),
        "run_dir": str(run_dir),
    }
    figures: dict[str, dict[str, float]] = {}
    try:
        for name, signum in (("signal SIGWINCH", signal.SIGWINCH), ("signal SIGTERM", signal.SIGTERM)):
            runs = [time_signal(instance, params, run_dir, signum) for _ in range(args.rounds)]
            figures[name] = summary(runs)
        for flag in ("false", "true"):
            with_flag = {**params, "graceful_stop": flag}
            runs = [time_agent_stop(instance, with_flag) for _ in range(args.rounds)]
            figures[f"agent stop graceful_stop={flag}"] = summary(runs)
    finally:
        try:
            for proc in still_running(family_of(run_dir)):
                proc.kill()
        except (OSError, ValueError, psutil.Error):
            pass
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, fig in figures.items():
            print(
                f"{name:34s} median {fig['median_ms']:7.1f} ms  "
                f"min {fig['min_ms']:7.1f}  max {fig['max_ms']:7.1f}  ({fig['runs']} runs)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
