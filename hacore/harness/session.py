"""One harness run: runs operations through the executor, times checks, finds stray processes.

Every operation carries ``HACORE_HARNESS_RUN=<token>`` in its environment, so any process the
agent leaves behind can be found even where no cgroup is available (the token is inherited
by children, setsid'd ones included); the resource's cgroup is the other witness.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from hacore.agent.catalog import AgentHandle
from hacore.agent.codes import OCF
from hacore.agent.info import AgentInfo
from hacore.errors import HacoreError
from hacore.executor import cgroup_tree, cgroups, run_operation
from hacore.executor.operation import KILL_WAIT, OperationRequest, OperationResult
from hacore.harness.report import CheckResult, HarnessReport

TOKEN_VAR = "HACORE_HARNESS_RUN"
DEFAULT_TIMEOUT = 20.0


@dataclass
class HarnessSession:
    """The state of one run: the agent, its parameters, the report being filled."""

    handle: AgentHandle
    params: dict[str, str]
    instance: str
    agent_class: str
    timeout: float | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    info: AgentInfo | None = None
    report: HarnessReport = field(init=False)
    token: str = field(init=False)
    failed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.report = HarnessReport(self.handle.name, self.agent_class, self.instance)

    # -- operations -------------------------------------------------------------------
    def timeout_for(self, action: str) -> float:
        """--timeout when given, else what the meta-data recommends, else 20 s."""
        if self.timeout is not None:
            return self.timeout
        if self.info is not None:
            names = ("validate", "validate-all") if action == "validate" else (action,)
            for name in names:
                for act in self.info.actions:
                    if act.name == name or (action == "monitor" and act.name == "status"):
                        return act.timeout
        return DEFAULT_TIMEOUT

    def op(self, action: str, *, params: dict[str, str] | None = None, interval: float = 0.0,
           depth: int = 0, env: dict[str, str] | None = None) -> OperationResult:
        """Run one operation, bounded by its timeout; never raises for the agent's faults."""
        request = OperationRequest(
            agent=self.handle.name, action=action, instance=self.instance,
            params=dict(self.params if params is None else params), timeout=self.timeout_for(action),
            interval=interval, depth=depth, agent_class=self.agent_class if self.agent_class != "native" else None,
            env={**self.extra_env, **(env or {}), TOKEN_VAR: self.token})
        try:
            return run_operation(request, self.handle)
        except HacoreError as exc:
            return OperationResult(action, OCF.ERR_GENERIC, f"could not run {action}: {exc}")
        except OSError as exc:
            return OperationResult(action, OCF.ERR_GENERIC, f"could not run {action}: {exc}")

    # -- checks -----------------------------------------------------------------------
    def check(self, name: str, body: Callable[[], tuple[bool, str]],
              needs: tuple[str, ...] = ()) -> CheckResult:
        """Run one check unless a check it needs failed; record and return its result."""
        missing = [n for n in needs if n in self.failed]
        if missing:
            result = CheckResult(name, False, f"skipped: {missing[0]!r} did not pass", 0.0, skipped=True)
        else:
            began = time.monotonic()
            try:
                ok, detail = body()
            except HacoreError as exc:
                ok, detail = False, str(exc)
            result = CheckResult(name, ok, detail, time.monotonic() - began)
        if not result.ok:
            self.failed.add(name)
        self.report.checks.append(result)
        return result

    # -- processes --------------------------------------------------------------------
    def stray_pids(self) -> list[int]:
        """Live processes of this run: in the resource's cgroup or carrying the run's token."""
        found = set(cgroup_tree().resource_pids(self.instance))
        marker = f"{TOKEN_VAR}={self.token}".encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if marker in handle.read().split(b"\0"):
                        found.add(int(entry))
            except OSError:
                continue
        return sorted(pid for pid in found if _alive(pid))

    def kill_strays(self) -> list[str]:
        """SIGKILL every stray process (bounded wait); describe each one killed."""
        pids = self.stray_pids()
        described = [describe_pid(pid) for pid in pids]
        tree = cgroup_tree()
        group = tree.resource_group(self.instance) if tree.available else None
        if group is not None:
            cgroups.kill_group(group, KILL_WAIT)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + KILL_WAIT
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        tree.prune(self.instance)
        return described


def _alive(pid: int) -> bool:
    """True for a process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    state = stat.rsplit(b")", 1)[-1].split()[:1]
    return state not in ([b"Z"], [b"X"])


def describe_pid(pid: int) -> str:
    """``1234 sleep 300``: a pid and its command line, for a report."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        cmdline = "?"
    return f"{pid} {cmdline[:100]}"
