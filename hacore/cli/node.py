"""`hacore node standby|unstandby|leave NAME`: drain a node, let services land on it again,
or make it leave the cluster cleanly (cman_tool leave)."""

from __future__ import annotations

import time

import click

from hacore.cli.render import handled
from hacore.cli.status import socket_option
from hacore.errors import OperationFailed


@click.group()
def node() -> None:
    """Drain a node (standby), bring it back (unstandby), or make it leave (leave).

    Example: hacore node standby n2
    """


@node.command()
@click.argument("name")
@socket_option
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until its services have moved away.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait.")
@handled
def standby(name: str, socket_path: str | None, wait: bool, timeout: float) -> None:
    """Put a node in standby: its services move away and nothing new lands there.

    Example: hacore node standby n2
    """
    from hacore.api.client import ApiClient

    client = ApiClient(socket_path, timeout=70.0)
    client.call("node", op="standby", node=name)
    deadline = time.monotonic() + timeout
    while wait:
        left = [s["name"] for s in client.call("status")["services"] if s["owner"] == name]
        if not left:
            break
        if time.monotonic() > deadline:
            raise OperationFailed(f"{name} still runs {', '.join(left)} after {timeout:g} s")
        time.sleep(0.2)
    click.echo(f"{name} is in standby" + (": it runs no service" if wait else ""))


@node.command()
@click.argument("name")
@socket_option
@handled
def unstandby(name: str, socket_path: str | None) -> None:
    """Let services land on a node again (nothing moves back by itself).

    Example: hacore node unstandby n2
    """
    from hacore.api.client import ApiClient

    ApiClient(socket_path, timeout=70.0).call("node", op="unstandby", node=name)
    click.echo(f"{name} is out of standby")


@node.command()
@click.argument("name")
@socket_option
@click.option("--timeout", default=150.0, show_default=True,
              help="Seconds to wait for the daemon to exit.")
@handled
def leave(name: str, socket_path: str | None, timeout: float) -> None:
    """Make NAME leave the cluster cleanly: its services move to other nodes first, then it
    stops what is left, tells the cluster (so it is not fenced) and its daemon exits 0.

    Ask NAME's own daemon (its --socket). The node takes services again once its daemon
    is started again.

    Example: hacore node leave n3 --socket /run/hacore/hacore.sock
    """
    from hacore.api.client import ApiClient

    client = ApiClient(socket_path, timeout=30.0)
    client.call("node", op="leave", node=name)
    click.echo(f"{name} is leaving: its services move to other nodes first", err=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ApiClient(socket_path, timeout=5.0).call("ping")
        except OperationFailed:
            break  # the socket is gone: the daemon exited
        if time.monotonic() > deadline:
            raise OperationFailed(f"{name}'s daemon is still running after {timeout:g} s; "
                                  "see its log")
        time.sleep(0.2)
    click.echo(f"{name} left the cluster")
