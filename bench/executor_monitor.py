"""Median end-to-end cost of one monitor operation.

  (a) a native agent through the executor's warm helper (forkserver)
  (b) ClusterLabs ocf:heartbeat:Dummy through the OCF wrapper (same helper)
  (c) a bare fork/exec of the same Dummy script with the same environment (subprocess)

Goals (issue 2): (a) <= 1 ms; (b) - (c) <= 0.5 ms.
Run: python bench/executor_monitor.py [--runs 300]
     HACORE_EXECUTOR_CGROUPS=0 python bench/executor_monitor.py   (process groups only)
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

from hacore.agent.base import OperationContext
from hacore.agent.catalog import resolve
from hacore.executor import OperationRequest
from hacore.executor.forkserver import ForkServer


def timed(fn, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hacore-bench-") as tmp:
        measure(tmp, args.runs)


def measure(tmp: str, runs: int) -> None:
    native_state = os.path.join(tmp, "native.state")
    dummy_state = os.path.join(tmp, "dummy.state")
    dummy = resolve("ocf:heartbeat:Dummy")
    env = dummy.environment({"state": dummy_state}, "bench-dummy",
                            OperationContext("monitor", 20.0, 10.0))
    os.environ["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__)) + os.pathsep + os.environ.get("PYTHONPATH", "")
    with ForkServer(plugins=["native_sample"]) as server:
        native = OperationRequest("bench-statefile", "monitor", "bench-native", {"state": native_state},
                                  timeout=20, interval=10)
        ocf = OperationRequest("ocf:heartbeat:Dummy", "monitor", "bench-dummy", {"state": dummy_state},
                               timeout=20, interval=10)
        for req in (native, ocf):
            start = OperationRequest(req.agent, "start", req.instance, req.params, timeout=20)
            assert server.run(start).success, f"start of {req.agent} failed"
        rounds = {"a": [], "b": [], "c": []}
        # interleave the three in blocks so machine noise hits all of them alike
        for _ in range(5):
            block = max(1, runs // 5)
            rounds["a"] += timed(lambda: server.run(native), block)
            rounds["b"] += timed(lambda: server.run(ocf), block)
            rounds["c"] += timed(lambda: subprocess.run([dummy.path, "monitor"], env=env,
                                                        stdin=subprocess.DEVNULL, capture_output=True, check=False), block)
        for req in (native, ocf):
            server.run(OperationRequest(req.agent, "stop", req.instance, req.params, timeout=20))
    med = {k: statistics.median(v) * 1000 for k, v in rounds.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] * 1000 for k, v in rounds.items()}
    from hacore.executor import cgroup_tree

    isolation = "cgroup + process group" if cgroup_tree().available else "process group only"
    print(f"runs per case: {len(rounds['a'])}; isolation of the executor's children: {isolation}")
    print(f"(a) native monitor via executor   median {med['a']:.3f} ms  p90 {p90['a']:.3f} ms   goal <= 1 ms")
    print(f"(b) OCF Dummy monitor via wrapper  median {med['b']:.3f} ms  p90 {p90['b']:.3f} ms")
    print(f"(c) bare fork/exec of Dummy        median {med['c']:.3f} ms  p90 {p90['c']:.3f} ms")
    print(f"(b) - (c) = {med['b'] - med['c']:.3f} ms   goal <= 0.5 ms")


if __name__ == "__main__":
    main()
