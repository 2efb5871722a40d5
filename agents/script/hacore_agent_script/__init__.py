"""The ``script`` agent: rgmanager's script resource, any LSB-style script given by ``file=``."""

from hacore.agent import hookimpl
from hacore_agent_script.agent import ScriptResource


@hookimpl
def hacore_register_agents(register):
    """Register the script agent."""
    register(ScriptResource)


__all__ = ["ScriptResource", "hacore_register_agents"]
