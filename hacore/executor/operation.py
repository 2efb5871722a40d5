"""One operation to run and what came of it."""

from __future__ import annotations

import os
import select
import time
from dataclasses import dataclass, field, fields

from hacore.agent.codes import OCF

OUTPUT_CAP = 64 * 1024
#: after killing a timed-out operation, how long the executor waits for its processes to go
KILL_WAIT = 5.0


@dataclass(frozen=True)
class OperationRequest:
    """Run ``action`` of ``agent`` for resource ``instance``; kill it after ``timeout`` s."""

    agent: str
    action: str
    instance: str
    params: dict[str, str] = field(default_factory=dict)
    timeout: float = 20.0
    interval: float = 0.0
    depth: int = 0
    agent_class: str | None = None  # "ocf" or "lsb" for a path given as agent
    env: dict[str, str] = field(default_factory=dict)  # extra variables, override the standard ones

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # asdict deep-copies: slow

    @classmethod
    def from_dict(cls, data: dict) -> OperationRequest:
        return cls(**data)

    def to_wire(self) -> tuple:
        """The field values in order, for the executor's own socket protocol (marshal)."""
        return tuple(getattr(self, name) for name in _REQUEST_FIELDS)

    @classmethod
    def from_wire(cls, values: tuple) -> OperationRequest:
        return cls(*values)


@dataclass(frozen=True)
class OperationResult:
    """The outcome: OCF code, reason, how long it took, output, and what was killed."""

    action: str
    code: OCF
    reason: str = ""
    duration: float = 0.0
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    killed: tuple[str, ...] = ()
    leftover: tuple[int, ...] = ()
    isolation: str = "pgid"
    exit_status: int | None = None  # a script's raw exit status (negative: killed by that signal)
    spawn: str = ""  # how the child was made: "launcher", "posix_spawn" or "fork"

    @property
    def success(self) -> bool:
        return self.code == OCF.SUCCESS

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["code"] = int(self.code)
        data["result"] = self.code.label
        data["killed"] = list(self.killed)
        data["leftover"] = list(self.leftover)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> OperationResult:
        data = dict(data)
        data.pop("result", None)
        data["code"] = OCF.from_exit(int(data["code"]))
        data["killed"] = tuple(data.get("killed", ()))
        data["leftover"] = tuple(data.get("leftover", ()))
        return cls(**data)

    def to_wire(self) -> tuple:
        """The field values in order (the code as an int), for the executor's protocol."""
        return tuple(int(self.code) if name == "code" else getattr(self, name)
                     for name in _RESULT_FIELDS)

    @classmethod
    def from_wire(cls, values: tuple) -> OperationResult:
        result = cls(*values)
        object.__setattr__(result, "code", OCF.from_exit(int(values[1])))
        return result


_REQUEST_FIELDS = tuple(f.name for f in fields(OperationRequest))
_RESULT_FIELDS = tuple(f.name for f in fields(OperationResult))


def reap_within(pid: int, pidfd: int, budget: float) -> int | None:
    """Wait (at most ``budget`` seconds, woken by its pidfd) for a child of ours to end; its
    exit code, None if it did not end in time (or was reaped elsewhere)."""
    end = time.monotonic() + budget
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        remaining = end - time.monotonic()
        if remaining <= 0:
            return None
        select.select([pidfd], [], [], min(remaining, 0.05))
