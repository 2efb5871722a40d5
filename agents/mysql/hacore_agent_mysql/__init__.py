"""The ``mysql`` agent: one MariaDB (or MySQL) server with its own datadir, socket and pid file."""

from hacore.agent import hookimpl
from hacore_agent_mysql.agent import MySQL


@hookimpl
def hacore_register_agents(register):
    """Register the mysql agent."""
    register(MySQL)


__all__ = ["MySQL", "hacore_register_agents"]
