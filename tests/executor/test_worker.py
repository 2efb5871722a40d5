"""Native monitors of agents that opt in run in a per-resource worker that keeps the
executor's promises: own process group and cgroup, killed whole at a timeout, never
overlapping, nothing an agent could see carried over except its own module state."""

import os
import threading
import time
import uuid

import psutil
import pytest

from hacore.agent import OCF
from hacore.executor import OperationRequest, cgroup_tree
from hacore.executor.forkserver import ForkServer

HERE = os.path.dirname(__file__)


def start_helper(monkeypatch, **env):
    monkeypatch.setenv("PYTHONPATH", HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return ForkServer(plugins=["sample_agents", "worker_agents"]).start()


@pytest.fixture
def helper(monkeypatch):
    server = start_helper(monkeypatch)
    yield server
    server.stop()


def probe(helper, instance, mode="ok", tag="-", timeout=20.0):
    return helper.run(OperationRequest("test-worker-probe", "monitor", instance,
                                       {"mode": mode, "tag": tag}, timeout=timeout, interval=10))


def seen(result):
    """The monitor's report (pid=... leak=... cwd=...) as a dict."""
    return dict(item.split("=", 1) for item in result.reason.split())


def unique_tag():
    return f"{5000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 997}"


def processes_with(tag):
    return [p for p in psutil.process_iter(["cmdline"]) if tag in " ".join(p.info["cmdline"] or [])]


def test_probes_are_forked_and_start_no_worker(helper):
    """A probe (a monitor with interval 0) of an opted-in agent runs in a fresh fork, and
    leaves no worker behind: only recurring monitors get one."""
    request = OperationRequest("test-worker-probe", "monitor", "w-probe",
                               {"mode": "ok", "tag": "-"}, timeout=20.0, interval=0)
    first, second = helper.run(request), helper.run(request)
    assert first.code is OCF.SUCCESS and second.code is OCF.SUCCESS
    assert first.spawn != "worker" and second.spawn != "worker"
    assert seen(first)["pid"] != seen(second)["pid"]
    assert probe(helper, "w-probe").spawn == "worker"  # the recurring monitor still does


def test_monitors_reuse_one_worker_in_its_own_group(helper):
    """Successive monitors of a resource run in one worker: a child of the helper, leader of
    its own process group, in an op cgroup under the resource; output is per operation."""
    results = [probe(helper, "w-reuse", tag=f"call{n}") for n in range(3)]
    assert all(r.code is OCF.SUCCESS and r.spawn == "worker" for r in results)
    reports = [seen(r) for r in results]
    assert len({r["pid"] for r in reports}) == 1
    pid = int(reports[0]["pid"])
    assert reports[0]["pgid"] == str(pid) and psutil.Process(pid).ppid() == helper.pid
    assert [r.stdout for r in results] == ["out call0\n", "out call1\n", "out call2\n"]
    if cgroup_tree().available:
        assert results[0].isolation == "cgroup" and "/hacore/w-reuse/op-" in reports[0]["cgroup"]
    other = seen(probe(helper, "w-reuse-other"))
    assert other["pid"] != str(pid), "two resources shared a worker"


def test_environment_cwd_and_umask_are_restored(helper):
    """What a monitor changes in its environment, directory or umask is gone at the next."""
    first = seen(probe(helper, "w-dirty", mode="dirty"))
    second = seen(probe(helper, "w-dirty"))
    assert second["pid"] == first["pid"], "the worker should have been kept"
    assert (second["leak"], second["cwd"], second["umask"]) == ("None", first["cwd"], first["umask"])


@pytest.mark.parametrize("mode", ["thread", "fd"])
def test_leaked_thread_or_descriptor_retires_the_worker(helper, mode):
    """A monitor that leaves a thread running or a descriptor open gets its worker replaced."""
    first = probe(helper, f"w-{mode}", mode=mode)
    assert first.code is OCF.SUCCESS
    old = int(seen(first)["pid"])
    second = seen(probe(helper, f"w-{mode}"))
    assert int(second["pid"]) != old
    assert not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE


def test_hung_monitor_is_killed_with_its_escaped_child(helper):
    """A monitor hanging in a worker is killed at its timeout with a setsid'd child; the next
    monitor gets a new worker."""
    tag = unique_tag()
    before = seen(probe(helper, "w-hang"))
    started = time.monotonic()
    hung = probe(helper, "w-hang", mode="hang", tag=tag, timeout=1.0)
    assert hung.timed_out and hung.code is OCF.ERR_GENERIC and hung.spawn == "worker"
    assert time.monotonic() - started < 30
    assert any(before["pid"] in line for line in hung.killed)
    deadline = time.monotonic() + 10
    while processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = processes_with(tag)
    for proc in survivors:
        proc.kill()
    if hung.isolation == "cgroup":
        assert not survivors, "the setsid'd child escaped the kill"
    after = seen(probe(helper, "w-hang"))
    assert after["pid"] != before["pid"] and not psutil.pid_exists(int(before["pid"]))


def test_worker_that_dies_is_a_failed_monitor_and_is_replaced(helper):
    """A monitor that ends its process is ERR_GENERIC; the next monitor runs in a new worker."""
    before = seen(probe(helper, "w-die"))
    died = probe(helper, "w-die", mode="die")
    assert died.code is OCF.ERR_GENERIC and "ended without a result" in died.reason
    assert seen(probe(helper, "w-die"))["pid"] != before["pid"]


def test_processes_a_monitor_leaves_move_to_the_resource_group(helper):
    """A process a monitor leaves running ends up in the resource's group, not the worker's."""
    tree = cgroup_tree()
    if not tree.available:
        pytest.skip("cgroup v2 is not writable here")
    tag = unique_tag()
    result = probe(helper, "w-leave", mode="leave", tag=tag)
    try:
        assert result.code is OCF.SUCCESS
        left = processes_with(tag)
        assert left and {p.pid for p in left} <= set(tree.resource_pids("w-leave"))
    finally:
        for proc in processes_with(tag):
            proc.kill()
        psutil.wait_procs(processes_with(tag), timeout=10)


def test_other_actions_retire_the_worker_and_are_forked(helper, tmp_path):
    """start, stop and the rest run in a fresh child; the resource's worker is ended first."""
    first = seen(probe(helper, "w-actions"))
    start = helper.run(OperationRequest("test-worker-probe", "start", "w-actions", {}, timeout=20))
    assert start.code is OCF.SUCCESS and start.spawn == "fork"
    assert not psutil.pid_exists(int(first["pid"]))
    assert seen(probe(helper, "w-actions"))["pid"] != first["pid"]


def test_agents_that_do_not_opt_in_are_forked(helper, tmp_path):
    """A native agent without monitor_in_worker gets a fresh child for every monitor."""
    result = helper.run(OperationRequest("test-marker", "monitor", "w-plain",
                                         {"path": str(tmp_path / "x")}, interval=10))
    assert result.code is OCF.NOT_RUNNING and result.spawn == "fork"


def test_workers_can_be_switched_off(monkeypatch):
    """HACORE_EXECUTOR_WORKERS=0 forks every monitor, opted in or not."""
    server = start_helper(monkeypatch, HACORE_EXECUTOR_WORKERS="0")
    try:
        results = [probe(server, "w-off") for _ in range(2)]
    finally:
        server.stop()
    assert [r.spawn for r in results] == ["fork", "fork"]
    assert seen(results[0])["pid"] != seen(results[1])["pid"]


def test_operations_of_one_resource_never_overlap_with_workers(helper, tmp_path):
    """Monitors in a worker and forked start/stop of one resource run one after another."""
    log = tmp_path / "calls.log"
    results = []

    def call(action):
        params = {"path": str(tmp_path / "state"), "log": str(log), "hold": "200"}
        results.append(helper.run(OperationRequest(
            "test-worker-marker", action, "w-order", params,
            interval=10 if action == "monitor" else 0)))

    threads = [threading.Thread(target=call, args=(action,))
               for action in ("monitor", "start", "monitor", "monitor", "stop")]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 5 and {r.spawn for r in results} == {"worker", "fork"}
    kinds = [line.split()[2] for line in log.read_text().splitlines()]
    assert kinds == ["begin", "end"] * 5, "operations of one resource overlapped"


def test_stopping_the_helper_ends_its_workers(monkeypatch):
    """No worker outlives the helper."""
    server = start_helper(monkeypatch)
    pid = int(seen(probe(server, "w-end"))["pid"])
    server.stop()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(pid)
