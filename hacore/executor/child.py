"""What the forked child of an operation does: run a native method or exec a script.

Runs after fork(), so it never returns: it ends in execve() or os._exit().
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import traceback

from hacore.agent.base import Agent, OperationContext
from hacore.agent.codes import OCF
from hacore.agent.params import ParamError, bind_params
from hacore.agent.result import AgentFailure, Result


def enter_isolation(stdout_fd: int, stderr_fd: int) -> None:
    """Own process group, /dev/null as stdin, pipes as stdout and stderr."""
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)


#: a script starts with every signal at its default action (Python ignores SIGPIPE and
#: SIGXFSZ, and an ignored signal would stay ignored across exec) and none blocked; glibc
#: keeps the signals below SIGRTMIN (32, 33) for its threads
DEFAULT_SIGNALS = frozenset(s for s in signal.valid_signals()
                            if s < 32 or s >= signal.SIGRTMIN) - {signal.SIGKILL, signal.SIGSTOP}


MAX_FDS = os.sysconf("SC_OPEN_MAX")


def cannot_execute(path: str, errno: int) -> str:
    """The failure line of a script that could not be executed."""
    return f"ocf-exit-reason:cannot execute {path}: {os.strerror(errno)}\n"


def exec_script(argv: list[str], env: dict[str, str]) -> None:
    """Replace the forked child by the script (signals as a fresh process has them, only
    descriptors 0, 1 and 2)."""
    for signum in DEFAULT_SIGNALS:
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # the signals glibc keeps for itself
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    os.closerange(3, MAX_FDS)  # no descriptor of the executor (or its caller) reaches the script
    try:
        os.execve(argv[0], argv, env)
    except OSError as exc:
        os.write(2, cannot_execute(argv[0], exc.errno or 0).encode())
        os._exit(int(OCF.ERR_INSTALLED) if exc.errno == 2 else int(OCF.ERR_PERM))


def run_native(cls: type[Agent], action: str, raw: dict[str, str], instance: str,
               ctx: OperationContext, result_fd: int) -> None:
    """Call one method of a native agent and write its Result as JSON to ``result_fd``."""
    gc.disable()  # a short-lived child: collecting would only copy pages shared with the parent
    bind_std_streams()
    result = native_result(cls, action, raw, instance, ctx)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(result_fd, json.dumps({"code": int(result.code), "reason": result.reason}).encode())
    finally:
        os._exit(0)


def native_result(cls: type[Agent], action: str, raw: dict[str, str], instance: str,
                  ctx: OperationContext) -> Result:
    """One method of a native agent, anything it raises turned into a failed Result. It runs
    with no signal blocked, whatever the forking thread blocked: a service it starts (httpd)
    inherits the mask across exec, and a blocked SIGWINCH or SIGTERM would make it deaf."""
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    try:
        return _call(cls, action, raw, instance, ctx)
    except BaseException as exc:  # noqa: BLE001 - anything an agent raises is a failed operation
        traceback.print_exc()
        return Result(OCF.ERR_GENERIC, f"agent {cls.name} raised {type(exc).__name__}: {exc}")


def bind_std_streams() -> None:
    """Make sys.stdout/sys.stderr write to fds 1 and 2 (the pipes), whatever they were."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        try:
            bound = stream is not None and stream.fileno() == fd
        except Exception:  # noqa: BLE001 - a replaced stream (pytest's capture) may raise anything
            bound = False
        if not bound:
            setattr(sys, name, os.fdopen(fd, "w", buffering=1, closefd=False))


def _call(cls: type[Agent], action: str, raw: dict[str, str], instance: str,
          ctx: OperationContext) -> Result:
    if action == "meta-data":
        from hacore.agent.metadata import native_metadata

        sys.stdout.write(native_metadata(cls))
        return Result.ok()
    try:
        params = bind_params(cls.parameters, raw)
    except ParamError as exc:
        return Result(OCF.ERR_CONFIGURED, str(exc))
    agent = cls(params, instance, ctx)
    try:
        returned = getattr(agent, action)()
    except AgentFailure as exc:
        return Result(exc.code, exc.reason)
    if isinstance(returned, Result):
        return returned
    if isinstance(returned, int):
        return Result(OCF.from_exit(int(returned)))
    return Result(OCF.ERR_GENERIC,
                  f"agent {cls.name}: {action}() returned {type(returned).__name__}, not a Result")
