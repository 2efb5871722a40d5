"""The executor runs every operation in a child it can kill whole, native agents included."""

import os
import sys
import threading
import time
import uuid

import psutil
import pytest

from hacore.agent import OCF
from hacore.agent.registry import NativeAgent
from hacore.agent.scripts import ScriptAgent
from hacore.executor import OperationRequest, cgroup_tree, run_operation
from hacore.executor.forkserver import ForkServer

sys.path.insert(0, os.path.dirname(__file__))
import sample_agents

MARKER = NativeAgent(sample_agents.Marker, "tests")
MISBEHAVING = NativeAgent(sample_agents.Misbehaving, "tests")


def processes_with(tag):
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if tag in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def unique_sleep():
    """A sleep duration no other process on the machine uses, to find our children."""
    return f"{3000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 997}"


def script(tmp_path, body, name="agent.sh", kind="ocf"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return ScriptAgent(str(path), kind, str(path), provider="local", type=name)


def test_native_agent_runs_its_methods(tmp_path):
    """A native agent's start, monitor and stop run with typed parameters."""
    params = {"path": str(tmp_path / "state")}
    codes = [run_operation(OperationRequest("test-marker", action, "m1", params), MARKER).code
             for action in ("monitor", "start", "monitor", "stop", "monitor")]
    assert codes == [OCF.NOT_RUNNING, OCF.SUCCESS, OCF.SUCCESS, OCF.SUCCESS, OCF.NOT_RUNNING]


def test_native_exception_is_a_failed_operation(tmp_path):
    """An exception in an agent becomes ERR_GENERIC with its traceback on stderr."""
    result = run_operation(OperationRequest("test-misbehaving", "start", "x", {"tag": "1"}), MISBEHAVING)
    assert result.code is OCF.ERR_GENERIC
    assert "raised ValueError: the disk is on fire" in result.reason
    assert "Traceback" in result.stderr


def test_agent_failure_carries_its_code():
    """AgentFailure ends the operation with its own code and reason."""
    result = run_operation(OperationRequest("test-misbehaving", "validate", "x", {"tag": "1"}), MISBEHAVING)
    assert (result.code, result.reason) == (OCF.ERR_CONFIGURED, "tag must not be empty")


def test_bad_parameters_are_err_configured():
    """A missing required parameter is refused before the agent runs."""
    result = run_operation(OperationRequest("test-marker", "start", "x", {}), MARKER)
    assert result.code is OCF.ERR_CONFIGURED and "'path' is missing" in result.reason


def test_hung_native_monitor_is_killed_with_escaped_children():
    """A native monitor that hangs is killed at its timeout, with a child that called setsid."""
    tag = unique_sleep()
    started = time.monotonic()
    result = run_operation(OperationRequest("test-misbehaving", "monitor", "hang1", {"tag": tag},
                                            timeout=1.0), MISBEHAVING)
    assert result.timed_out and result.code is OCF.ERR_GENERIC
    assert time.monotonic() - started < 30
    assert "timed out after 1s" in result.reason
    deadline = time.monotonic() + 10
    while processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    if result.isolation == "cgroup":
        assert not processes_with(tag), "an escaped child survived the kill"


def test_stop_that_leaves_a_daemon_reports_it():
    """A stop that leaves a process of the resource behind is reported in `leftover`."""
    tag = unique_sleep()
    result = run_operation(OperationRequest("test-misbehaving", "stop", "leaky", {"tag": tag}), MISBEHAVING)
    try:
        assert result.code is OCF.SUCCESS
        leftover = processes_with(tag)
        assert leftover, "the daemon should still run"
        assert {p.pid for p in leftover} <= set(result.leftover) or result.isolation == "pgid"
    finally:
        for proc in processes_with(tag):
            proc.kill()
        psutil.wait_procs(processes_with(tag), timeout=10)
        cgroup_tree().prune("leaky")


def test_script_gets_ocf_environment_and_no_shell(tmp_path):
    """OCF variables and parameters arrive in the environment, never through a shell."""
    out = tmp_path / "env"
    agent = script(tmp_path, f'env > {out}\necho "ocf-exit-reason:all good" >&2\nexit 0\n')
    hostile = "$(touch " + str(tmp_path / "pwned") + ")"
    result = run_operation(OperationRequest(agent.name, "monitor", "web1", {"ip": "10.0.0.5", "evil": hostile},
                                            timeout=5, interval=10, depth=10), agent)
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert result.code is OCF.SUCCESS and result.reason == "all good"
    assert env["OCF_RESKEY_ip"] == "10.0.0.5" and env["OCF_RESKEY_evil"] == hostile
    assert env["OCF_RESOURCE_INSTANCE"] == "web1" and env["OCF_CHECK_LEVEL"] == "10"
    assert env["OCF_RESKEY_CRM_meta_timeout"] == "5000" and env["OCF_RESKEY_CRM_meta_interval"] == "10000"
    assert env["OCF_RA_VERSION_MAJOR"] == "1" and env["OCF_ROOT"]
    assert not (tmp_path / "pwned").exists()


def test_output_is_capped(tmp_path):
    """A script that prints megabytes does not block and its output is capped."""
    agent = script(tmp_path, "head -c 3000000 /dev/zero | tr '\\0' x\nexit 7\n")
    result = run_operation(OperationRequest(agent.name, "monitor", "big", timeout=20), agent)
    assert result.code is OCF.NOT_RUNNING
    assert 0 < len(result.stdout) <= 64 * 1024


def test_lsb_status_codes_are_mapped(tmp_path):
    """An LSB status of 3 is NOT_RUNNING and 4 is an error."""
    for status, expected in ((0, OCF.SUCCESS), (3, OCF.NOT_RUNNING), (4, OCF.ERR_GENERIC)):
        agent = script(tmp_path, f'[ "$1" = status ] && exit {status}\nexit 0\n', name=f"init{status}", kind="lsb")
        assert run_operation(OperationRequest(agent.name, "monitor", "svc", timeout=5), agent).code is expected


def test_missing_script_is_not_installed(tmp_path):
    """A script that is not there gives ERR_INSTALLED with a reason, not a traceback."""
    agent = ScriptAgent("gone", "ocf", str(tmp_path / "gone"))
    result = run_operation(OperationRequest("gone", "start", "g", timeout=5), agent)
    assert result.code is OCF.ERR_INSTALLED and "cannot execute" in result.reason


@pytest.fixture(scope="module")
def helper(request):
    here = os.path.dirname(__file__)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = here + (os.pathsep + old if old else "")
    server = ForkServer(plugins=["sample_agents"]).start()
    request.addfinalizer(server.stop)
    if old is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = old
    return server


def test_helper_never_overlaps_operations_of_one_resource(helper, tmp_path):
    """Operations on one resource run one after another; other resources run meanwhile."""
    log = tmp_path / "calls.log"
    results = []

    def call(instance, action):
        params = {"path": str(tmp_path / instance), "log": str(log), "hold": "300"}
        results.append(helper.run(OperationRequest("test-marker", action, instance, params)))

    threads = [threading.Thread(target=call, args=(inst, act))
               for inst, act in (("r1", "start"), ("r1", "monitor"), ("r1", "stop"), ("r2", "start"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4 and all(r.code in (OCF.SUCCESS, OCF.NOT_RUNNING) for r in results)
    events = [line.split() for line in log.read_text().splitlines()]
    r1 = [(e[2], float(e[3])) for e in events if e[0] == "r1"]
    assert [kind for kind, _ in r1] == ["begin", "end"] * 3, "r1's calls overlapped"
    r2_begin = next(float(e[3]) for e in events if e[0] == "r2" and e[2] == "begin")
    assert r2_begin < r1[-1][1], "r2 waited for r1 although they are different resources"


def test_helper_kills_a_hung_operation_and_keeps_serving(helper, tmp_path):
    """A hung operation is killed at its timeout; the helper answers the next request."""
    tag = unique_sleep()
    hung = helper.run(OperationRequest("test-misbehaving", "monitor", "hung", {"tag": tag}, timeout=1))
    assert hung.timed_out
    after = helper.run(OperationRequest("test-marker", "monitor", "fresh", {"path": str(tmp_path / "nope")}))
    assert after.code is OCF.NOT_RUNNING
    for proc in processes_with(tag):
        proc.kill()


def test_cgroups_can_be_switched_off(tmp_path):
    """HACORE_EXECUTOR_CGROUPS=0 leaves operations in their process group only."""
    code = ("from hacore.executor import run_operation, OperationRequest;"
            "r = run_operation(OperationRequest('ocf:heartbeat:Dummy', 'monitor', 'cg0',"
            f" {{'state': {str(tmp_path / 's')!r}}}));print(r.isolation, int(r.code))")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, HACORE_EXECUTOR_CGROUPS="0"), check=False)
    assert out.stdout.split() == ["pgid", "7"], out.stderr


def test_groups_of_dead_executors_are_removed(tmp_path):
    """Discovery removes empty op groups whose executor died, and only those."""
    from hacore.executor.cgroups import CgroupTree

    tree = cgroup_tree()
    if not tree.available:
        pytest.skip("cgroup v2 is not writable here")
    stale = tree.base / "stale-test" / "op-999999999-1"
    live = tree.base / "live-test" / f"op-{os.getpid()}-1"
    stale.mkdir(parents=True)
    live.mkdir(parents=True)
    try:
        CgroupTree(tree.base).remove_stale_groups()
        assert not (tree.base / "stale-test").exists()
        assert live.exists()
    finally:
        for path in (stale, stale.parent, live, live.parent):
            if path.exists():
                path.rmdir()
