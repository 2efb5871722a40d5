"""The public agent API: everything an agent distribution may import.

    from hacore.agent import Agent, Param, Result, OCF, AgentFailure, hookimpl

The names load on first use (PEP 562): the daemon imports ``hacore.agent.codes`` for the OCF
codes and must not pay for the agent base class, pluggy and the meta-data model with it
(memory; tests/daemon/test_idle_imports.py).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hacore.agent.base import Agent, OperationContext
    from hacore.agent.codes import OCF, lsb_action_to_ocf, lsb_status_to_ocf
    from hacore.agent.hookspec import hookimpl
    from hacore.agent.info import ActionInfo, AgentInfo, ParameterInfo
    from hacore.agent.params import Param
    from hacore.agent.result import AgentFailure, Result

#: public name -> the module defining it
_WHERE = {
    "Agent": "base", "OperationContext": "base",
    "OCF": "codes", "lsb_action_to_ocf": "codes", "lsb_status_to_ocf": "codes",
    "hookimpl": "hookspec",
    "ActionInfo": "info", "AgentInfo": "info", "ParameterInfo": "info",
    "Param": "params",
    "AgentFailure": "result", "Result": "result",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hacore.agent' has no attribute {name!r}")
    value = getattr(import_module(f"hacore.agent.{module}"), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def describe_agent(name: str, agent_class: str | None = None) -> AgentInfo:
    """The meta-data of an installed agent; raises hacore.errors.AgentNotFound."""
    from hacore.agent.catalog import describe_agent as _describe

    return _describe(name, agent_class)


__all__ = [
    "OCF",
    "ActionInfo",
    "Agent",
    "AgentFailure",
    "AgentInfo",
    "OperationContext",
    "Param",
    "ParameterInfo",
    "Result",
    "describe_agent",
    "hookimpl",
    "lsb_action_to_ocf",
    "lsb_status_to_ocf",
]
