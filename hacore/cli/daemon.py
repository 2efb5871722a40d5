"""`hacore daemon`: run one node (under its supervisor)."""

from __future__ import annotations

import os
import sys

import click

from hacore.cli.render import handled


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="The cluster.toml (the same on every node).")
@click.option("--node", required=True, help="This node's name in the config.")
@click.option("--state-dir", default="/var/lib/hacore", show_default=True,
              help="Where this node keeps its durable state.")
@click.option("--socket", "socket_path", default=None, metavar="PATH",
              help="The control socket (default: $HACORE_SOCKET, else /run/hacore/hacore.sock).")
@click.option("--key-file", default="/etc/hacore/cluster.key", show_default=True,
              help="The cluster key (from `hacore keygen`).")
@click.option("--no-supervisor", is_flag=True,
              help="Run the daemon in this process, without the supervisor (tests, debugging).")
@handled
def daemon(config_path: str, node: str, state_dir: str, socket_path: str | None,
           key_file: str, no_supervisor: bool) -> None:
    """Run this node: membership, services, the coordinator when elected, the control API.

    A small supervisor process runs the daemon; if the daemon dies, the supervisor stops
    this node's resources (addresses first) before starting it again. SIGTERM stops the
    services here, then leaves the cluster.

    Example: hacore daemon --config /etc/hacore/cluster.toml --node n1
    """
    from hacore.api.client import default_socket_path
    from hacore.config import load_config

    config = load_config(config_path)  # a bad config is refused here, with every problem
    if config.node(node) is None:
        from hacore.errors import InputError

        names = ", ".join(n.name for n in config.nodes)
        raise InputError(f"--node {node!r} is not a node of cluster {config.name!r} "
                         f"(nodes: {names})")
    from hacore.membership.keyfile import load_key

    load_key(key_file)  # a missing or unreadable key is refused here, before anything runs
    socket_path = default_socket_path(socket_path)
    config_path = os.path.abspath(config_path)
    if no_supervisor:
        from hacore.daemon.main import main as daemon_main

        sys.exit(daemon_main(["--config", config_path, "--node", node, "--state-dir", state_dir,
                              "--socket", socket_path, "--key-file", key_file]))
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    # the supervisor is a fresh, small interpreter: it must outlive the daemon cheaply
    os.execv(sys.executable, [sys.executable, "-m", "hacore.daemon.supervisor", config_path,
                              node, state_dir, socket_path, key_file])
