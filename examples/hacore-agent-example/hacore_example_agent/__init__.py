"""An example hacore agent package: ``pidfile-daemon`` runs a tiny daemon with a pid file."""

from hacore_example_agent.agent import PidfileDaemon

__all__ = ["PidfileDaemon"]
