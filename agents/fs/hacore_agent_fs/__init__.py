"""The ``fs`` agent: mount a block device's file system on one node at a time."""

from hacore.agent import hookimpl
from hacore_agent_fs.agent import FileSystem


@hookimpl
def hacore_register_agents(register):
    """Register the fs agent."""
    register(FileSystem)


__all__ = ["FileSystem", "hacore_register_agents"]
