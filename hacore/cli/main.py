"""`hacore`: the administrator's command line. One module per noun."""

from __future__ import annotations

import click

from hacore import __version__
from hacore.cli.lazy import LazyGroup

COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("hacore.cli.simulate:simulate", "Show what the policy engine would do, step by step."),
    "agent": ("hacore.cli.agent:agent", "See and drive installed resource agents."),
    "config": ("hacore.cli.config:config", "Check, print, convert a cluster configuration."),
    "fence": ("hacore.cli.fence:fence", "Fence a node by hand; acknowledge a manual fence."),
    "keygen": ("hacore.cli.keygen:keygen", "Make the cluster key."),
    "daemon": ("hacore.cli.daemon:daemon", "Run this node (under its supervisor)."),
    "status": ("hacore.cli.status:status", "Show quorum, members and services (like clustat)."),
    "nodes": ("hacore.cli.nodes:nodes", "List the nodes with their membership state."),
    "service": ("hacore.cli.service:service", "Enable, disable, restart, relocate, freeze a service."),
    "node": ("hacore.cli.node:node", "Put a node in standby or bring it back."),
    "events": ("hacore.cli.events:events", "Show the journal as a timeline, by incident."),
    "timing": ("hacore.cli.timing:timing", "Show each service's failover budget; check timeouts."),
    "why": ("hacore.cli.why:why", "Say where a service runs and why, or why it does not."),
    "web": ("hacore.cli.web:web", "Set the web console's password (hacore web passwd)."),
    "cluster": ("hacore.cli.cluster:cluster", "Make a cluster from one machine: init, join with tokens, remove."),
    "demo": ("hacore.cli.demo:demo", "Run a 3-node demo cluster (VIP + Apache) on this machine."),
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hacore")
def cli() -> None:
    """hacore keeps services running on a cluster of Linux machines.

    Example: hacore agent list
    """


def main() -> None:
    cli(prog_name="hacore")


if __name__ == "__main__":
    main()
