"""`hacore cluster init / join / token / remove / stop`: a cluster from one machine
(docs/bootstrap.md); `stop` is in hacore/cli/cluster_stop.py."""

from __future__ import annotations

import time
from typing import Any

import click

from hacore.cli.maintenance import cluster_maintenance
from hacore.cli.render import handled, print_json

_SOCKET_HELP = "The daemon's control socket (default: $HACORE_SOCKET, else /run/hacore/hacore.sock)."


def _paths(etc_dir: str, state_dir: str, socket_path: str | None) -> Any:
    from hacore.api.client import default_socket_path
    from hacore.bootstrap.local import NodePaths

    return NodePaths(etc_dir, state_dir, default_socket_path(socket_path))


def _local_options(func: Any) -> Any:
    for option in reversed([
        click.option("--address", "addresses", multiple=True, metavar="ADDR",
                     help="This node's address; repeat for several links (default: the "
                          "first global IPv4 address)."),
        click.option("--name", "node_name", default=None,
                     help="This node's name (default: the short host name)."),
        click.option("--etc-dir", default="/etc/hacore", show_default=True,
                     help="Where cluster.key and cluster.toml go (root-only)."),
        click.option("--state-dir", default="/var/lib/hacore", show_default=True,
                     help="The daemon's state directory."),
        click.option("--socket", "socket_path", default=None, metavar="PATH", help=_SOCKET_HELP),
        click.option("--start", "start", default="auto", show_default=True,
                     type=click.Choice(["auto", "systemd", "background", "none"]),
                     help="How to start the daemon: systemd if its unit is installed, else a "
                          "background supervisor."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]):
        func = option(func)
    return func


def _until(expires: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires))


def _join_command(token: dict[str, Any]) -> str:
    return f"hacore cluster join {token['addresses'][0]} --token {token['token']}"


@click.group()
def cluster() -> None:
    """Make a cluster from one machine: init, join the others with tokens, remove nodes;
    stop the whole cluster.

    Example: hacore cluster init web --address 10.0.0.1
    """


def _add_stop() -> None:
    from hacore.cli.cluster_stop import stop  # hacore cluster stop (its own module)

    cluster.add_command(stop)


_add_stop()


@cluster.command()
@click.argument("name")
@_local_options
@click.option("--ttl", default=3600.0, show_default=True, metavar="SECONDS",
              help="How long the printed join token stays valid.")
@handled
def init(name: str, addresses: tuple[str, ...], node_name: str | None, etc_dir: str,
         state_dir: str, socket_path: str | None, start: str, as_json: bool,
         ttl: float) -> None:
    """Start a new cluster NAME on this machine and print how to join the others.

    Makes the cluster key and a first configuration (this node as node 1) under
    --etc-dir, root-only; starts the daemon; prints a join command with a single-use token
    valid for --ttl seconds that carries the cluster CA's fingerprint.

    Example: hacore cluster init web --address 10.0.0.1 --address 192.168.1.1
    """
    from hacore.bootstrap import local
    from hacore.bootstrap import state as boot_state
    from hacore.bootstrap.nodes import first_config
    from hacore.bootstrap.token import join_address, make_token
    from hacore.bootstrap.wire import DEFAULT_JOIN_PORT
    from hacore.membership.keyfile import new_key
    from hacore.tls import cluster_ca

    paths = _paths(etc_dir, state_dir, socket_path)
    local.refuse_if_member(paths)
    node = node_name or local.local_node_name()
    addrs = list(addresses) or local.local_addresses()
    key = new_key()
    text = first_config(name, node, addrs)
    ca = cluster_ca(key)
    local.write_node_files(paths, key, text)
    node_id = boot_state.next_node_id(paths.state_dir, [1])
    token = make_token(key, ca.fingerprint(), node_id,
                       [join_address(a, DEFAULT_JOIN_PORT) for a in addrs], ttl)
    how = local.start_daemon(paths, node, start)
    up = start == "none" or local.wait_for_daemon(paths, quorate=True)
    info = {"cluster": name, "node": node, "node_id": 1, "addresses": addrs,
            "key_file": paths.key_file, "config_file": paths.config_file,
            "fingerprint": ca.fingerprint(), "daemon": how, "daemon_answers": up,
            "token": token.encode(), "token_expires": token.expires,
            "addresses_to_join": list(token.addresses)}
    info["join_command"] = _join_command({"addresses": info["addresses_to_join"],
                                          "token": info["token"]})
    if as_json:
        print_json(info)
    else:
        click.echo(f"cluster {name!r} created: {node} is node 1 ({', '.join(addrs)})")
        click.echo(f"wrote {paths.key_file} (0400) and {paths.config_file} (0600)")
        click.echo(f"daemon: {how}" + ("" if up else " -- but it is not running with quorum "
                                              "yet; see its log"))
        click.echo(f"cluster CA fingerprint: sha256:{ca.fingerprint()}")
        click.echo(f"join another machine (token valid until {_until(token.expires)}, once):")
        click.echo(f"  {info['join_command']}")
    if not up:
        raise SystemExit(1)


@cluster.command()
@click.argument("address", required=False)
@click.option("--token", "token_text", required=True, metavar="TOKEN",
              help="The token from `hacore cluster init` or `hacore cluster token`.")
@_local_options
@handled
def join(address: str | None, token_text: str, addresses: tuple[str, ...],
         node_name: str | None, etc_dir: str, state_dir: str, socket_path: str | None,
         start: str, as_json: bool) -> None:
    """Join this machine to a cluster through the member at ADDRESS (host[:port]).

    Checks that the member's certificate comes from the CA the token names (no trust on
    first use), proves the token without sending it, and receives the cluster key and the
    configuration with this node added (expected votes raised; printed). Writes them
    root-only under --etc-dir and starts the daemon. Without ADDRESS the token's addresses
    are tried in turn. A wrong, expired or used token is refused and nothing changes.

    Example: hacore cluster join 10.0.0.1:5417 --token hcj1.eyJpIjoi... --address 10.0.0.2
    """
    from hacore.bootstrap import local
    from hacore.bootstrap.joiner import join as join_cluster
    from hacore.bootstrap.token import parse_token, split_address
    from hacore.bootstrap.wire import DEFAULT_JOIN_PORT
    from hacore.errors import OperationFailed

    token = parse_token(token_text)
    if token.expired():
        raise OperationFailed(f"the token expired at {_until(token.expires)}; make a fresh "
                              "one with `hacore cluster token` on a member")
    paths = _paths(etc_dir, state_dir, socket_path)
    local.refuse_if_member(paths)
    node = node_name or local.local_node_name()
    addrs = list(addresses) or local.local_addresses()
    targets = [split_address(address, DEFAULT_JOIN_PORT)] if address else \
        [split_address(a, DEFAULT_JOIN_PORT) for a in token.addresses]
    welcome = join_cluster(targets, token, node, addrs)
    local.write_node_files(paths, welcome.key, welcome.config_text)
    how = local.start_daemon(paths, node, start)
    up = start == "none" or local.wait_for_daemon(paths)
    info = {"node": node, "node_id": welcome.node_id, "addresses": addrs,
            "config_version": welcome.version, "nodes": welcome.nodes,
            "expected_votes_before": welcome.expected_before,
            "expected_votes": welcome.expected_after, "quorum": welcome.quorum,
            "via": welcome.server, "key_file": paths.key_file,
            "config_file": paths.config_file, "daemon": how, "daemon_answers": up}
    if as_json:
        print_json(info)
    else:
        click.echo(f"joined through {welcome.server}: {node} is node {welcome.node_id} "
                   f"({', '.join(addrs)}); configuration version {welcome.version}")
        click.echo(f"nodes: {', '.join(welcome.nodes)}; expected votes {welcome.expected_before}"
                   f" -> {welcome.expected_after}, quorum {welcome.quorum}")
        click.echo(f"wrote {paths.key_file} (0400) and {paths.config_file} (0600)")
        click.echo(f"daemon: {how}" + ("" if up else " -- but it does not answer yet; see "
                                              "its log"))
    if not up:
        raise SystemExit(1)


@cluster.command()
@click.option("--ttl", default=3600.0, show_default=True, metavar="SECONDS",
              help="How long the token stays valid (at most 7 days).")
@click.option("--socket", "socket_path", default=None, metavar="PATH", help=_SOCKET_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the token and its facts as JSON.")
@handled
def token(ttl: float, socket_path: str | None, as_json: bool) -> None:
    """Print a fresh single-use join token, and the command that uses it.

    Run on a member (its daemon makes the token). The token admits one node, once, until
    it expires; it carries the cluster CA's fingerprint and this member's join addresses.

    Example: hacore cluster token --ttl 600
    """
    from hacore.api.client import ApiClient

    reply = ApiClient(socket_path).call("cluster_token", ttl=ttl)
    if as_json:
        print_json(reply)
        return
    click.echo(f"join token for cluster {reply['cluster']!r} (node id {reply['node_id']}, "
               f"valid until {_until(reply['expires'])}, once):")
    click.echo(f"  {_join_command(reply)}")


@cluster.command()
@click.argument("node")
@click.option("--socket", "socket_path", default=None, metavar="PATH", help=_SOCKET_HELP)
@click.option("--timeout", default=70.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a quorum to store the new configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handled
def remove(node: str, socket_path: str | None, timeout: float, as_json: bool) -> None:
    """Remove NODE from the cluster's configuration (after it stopped or was fenced).

    Refused while NODE is a member. The new configuration (config_version + 1) is stored
    on a quorum; expected votes drop by NODE's votes and quorum follows (printed).

    Example: hacore cluster remove n3
    """
    from hacore.api.client import ApiClient

    reply = ApiClient(socket_path, timeout=timeout + 10.0).call("cluster_remove", node=node)
    if as_json:
        print_json(reply)
        return
    click.echo(f"removed {reply['removed']}: configuration version {reply['version']}; "
               f"nodes: {', '.join(reply['nodes'])}; expected votes "
               f"{reply['expected_before']} -> {reply['expected_after']}, quorum "
               f"{reply['quorum']}")


cluster.add_command(cluster_maintenance)
