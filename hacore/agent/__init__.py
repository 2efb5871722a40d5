"""The public agent API: everything an agent distribution may import.

    from hacore.agent import Agent, Param, Result, OCF, AgentFailure, hookimpl
"""

from hacore.agent.base import Agent, OperationContext
from hacore.agent.codes import OCF, lsb_action_to_ocf, lsb_status_to_ocf
from hacore.agent.hookspec import hookimpl
from hacore.agent.info import ActionInfo, AgentInfo, ParameterInfo
from hacore.agent.params import Param
from hacore.agent.result import AgentFailure, Result


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
