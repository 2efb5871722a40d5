"""Scripts start the same way through the compiled launcher and through the Python fallback."""

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid

import psutil
import pytest

from hacore.agent import OCF
from hacore.agent.scripts import ScriptAgent
from hacore.executor import OperationRequest, cgroup_tree, launcher, run_operation


@pytest.fixture(scope="module")
def built_launcher(tmp_path_factory):
    """The installed launcher, or one compiled here for the test (skipped without a compiler)."""
    if launcher.LIBRARY.exists():
        return launcher.LIBRARY
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler to build the launcher (install.sh installs gcc)")
    return launcher.build(tmp_path_factory.mktemp("launcher") / "_launcher.so")


@pytest.fixture(scope="module")
def launcher_usable(built_launcher):
    """Skip the launcher cases where the kernel refuses clone3 (a seccomp filter, say)."""
    tree = cgroup_tree()
    group = tree.operation_group("launcher-probe") if tree.available else None
    fd = os.open(group, os.O_RDONLY | os.O_DIRECTORY) if group is not None else -1
    null = os.open(os.devnull, os.O_WRONLY)
    out, err = os.dup(null), os.dup(null)
    try:
        pid, _ = launcher.Launcher(built_launcher).spawn(["/bin/true"], {}, fd, out, err, 5, 4)
        os.waitpid(pid, 0)
    except OSError as exc:
        pytest.skip(f"the launcher cannot start a child here: {exc}")
    finally:
        for each in (fd, null, out, err):
            if each >= 0:
                os.close(each)
        if group is not None:
            tree.end_operation("launcher-probe", group, reusable=False)
    return built_launcher


@pytest.fixture(params=["launcher", "python"])
def spawn_path(request, built_launcher, monkeypatch):
    """Run the test once with the compiled launcher and once with it switched off."""
    if request.param == "launcher":
        request.getfixturevalue("launcher_usable")
    setting = str(built_launcher) if request.param == "launcher" else "0"
    monkeypatch.setenv("HACORE_EXECUTOR_LAUNCHER", setting)
    launcher.reset()
    yield request.param
    launcher.reset()


def expected_spawn(path):
    if path == "launcher":
        return "launcher"
    return "fork" if cgroup_tree().available else "posix_spawn"


def python_agent(tmp_path, body, name="probe.py"):
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return ScriptAgent(str(path), "ocf", str(path), provider="local", type=name)


def test_script_starts_isolated_on_either_path(tmp_path, spawn_path):
    """Own process group, born in its op cgroup, stdin /dev/null, no signal ignored or blocked,
    no descriptor of the executor inherited."""
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent("""\
        import json, os, sys
        print(json.dumps({
            "pid": os.getpid(), "pgid": os.getpgid(0), "stdin": os.readlink("/proc/self/fd/0"),
            "fds": sorted(int(f) for f in os.listdir("/proc/self/fd")),
            "cgroup": [l.strip() for l in open("/proc/self/cgroup") if l.startswith("0::")][0],
            "shell": sys.argv[1:]}))
        """))
    # the shell reports its signals (Python would ignore SIGPIPE itself), then becomes Python
    path = tmp_path / "probe.sh"
    path.write_text("#!/bin/sh\n"
                    "ign=$(sed -n 's/^SigIgn:\\t//p' /proc/$$/status)\n"
                    "blk=$(sed -n 's/^SigBlk:\\t//p' /proc/$$/status)\n"
                    f"exec {sys.executable} {probe} \"$ign\" \"$blk\"\n")
    path.chmod(0o755)
    agent = ScriptAgent(str(path), "ocf", str(path), provider="local", type="probe.sh")
    result = run_operation(OperationRequest(agent.name, "monitor", "iso-1", timeout=20), agent)
    assert result.code is OCF.SUCCESS, result.stderr
    assert result.spawn == expected_spawn(spawn_path)
    seen = json.loads(result.stdout)
    assert seen["pgid"] == seen["pid"]
    assert seen["stdin"] == "/dev/null"
    assert seen["fds"][:3] == [0, 1, 2] and len(seen["fds"]) <= 4  # + the one listing the dir
    ignored, blocked = (int(mask, 16) for mask in seen["shell"])
    glibc_own = (1 << 31) | (1 << 32)  # glibc's posix_spawn leaves its signals 32, 33 ignored
    assert ignored & ~glibc_own == 0 and blocked == 0, seen["shell"]
    if result.isolation == "cgroup":
        assert "/hacore/iso-1/op-" in seen["cgroup"]


def test_script_output_and_status_on_either_path(tmp_path, spawn_path):
    """Stdout, stderr and the exit status reach the result; the exit reason is read."""
    path = tmp_path / "agent.sh"
    path.write_text('#!/bin/sh\necho "out $OCF_RESKEY_word"\necho "ocf-exit-reason:broken $1" >&2\nexit 6\n')
    path.chmod(0o755)
    agent = ScriptAgent(str(path), "ocf", str(path), provider="local", type="agent.sh")
    result = run_operation(OperationRequest(agent.name, "start", "out-1", {"word": "a b"}, timeout=20), agent)
    assert (result.code, result.reason, result.exit_status) == (OCF.ERR_CONFIGURED, "broken start", 6)
    assert result.stdout == "out a b\n"
    assert result.spawn == expected_spawn(spawn_path)


def test_script_that_cannot_run_on_either_path(tmp_path, spawn_path):
    """A missing script is ERR_INSTALLED, one without execute permission ERR_PERM, both with
    a reason naming the file."""
    gone = ScriptAgent("gone", "ocf", str(tmp_path / "gone"))
    result = run_operation(OperationRequest("gone", "monitor", "gone-1", timeout=20), gone)
    assert result.code is OCF.ERR_INSTALLED
    assert result.reason == f"cannot execute {tmp_path / 'gone'}: No such file or directory"
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\nexit 0\n")
    agent = ScriptAgent("plain", "ocf", str(plain))
    result = run_operation(OperationRequest("plain", "monitor", "plain-1", timeout=20), agent)
    assert result.code is OCF.ERR_PERM and "Permission denied" in result.reason


def test_setsid_child_forked_at_once_is_killed_on_either_path(tmp_path, spawn_path):
    """A script that forks a setsid'd child straight away and hangs is killed with it: the
    script was in its cgroup before its first instruction."""
    if not cgroup_tree().available:
        pytest.skip("cgroup v2 is not writable here")
    tag = f"{4000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 997}"
    path = tmp_path / "escape.sh"
    path.write_text(f"#!/bin/sh\nsetsid sleep {tag} &\nexec sleep {tag}\n")
    path.chmod(0o755)
    agent = ScriptAgent(str(path), "ocf", str(path), provider="local", type="escape.sh")
    result = run_operation(OperationRequest(agent.name, "monitor", "escape-1", timeout=1.0), agent)
    assert result.timed_out and result.spawn == expected_spawn(spawn_path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _with(tag):
        time.sleep(0.05)
    survivors = _with(tag)
    for proc in survivors:
        proc.kill()
    assert not survivors, "the setsid'd child escaped the kill"


def _with(tag):
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if tag in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_missing_launcher_is_logged_and_falls_back(tmp_path, monkeypatch, caplog):
    """Without the compiled launcher the executor says so once and scripts still run."""
    monkeypatch.setenv("HACORE_EXECUTOR_LAUNCHER", str(tmp_path / "absent.so"))
    launcher.reset()
    try:
        with caplog.at_level(logging.WARNING, logger="hacore.executor"):
            agent = python_agent(tmp_path, "print('ran')\n")
            for n in range(2):
                result = run_operation(OperationRequest(agent.name, "monitor", f"fb-{n}", timeout=20), agent)
                assert result.code is OCF.SUCCESS and result.stdout == "ran\n"
                assert result.spawn in ("fork", "posix_spawn")
    finally:
        launcher.reset()
    warnings = [r.getMessage() for r in caplog.records if "launcher" in r.getMessage()]
    assert len(warnings) == 1
    assert "absent.so not found" in warnings[0] and "slower Python path" in warnings[0]


def test_build_command_compiles_a_loadable_launcher(tmp_path):
    """`python -m hacore.executor.launcher build OUT` writes a library the executor can load."""
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler")
    out = tmp_path / "built.so"
    done = subprocess.run([sys.executable, "-m", "hacore.executor.launcher", "build", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert out.exists() and launcher.Launcher(out).path == out
    usage = subprocess.run([sys.executable, "-m", "hacore.executor.launcher", "bogus"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_build_failure_names_the_compiler_error(tmp_path, monkeypatch):
    """A compiler that fails gives an error carrying its message; no library is left."""
    fake = tmp_path / "fakecc"
    fake.write_text("#!/bin/sh\necho 'fakecc: no such luck' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(RuntimeError, match="no such luck"):
        launcher.build(tmp_path / "out.so", compiler=str(fake))
    assert not list(tmp_path.glob("*.so")) and not list(tmp_path.glob(".*.tmp"))
