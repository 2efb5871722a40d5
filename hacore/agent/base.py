"""The base class of native agents: a name, a parameter schema and four idempotent methods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hacore.agent.params import Param
from hacore.agent.result import Result

ACTIONS = ("start", "stop", "monitor", "validate")
DEFAULT_TIMEOUTS: dict[str, float] = {"start": 20.0, "stop": 20.0, "monitor": 20.0, "validate": 10.0}


@dataclass(frozen=True)
class OperationContext:
    """What the executor tells an agent about the operation it runs.

    ``interval`` is the monitor interval in seconds (0 for a probe or a one-shot call);
    ``depth`` is the OCF check level (0 light, 10 medium, 20 heavy); ``timeout`` is the
    time after which the executor kills the operation.
    """

    action: str
    timeout: float
    interval: float = 0.0
    depth: int = 0

    @property
    def probe(self) -> bool:
        """A monitor with interval 0: asked to find out whether the resource runs here."""
        return self.action == "monitor" and self.interval == 0


class Agent:
    """Subclass this, set ``name``, ``shortdesc`` and ``parameters``, write four methods.

    Every method is called in a fresh child process forked by the executor, which owns the
    timeout and kills the whole process tree when it passes (an agent that sets
    ``monitor_in_worker`` has its monitors run in a reused per-resource process instead). Each method must be idempotent
    and return a :class:`Result`:

    - ``start()``: SUCCESS once the resource is fully started; SUCCESS if it already runs.
    - ``stop()``: SUCCESS once nothing of the resource is left; SUCCESS if already stopped.
    - ``monitor()``: SUCCESS if running, NOT_RUNNING if cleanly stopped, an error otherwise.
      ``self.context.depth`` asks for a deeper check; ``self.context.probe`` is a first look.
    - ``validate()``: SUCCESS when the parameters make sense; ERR_CONFIGURED when they can
      never work, ERR_ARGS / ERR_INSTALLED when they cannot work on this host. Optional:
      the default accepts any parameters the schema accepts.

    ``self.params`` holds the typed parameter values (defaults filled in), ``self.instance``
    the resource's name. Raise :class:`AgentFailure` to end an operation with a code; any
    other exception becomes ERR_GENERIC with its traceback in the log.
    """

    name: ClassVar[str] = ""
    shortdesc: ClassVar[str] = ""
    longdesc: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    parameters: ClassVar[tuple[Param, ...]] = ()
    timeouts: ClassVar[dict[str, float]] = {}
    monitor_interval: ClassVar[float] = 10.0
    monitor_depths: ClassVar[tuple[int, ...]] = (0,)
    #: True: monitors run in one reused process per resource (about 0.5 ms instead of a
    #: fork's 3 ms), still in the resource's cgroup and process group and killed whole at
    #: the timeout. Set it only if monitor() keeps no module or class state between calls.
    monitor_in_worker: ClassVar[bool] = False

    def __init__(self, params: dict[str, Any], instance: str, context: OperationContext) -> None:
        self.params = params
        self.instance = instance
        self.context = context

    def start(self) -> Result:
        raise NotImplementedError

    def stop(self) -> Result:
        raise NotImplementedError

    def monitor(self) -> Result:
        raise NotImplementedError

    def validate(self) -> Result:
        return Result.ok()

    @classmethod
    def timeout_for(cls, action: str) -> float:
        """The default timeout of an action: the class's own, else hacore's default."""
        return float(cls.timeouts.get(action, DEFAULT_TIMEOUTS.get(action, 20.0)))
