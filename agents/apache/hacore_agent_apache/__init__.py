"""The ``apache`` agent: one Apache httpd instance with its own pid file and run directory."""

from hacore.agent import hookimpl
from hacore_agent_apache.agent import Apache


@hookimpl
def hacore_register_agents(register):
    """Register the apache agent."""
    register(Apache)


__all__ = ["Apache", "hacore_register_agents"]
