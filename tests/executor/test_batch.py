"""Native monitors that reach the helper together run in one forked child (a batch), and
each still gets what a monitor forked alone gets: its own result, output, timeout and
clean environment, never overlapping another operation of its resource."""

import asyncio
import os
import time

import psutil
import pytest
from test_worker import processes_with, seen, unique_tag

from hacore.agent import OCF
from hacore.executor import OperationRequest
from hacore.executor.forkserver import ForkServer

HERE = os.path.dirname(__file__)


@pytest.fixture
def helper(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = ForkServer(plugins=["sample_agents", "worker_agents", "batch_agents"]).start()
    yield server
    server.stop()


def monitor(instance, mode="ok", tag="-", timeout=20.0, interval=10.0, action="monitor"):
    return OperationRequest("test-batch-probe", action, instance, {"mode": mode, "tag": tag},
                            timeout=timeout, interval=interval)


def together(helper, requests):
    """Send the requests in one loop iteration (one message: a batch) and wait for all."""
    async def go():
        return await asyncio.gather(*(helper.run_async(r) for r in requests))
    return asyncio.run(go())


def test_monitors_sent_together_share_one_child_with_their_own_results(helper):
    """Ten monitors sent together run in one child (spawn "batch"), each with its own
    result and its own output."""
    results = together(helper, [monitor(f"b{i}", tag=f"tag{i}") for i in range(10)])
    assert [r.code for r in results] == [OCF.SUCCESS] * 10
    assert {r.spawn for r in results} == {"batch"}
    assert len({seen(r)["pid"] for r in results}) == 1
    for i, result in enumerate(results):
        assert result.stdout == f"out tag{i}\n"


def test_a_failure_among_many_is_reported_for_that_resource_only(helper):
    """One monitor of a batch that dies (os._exit) fails, naming why; the others, before
    and after it, succeed."""
    modes = ["ok"] * 4 + ["die"] + ["ok"] * 4
    results = together(helper, [monitor(f"f{i}", mode) for i, mode in enumerate(modes)])
    codes = [r.code for r in results]
    assert codes[4] is OCF.ERR_GENERIC and "ended without a result" in results[4].reason
    assert codes[:4] + codes[5:] == [OCF.SUCCESS] * 8


def test_a_hung_monitor_times_out_alone_and_the_others_still_run(helper):
    """A monitor hanging in a batch is killed at its own timeout with what it started; the
    monitors after it are handed to a new child and answered long before that timeout."""
    tag = unique_tag()
    requests = [monitor("h0"), monitor("h1", "hang", tag, timeout=3.0), monitor("h2"),
                monitor("h3")]
    answered: dict[str, float] = {}

    async def go():
        start = time.monotonic()

        async def one(request):
            result = await helper.run_async(request)
            answered[request.instance] = time.monotonic() - start
            return result
        return await asyncio.gather(*(one(r) for r in requests))
    results = asyncio.run(go())
    assert results[1].timed_out and results[1].code is OCF.ERR_GENERIC
    assert any("sleep" in k for k in results[1].killed)
    assert [results[i].code for i in (0, 2, 3)] == [OCF.SUCCESS] * 3
    assert answered["h2"] < answered["h1"] and answered["h3"] < answered["h1"]
    assert answered["h1"] >= 3.0
    deadline = time.monotonic() + 30
    while processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_with(tag)


def test_environment_is_put_back_between_monitors_of_a_batch(helper):
    """A monitor that changes environment, directory and umask leaves none of it to the
    next monitor in the same child."""
    results = together(helper, [monitor("e0", "dirty"), monitor("e1")])
    assert results[0].spawn == results[1].spawn == "batch"
    assert seen(results[0])["pid"] == seen(results[1])["pid"]
    after = seen(results[1])
    assert after["leak"] == "None" and after["cwd"] == seen(results[0])["cwd"]
    assert after["umask"] == seen(results[0])["umask"]


def test_a_leaked_thread_ends_the_child_and_the_rest_run_elsewhere(helper):
    """A monitor leaving a thread behind: the child stops there, the monitors it had not
    started run in a fresh child, all succeed."""
    results = together(helper, [monitor("t0", "thread"), monitor("t1"), monitor("t2")])
    assert [r.code for r in results] == [OCF.SUCCESS] * 3
    assert seen(results[0])["pid"] != seen(results[1])["pid"]


def test_two_operations_of_one_resource_never_overlap(helper, tmp_path):
    """Two monitors and a start of one resource sent together run one after another:
    the second waits for the first's answer (the helper queues it), none is lost."""
    tag = unique_tag()
    requests = [monitor("same", "ok", tag), monitor("same", "ok", tag),
                monitor("same", action="start"), monitor("other")]
    results = together(helper, requests)
    assert [r.code for r in results] == [OCF.SUCCESS] * 4
    first, second = seen(results[0]), seen(results[1])
    assert first["pid"] != second["pid"]  # not in the same child: one after another


def test_leftover_processes_move_to_their_resource_group(helper):
    """A process a batched monitor leaves running moves to that resource's cgroup."""
    tag = unique_tag()
    results = together(helper, [monitor("l0", "leave", tag), monitor("l1")])
    assert [r.code for r in results] == [OCF.SUCCESS] * 2
    try:
        procs = processes_with(tag)
        assert procs
        if results[0].isolation == "cgroup":
            with open(f"/proc/{procs[0].pid}/cgroup") as lines:
                cgroup = lines.read()
            assert cgroup.rstrip().endswith("/hacore/l0")
    finally:
        for proc in processes_with(tag):
            try:
                proc.kill()
            except psutil.Error:
                pass


def test_batches_switched_off_fork_each_monitor(monkeypatch):
    """HACORE_EXECUTOR_BATCHES=0: every monitor forked alone, as before batches."""
    monkeypatch.setenv("PYTHONPATH", HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("HACORE_EXECUTOR_BATCHES", "0")
    with ForkServer(plugins=["sample_agents", "worker_agents", "batch_agents"]) as server:
        results = together(server, [monitor(f"o{i}") for i in range(3)])
    assert [r.code for r in results] == [OCF.SUCCESS] * 3
    assert "batch" not in {r.spawn for r in results}
    assert len({seen(r)["pid"] for r in results}) == 3
