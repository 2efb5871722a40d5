"""`hacore fence NODE [--action ...]`, `hacore fence ack NODE`: fence by hand (fence_node),
acknowledge a manual fence (fence_ack_manual)."""

from __future__ import annotations

import click

from hacore.cli.render import handled, print_json
from hacore.cli.status import socket_option

ACTIONS = ("off", "reboot", "on", "status")


class _NodeContext(click.Context):
    @property
    def command_path(self) -> str:  # "hacore fence", not "hacore fence node"
        return self.parent.command_path if self.parent is not None else "hacore fence"


class _NodeCommand(click.Command):
    context_class = _NodeContext


class FenceGroup(click.Group):
    """``hacore fence NODE`` runs the hidden ``node`` command; ``hacore fence ack NODE`` the
    ``ack`` subcommand (so a node cannot be called ``ack``)."""

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return None, self.commands["node"], args  # usage reads "hacore fence NODE"
        return super().resolve_command(ctx, args)


@click.group(cls=FenceGroup, context_settings={"help_option_names": ["-h", "--help"]})
def fence() -> None:
    """Fence a node by hand; acknowledge a manual fence.

    \b
    hacore fence NODE [--action off|reboot|on|status] [--config FILE] [--json]
        runs NODE's fence methods from the configuration in order until one succeeds
        (like fence_node); exit 0 when confirmed, 1 when every method failed.
    hacore fence ack NODE [--socket PATH]
        tells the running cluster that NODE was fenced by hand (like fence_ack_manual);
        refused while NODE is a member.

    Example: hacore fence n2 --action off --config /etc/hacore/cluster.toml
    """


@fence.command("node", cls=_NodeCommand, hidden=True)
@click.argument("node")
@click.option("--action", type=click.Choice(ACTIONS), default="reboot", show_default=True,
              help="off and reboot fence; on unfences; status only asks.")
@click.option("--config", "config_path", default="/etc/hacore/cluster.toml", show_default=True,
              type=click.Path(dir_okay=False), help="The cluster configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@handled
def node_(node: str, action: str, config_path: str, as_json: bool) -> None:
    """Run NODE's fence methods in order until one succeeds.

    Example: hacore fence n2 --action off --config examples/cluster.toml
    """
    from hacore.config import load_config
    from hacore.fencing.methods import fence_node

    config = load_config(config_path)
    outcome = fence_node(config, node, action)
    if as_json:
        print_json(outcome.to_dict())
    else:
        click.echo(outcome.detail)
        for reply in outcome.devices:
            state = "ok" if reply.ok else ("timed out" if reply.timed_out else "failed")
            if reply.power:
                state = reply.power
            click.echo(f"  method {reply.method or '-'}  device {reply.device} ({reply.agent})  "
                       f"{reply.action}: {state}  {reply.message}  [{reply.duration:.1f} s]")
    if not outcome.ok:
        raise SystemExit(1)


@fence.command()
@click.argument("node")
@socket_option
@handled
def ack(node: str, socket_path: str | None) -> None:
    """Acknowledge that NODE was fenced by hand (it is off, or was reset by an operator).

    Only do this after checking the node is really down: the cluster then counts it as
    fenced and recovers its services elsewhere. Refused (exit 1) while NODE is a member.
    The acknowledgement is recorded once a quorum of nodes holds it.

    Example: hacore fence ack n2
    """
    from hacore.api.client import ApiClient

    ApiClient(socket_path, timeout=70.0).call("node", op="fence-ack", node=node)
    click.echo(f"{node} is acknowledged as fenced: its services are recovered elsewhere")
