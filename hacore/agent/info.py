"""AgentInfo: what anyone may know about an agent without running it (parsed meta-data)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParameterInfo:
    name: str
    type: str = "string"
    required: bool = False
    default: str | None = None
    shortdesc: str = ""
    longdesc: str = ""
    options: tuple[str, ...] = ()
    unique_group: str | None = None


@dataclass(frozen=True)
class ActionInfo:
    name: str
    timeout: float
    interval: float = 0.0
    depth: int = 0


@dataclass(frozen=True)
class AgentInfo:
    """An agent's description, the same shape for native agents, OCF and LSB scripts."""

    name: str
    agent_class: str
    origin: str
    shortdesc: str = ""
    longdesc: str = ""
    version: str = ""
    parameters: tuple[ParameterInfo, ...] = ()
    actions: tuple[ActionInfo, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def parameter(self, name: str) -> ParameterInfo | None:
        return next((p for p in self.parameters if p.name == name), None)

    def timeout(self, action: str, default: float = 20.0) -> float:
        """The timeout the meta-data recommends for an action (``status`` stands for monitor)."""
        names = (action, "status") if action == "monitor" else (action,)
        for candidate in names:
            for act in self.actions:
                if act.name == candidate:
                    return act.timeout
        return default
