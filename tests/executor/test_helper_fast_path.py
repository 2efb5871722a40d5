"""The warm helper's fast path keeps the isolation rules: a reused op cgroup is always empty
when an operation starts in it, and a thread waiting on its own channel is never stranded."""

import os
import signal
import threading
import time
import uuid

import psutil
import pytest

from hacore.agent import OCF
from hacore.executor import OperationRequest, cgroup_tree
from hacore.executor.forkserver import ForkServer


@pytest.fixture
def helper():
    server = ForkServer().start()
    yield server
    server.stop()


def agent_script(tmp_path, tag):
    """start leaves a daemon (sleep TAG) running; monitor/stop print the op's cgroup."""
    path = tmp_path / "agent.sh"
    path.write_text(f"""#!/bin/sh
grep '^0::' /proc/self/cgroup
case "$1" in
  start) setsid sleep {tag} >/dev/null 2>&1 & ;;
  stop) pkill -f "sleep {tag}" ; exit 0 ;;
  monitor) exit 0 ;;
esac
exit 0
""")
    path.chmod(0o755)
    return str(path)


def test_reused_group_holds_nothing_of_the_last_operation(helper, tmp_path):
    """A start's daemon moves up to the resource's group; the next operations run in the
    same (reused, empty) op group; a stop removes the op group and, empty, the resource's."""
    tree = cgroup_tree()
    if not tree.available:
        pytest.skip("cgroup v2 is not writable here")
    tag = f"{6000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 997}"
    agent = agent_script(tmp_path, tag)
    run = lambda action: helper.run(OperationRequest(agent, action, "fast-reuse", timeout=20))
    try:
        start = run("start")
        assert start.code is OCF.SUCCESS, start
        deadline = time.monotonic() + 10  # the background job may not have exec'd sleep yet
        while not (daemons := [p.pid for p in psutil.process_iter(["cmdline"])
                               if tag in " ".join(p.info["cmdline"] or [])]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert daemons and set(daemons) <= set(tree.resource_pids("fast-reuse"))
        first, second = run("monitor"), run("monitor")
        assert first.stdout == second.stdout == start.stdout, "the op group was not reused"
        group = tree.base.parent / start.stdout.strip()[4:].lstrip("/")
        assert group.is_dir() and not (group / "cgroup.procs").read_text().strip()
        stop = run("stop")
        assert stop.code is OCF.SUCCESS and stop.leftover == ()
        assert not group.exists() and not (tree.base / "fast-reuse").exists()
    finally:
        left = [p for p in psutil.process_iter(["cmdline"]) if tag in " ".join(p.info["cmdline"] or [])]
        for proc in left:
            proc.kill()
        psutil.wait_procs(left, timeout=10)
        cgroup_tree().remove_stale_groups()  # the dead helper's op group


def test_timed_out_group_is_not_reused(helper, tmp_path):
    """After a timeout the op group is removed, not kept for the next operation."""
    if not cgroup_tree().available:
        pytest.skip("cgroup v2 is not writable here")
    path = tmp_path / "hang.sh"
    path.write_text("#!/bin/sh\ngrep '^0::' /proc/self/cgroup\n[ \"$1\" = monitor ] && exec sleep 300\nexit 0\n")
    path.chmod(0o755)
    hung = helper.run(OperationRequest(str(path), "monitor", "fast-timeout", timeout=1))
    assert hung.timed_out
    after = helper.run(OperationRequest(str(path), "start", "fast-timeout", timeout=20))
    assert after.code is OCF.SUCCESS and after.stdout != hung.stdout


def test_threads_each_get_their_own_answers(helper, tmp_path):
    """Threads calling run() at once each get the result of their own request."""
    results = {}

    def call(n):
        path = tmp_path / f"a{n}.sh"
        path.write_text(f"#!/bin/sh\necho {n}\nexit {n % 2 * 7}\n")
        path.chmod(0o755)
        results[n] = [helper.run(OperationRequest(str(path), "monitor", f"fast-t{n}", timeout=20))
                      for _ in range(3)]

    threads = [threading.Thread(target=call, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == list(range(6))
    for n, runs in results.items():
        assert [(r.stdout, r.code) for r in runs] == [(f"{n}\n", OCF.NOT_RUNNING if n % 2 else OCF.SUCCESS)] * 3


def test_waiting_thread_learns_that_the_helper_died(tmp_path):
    """If the helper dies during an operation, run() returns a failure instead of hanging."""
    tag = f"{7000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 997}"
    path = tmp_path / "slow.sh"
    path.write_text(f"#!/bin/sh\nexec sleep {tag}\n")
    path.chmod(0o755)
    server = ForkServer().start()
    try:
        box = []
        thread = threading.Thread(target=lambda: box.append(
            server.run(OperationRequest(str(path), "monitor", "fast-dies", timeout=60))))
        thread.start()
        time.sleep(0.5)
        os.kill(server.pid, signal.SIGKILL)
        thread.join(timeout=20)
        assert box and box[0].code is OCF.ERR_GENERIC and "helper process ended" in box[0].reason
    finally:
        server.stop()
        left = [p for p in psutil.process_iter(["cmdline"]) if tag in " ".join(p.info["cmdline"] or [])]
        for proc in left:
            proc.kill()
        psutil.wait_procs(left, timeout=10)
        cgroup_tree().remove_stale_groups()  # the dead helper's op group


def slow_script(tmp_path):
    tag = f"{8000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 997}"
    path = tmp_path / "slow.sh"
    path.write_text(f"#!/bin/sh\nexec sleep {tag}\n")
    path.chmod(0o755)
    return str(path), tag


def kill_tagged(tag):
    left = [p for p in psutil.process_iter(["cmdline"]) if tag in " ".join(p.info["cmdline"] or [])]
    for proc in left:
        proc.kill()
    psutil.wait_procs(left, timeout=10)
    cgroup_tree().remove_stale_groups()


def test_async_results_reach_their_awaiters(helper, tmp_path):
    """Concurrent run_async calls, from two event loops in turn, each get their own result."""
    import asyncio

    def agent(n):
        path = tmp_path / f"as{n}.sh"
        path.write_text(f"#!/bin/sh\necho {n}\nexit 0\n")
        path.chmod(0o755)
        return str(path)

    async def many():
        results = await asyncio.gather(*[helper.run_async(OperationRequest(agent(n), "monitor", f"fast-as{n}",
                                                                           timeout=20)) for n in range(5)])
        return [r.stdout for r in results]

    assert asyncio.run(many()) == [f"{n}\n" for n in range(5)]
    assert asyncio.run(many()) == [f"{n}\n" for n in range(5)]


def test_async_waiter_learns_that_the_helper_died(tmp_path):
    """If the helper dies during run_async, the awaiting coroutine gets a failure."""
    import asyncio

    path, tag = slow_script(tmp_path)
    server = ForkServer().start()

    async def call():
        task = asyncio.create_task(server.run_async(OperationRequest(path, "monitor", "fast-adie", timeout=60)))
        await asyncio.sleep(0.5)
        os.kill(server.pid, signal.SIGKILL)
        return await asyncio.wait_for(task, 20)

    try:
        result = asyncio.run(call())
        assert result.code is OCF.ERR_GENERIC and "helper process ended" in result.reason
    finally:
        server.stop()
        kill_tagged(tag)


def test_stop_from_another_thread_ends_async_waits(tmp_path):
    """stop() called while an event loop in another thread awaits an operation ends the wait."""
    import asyncio

    path, tag = slow_script(tmp_path)
    server = ForkServer().start()
    box = []

    def loop_thread():
        box.append(asyncio.run(server.run_async(OperationRequest(path, "monitor", "fast-astop", timeout=60))))

    thread = threading.Thread(target=loop_thread)
    try:
        thread.start()
        time.sleep(0.5)
        server.stop()
        thread.join(timeout=20)
        assert box and box[0].code is OCF.ERR_GENERIC and "helper process ended" in box[0].reason
    finally:
        server.stop()
        kill_tagged(tag)


def test_a_channel_closed_with_its_answer_unread_does_not_kill_the_helper(helper, tmp_path):
    """A client that closes its channel before reading an answer (the helper's recv then
    fails with ECONNRESET) loses only that channel: the helper serves the others. Found
    by the fault campaign (seed 3102): the helper died with a traceback."""
    import marshal
    import select

    path = tmp_path / "ok.sh"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    channel = helper._new_channel()
    channel.send(marshal.dumps((0, OperationRequest(str(path), "monitor", "fast-rst",
                                                    timeout=20).to_wire())))
    ready, _, _ = select.select([channel], [], [], 30)
    assert ready, "no answer on the channel"
    channel.close()  # the answer is still unread
    time.sleep(0.3)
    result = helper.run(OperationRequest(str(path), "monitor", "fast-after", timeout=20))
    assert result.code == OCF.SUCCESS, result
