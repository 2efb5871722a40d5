"""`hacore nodes`: id, state, incarnation, joined, votes, name (like cman_tool nodes)."""

from __future__ import annotations

import time

import click

from hacore.cli.render import handled, print_json
from hacore.cli.status import socket_option


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the nodes as JSON.")
@socket_option
@handled
def nodes(as_json: bool, socket_path: str | None) -> None:
    """List the configured nodes with their membership state.

    Example: hacore nodes
    """
    from hacore.api.client import ApiClient

    reply = ApiClient(socket_path).call("nodes")
    if as_json:
        print_json(reply)
        return
    click.echo(f"{'Node':>4}  {'Sts':<6} {'Inc':>15}  {'Joined':<19}  {'Votes':>5}  Name")
    for n in reply["nodes"]:
        joined = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(n["joined"]))
                  if n["joined"] else "")
        inc = str(n["incarnation"]) if n["incarnation"] is not None else ""
        sts = "M" if n["state"] == "member" else "X"
        click.echo(f"{n['id']:>4}  {sts:<6} {inc:>15}  {joined:<19}  {n['votes']:>5}  {n['name']}")
