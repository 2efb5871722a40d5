"""`hacore status`: cluster, quorum, members and services, like clustat."""

from __future__ import annotations

import time
from typing import Any

import click

from hacore.cli.render import handled, print_json

socket_option = click.option(
    "--socket", "socket_path", default=None, metavar="PATH",
    help="The daemon's control socket (default: $HACORE_SOCKET, else /run/hacore/hacore.sock).")


def render_status(st: dict[str, Any]) -> str:
    """The clustat-like table of a status reply."""
    head = f"Cluster Status for {st['cluster']} @ {time.strftime('%a %b %d %H:%M:%S %Y')}"
    if st.get("maintenance"):
        head += "  [MAINTENANCE: nothing is started or stopped]"
    lines = [head,
             (f"Member Status: {'Quorate' if st['quorate'] else 'Inquorate'}"
              f" ({st['quorum']['total']} of {st['quorum']['expected']} votes, "
              f"{st['quorum']['needed']} needed)"
              + ("; the cluster is stopping (hacore cluster stop): nothing is started"
                 if st.get("stopping") else "")), "",
             f" {'Member Name':<24} {'ID':>4}   Status",
             f" {'------ ----':<24} {'----':>4}   ------"]
    for m in st["members"]:
        flags = [m["state"]]
        if m["local"]:
            flags.append("Local")
        if m["coordinator"]:
            flags.append("coordinator")
        if m["standby"]:
            flags.append("standby")
        lines.append(f" {m['name']:<24} {m['id']:>4}   {', '.join(flags)}")
    lines += ["", f" {'Service Name':<24} {'Owner (Last)':<24} State",
              f" {'------- ----':<24} {'----- ------':<24} -----"]
    for s in st["services"]:
        owner = s["owner"] or (f"({s['last_owner']})" if s["last_owner"] else "(none)")
        state = s["state"] + (" [frozen]" if s["frozen"] else "") + \
            (" [partial]" if s["partial"] else "") + \
            (" [maintenance]" if s.get("unmanaged") else "")
        lines.append(f" {s['name']:<24} {owner:<24} {state}")
        if s["reason"]:
            lines.append(f" {'':<24} why: {s['reason']}")
    return "\n".join(lines)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@socket_option
@handled
def status(as_json: bool, socket_path: str | None) -> None:
    """Show the cluster: quorum, members, and every service with its owner and state.

    A service that is not running has a line saying why.

    Example: hacore status --json
    """
    from hacore.api.client import ApiClient

    st = ApiClient(socket_path).call("status")
    if as_json:
        print_json(st)
    else:
        click.echo(render_status(st))
