"""`hacore config validate|show|import`: check, print and convert a cluster configuration."""

from __future__ import annotations

import sys

import click

from hacore.cli.render import handled, print_json


@click.group()
def config() -> None:
    """Check, print and convert a cluster configuration (cluster.toml).

    Example: hacore config validate /etc/hacore/cluster.toml
    """


@config.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--local", is_flag=True,
              help="Also check this machine: devices, scripts, binaries, secret files.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@handled
def validate(file: str, local: bool, as_json: bool) -> None:
    """Check FILE: schema, references, quorum, timing, agent parameters.

    Every problem is printed with file, line and key. Exit 0 when valid (warnings go to
    stderr), 2 when not.

    Example: hacore config validate --local /etc/hacore/cluster.toml
    """
    from hacore.config import check_config

    result = check_config(file, agents="installed", fence_agents="installed", local=local)
    if as_json:
        print_json({"valid": result.config is not None,
                    "problems": [p.as_dict() for p in result.problems]})
    else:
        for problem in result.problems:
            click.echo(str(problem), err=True)
    if result.config is None:
        if not as_json:
            count = len(result.errors)
            click.echo(f"{file}: invalid ({count} error{'s' if count != 1 else ''})", err=True)
        sys.exit(2)
    if not as_json:
        cfg = result.config
        click.echo(f"{file}: valid (cluster {cfg.name!r}, config_version "
                   f"{cfg.config_version}, {len(cfg.nodes)} nodes, {len(cfg.services)} "
                   f"services)")


@config.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True,
              help="JSON with keys cluster, nodes, quorum, timing, fence_devices, domains, "
                   "resources, services.")
@handled
def show(file: str | None, as_json: bool) -> None:
    """Print the normalised configuration with every default filled in.

    FILE defaults to /etc/hacore/cluster.toml. Passwords are masked.

    Example: hacore config show --json examples/cluster.toml
    """
    from hacore.config import DEFAULT_PATH, check_config
    from hacore.config.dump import config_to_dict, config_to_toml, mask_config
    from hacore.config.problems import ConfigError

    result = check_config(file or DEFAULT_PATH)
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    if result.config is None:
        raise ConfigError(result.problems)
    if as_json:
        print_json(config_to_dict(result.config))
    else:
        click.echo(config_to_toml(mask_config(result.config), minimal=False), nl=False)


@config.command(name="import")
@click.argument("cluster_conf", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the cluster.toml (written atomically).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@handled
def import_(cluster_conf: str, output: str, force: bool) -> None:
    """Convert an RHCS cluster.conf (cman + rgmanager) into a cluster.toml.

    Whatever cannot be carried over is listed on stderr, element by element. A malformed
    file gives exit 2 and no output.

    Example: hacore config import /etc/cluster/cluster.conf -o /etc/hacore/cluster.toml
    """
    from hacore.config.rhcs import import_cluster_conf

    report = import_cluster_conf(cluster_conf, output, overwrite=force)
    for note in report.notes:
        click.echo(f"not carried over: {note}", err=True)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if not report.valid:
        click.echo(f"{output}: written, but it does not validate; fix the problems above",
                   err=True)
        sys.exit(2)
    click.echo(f"{output}: written from {cluster_conf} ({report.summary})")


@config.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--socket", "socket_path", default=None, metavar="PATH",
              help="The daemon's control socket (default: $HACORE_SOCKET, else "
                   "/run/hacore/hacore.sock).")
@click.option("--timeout", default=70.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a quorum of nodes to store it.")
@handled
def push(file: str, socket_path: str | None, timeout: float) -> None:
    """Send FILE to every node of the running cluster and make it the configuration.

    FILE is validated first (every problem with file, line and key; exit 2); its
    config_version must be greater than the running one. The command returns once a quorum
    of nodes stored it durably; the others get it when they are members again. Services
    that did not change keep running; new ones are started by the policy, removed ones
    stopped. Nodes, quorum and the message port cannot change this way.

    Example: hacore config push /etc/hacore/cluster.toml
    """
    from hacore.api.client import ApiClient
    from hacore.config import check_config
    from hacore.config.loader import read_text

    result = check_config(file, agents="installed", fence_agents="installed")
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.config is None:
        count = len(result.errors)
        click.echo(f"{file}: invalid ({count} error{'s' if count != 1 else ''}); nothing "
                   "was pushed", err=True)
        sys.exit(2)
    client = ApiClient(socket_path, timeout=timeout + 10.0)
    reply = client.call("config_push", text=read_text(file), filename=file)
    click.echo(f"configuration version {reply['version']} from {file} is stored on a quorum "
               "of nodes and applied")
