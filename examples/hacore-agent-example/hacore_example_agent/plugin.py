"""The module named by the ``hacore.agents`` entry point: it registers the agent classes."""

from hacore.agent import hookimpl
from hacore_example_agent.agent import PidfileDaemon


@hookimpl
def hacore_register_agents(register):
    register(PidfileDaemon)
