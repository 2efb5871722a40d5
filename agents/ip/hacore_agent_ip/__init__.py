"""The ``ip`` agent: a floating IPv4 or IPv6 address, managed through netlink (hacore_agent_ip.rtnl)."""

from hacore.agent import hookimpl
from hacore_agent_ip.agent import FloatingAddress


@hookimpl
def hacore_register_agents(register):
    """Register the ip agent."""
    register(FloatingAddress)


__all__ = ["FloatingAddress", "hacore_register_agents"]
