"""Median end-to-end cost of one monitor operation, with and without cgroups.

  (a)  a native agent through the executor's warm helper (forkserver), its monitors in a
       worker (the agent sets monitor_in_worker = True)
  (a') the same agent without monitor_in_worker: a child forked per monitor
  (b)  ClusterLabs ocf:heartbeat:Dummy through the OCF wrapper (same helper)
  (c)  a bare fork/exec of the same Dummy script with the same environment (subprocess)

Goals (issue 2): (a) <= 1 ms; (b) - (c) <= 0.5 ms. Each line says how the executor made
its child (worker, fork, launcher = the compiled launcher, posix_spawn).
Run: python bench/executor_monitor.py [--runs 200] [--cgroups both|on|off]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from native_sample import StateFile

from hacore.agent import hookimpl


class WorkerStateFile(StateFile):
    """The benchmark's native agent, its monitors in a worker."""

    name = "bench-statefile-worker"
    monitor_in_worker = True


@hookimpl
def hacore_register_agents(register):
    register(WorkerStateFile)


def timed(fn, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--cgroups", choices=("both", "on", "off"), default="both")
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = here + os.pathsep + os.environ.get("PYTHONPATH", "")
    settings = {"both": ("1", "0"), "on": ("1",), "off": ("0",)}[args.cgroups]
    for setting in settings:
        os.environ["HACORE_EXECUTOR_CGROUPS"] = setting  # read by the helper it starts
        with tempfile.TemporaryDirectory(prefix="hacore-bench-") as tmp:
            measure(tmp, args.runs)


def measure(tmp: str, runs: int) -> None:
    from hacore.agent.base import OperationContext
    from hacore.agent.catalog import resolve
    from hacore.executor import OperationRequest
    from hacore.executor.forkserver import ForkServer

    dummy_state = os.path.join(tmp, "dummy.state")
    dummy = resolve("ocf:heartbeat:Dummy")
    env = dummy.environment({"state": dummy_state}, "bench-dummy",
                            OperationContext("monitor", 20.0, 10.0))
    cases = {
        "a": OperationRequest("bench-statefile-worker", "monitor", "bench-native-worker",
                              {"state": os.path.join(tmp, "worker.state")}, timeout=20, interval=10),
        "a2": OperationRequest("bench-statefile", "monitor", "bench-native",
                               {"state": os.path.join(tmp, "native.state")}, timeout=20, interval=10),
        "b": OperationRequest("ocf:heartbeat:Dummy", "monitor", "bench-dummy", {"state": dummy_state},
                              timeout=20, interval=10),
    }
    spawn: dict[str, str] = {}
    isolation = ""
    with ForkServer(plugins=["native_sample", "executor_monitor"]) as server:
        for req in cases.values():
            start = OperationRequest(req.agent, "start", req.instance, req.params, timeout=20)
            assert server.run(start).success, f"start of {req.agent} failed"

        def run(key: str):
            result = server.run(cases[key])
            assert result.success, f"{key}: {result}"
            spawn[key] = result.spawn
            return result

        isolation = run("b").isolation
        rounds: dict[str, list[float]] = {"a": [], "a2": [], "b": [], "c": []}

        def bare() -> None:
            subprocess.run([dummy.path, "monitor"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, check=False)

        steps = [("a", lambda: run("a")), ("a2", lambda: run("a2")), ("b", lambda: run("b")),
                 ("c", bare)]
        for key, step in steps:  # one warm-up each
            step()
        # round-robin, one of each in turn, so that the machine's load hits every case alike
        for _ in range(runs):
            for key, step in steps:
                rounds[key] += timed(step, 1)
        for req in cases.values():
            server.run(OperationRequest(req.agent, "stop", req.instance, req.params, timeout=20))
    med = {k: statistics.median(v) * 1000 for k, v in rounds.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] * 1000 for k, v in rounds.items()}
    what = "cgroup + process group" if isolation == "cgroup" else "process group only"
    print(f"HACORE_EXECUTOR_CGROUPS={os.environ['HACORE_EXECUTOR_CGROUPS']}: isolation {what}; "
          f"runs per case: {len(rounds['a'])}")
    print(f"  (a)  native monitor via executor    median {med['a']:.3f} ms  p90 {p90['a']:.3f} ms"
          f"  [{spawn['a']}]   goal <= 1 ms")
    print(f"  (a') same, agent not opted in      median {med['a2']:.3f} ms  "
          f"p90 {p90['a2']:.3f} ms  [{spawn['a2']}]")
    print(f"  (b)  OCF Dummy monitor via wrapper median {med['b']:.3f} ms  p90 {p90['b']:.3f} ms"
          f"  [{spawn['b']}]")
    print(f"  (c)  bare fork/exec of Dummy       median {med['c']:.3f} ms  p90 {p90['c']:.3f} ms"
          f"  [subprocess]")
    print(f"  (b) - (c) = {med['b'] - med['c']:.3f} ms   goal <= 0.5 ms", flush=True)


if __name__ == "__main__":
    main()
