"""`hacore-agent`: tools for agent authors. `hacore-agent test` is the conformance harness."""

from __future__ import annotations

import sys

import click

from hacore.cli.params import param_option, parse_params
from hacore.cli.render import handled, print_json


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Tools for resource agent authors.

    \b
    Example: hacore-agent test ocf:heartbeat:Dummy --param state=/tmp/dummy.state
    """


@cli.command()
@click.argument("agent")
@param_option
@click.option("--class", "agent_class", type=click.Choice(["ocf", "lsb"]),
              help="How to run an agent given as a path (default ocf).")
@click.option("--timeout", type=float, metavar="S",
              help="Kill any operation after S seconds (default: the meta-data's timeouts).")
@click.option("--instance", metavar="NAME", help="Resource instance name (default: unique per run).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--junit", metavar="FILE", help="Also write the report as JUnit XML to FILE.")
@handled
def test(agent: str, params: tuple[str, ...], agent_class: str | None, timeout: float | None,
         instance: str | None, as_json: bool, junit: str | None) -> None:
    """Check that AGENT follows the OCF (or LSB) rules; exit 0 when every check passes.

    AGENT is a native agent name, ocf:PROVIDER:TYPE, lsb:NAME or a path to a script. The
    agent really runs here: start, monitor, stop, ... on a resource named for this run.

    \b
    Example:
      hacore-agent test ocf:heartbeat:Dummy --param state=/tmp/dummy.state --junit out.xml
    """
    from hacore.harness import run_harness
    from hacore.harness.report import write_atomically

    report = run_harness(agent, parse_params(params), agent_class=agent_class, timeout=timeout,
                         instance=instance)
    if junit:
        write_atomically(junit, report.to_junit())
    if as_json:
        print_json(report.to_dict())
    else:
        click.echo(report.summary())
    sys.exit(0 if report.passed else 1)


@cli.command()
@click.argument("name")
@click.option("--directory", "-d", default=".", type=click.Path(file_okay=False),
              help="Where to create the package (default: here).")
@handled
def new(name: str, directory: str) -> None:
    """Scaffold a pip-installable agent package that passes `hacore-agent test`.

    Example: hacore-agent new my-daemon && pip install ./hacore-agent-my-daemon
    """
    from pathlib import Path

    from hacore.scaffold import scaffold

    target = scaffold(name, Path(directory))
    click.echo(f"created {target}")
    click.echo(f"next: pip install {target} && hacore-agent test {name} -p pidfile=/tmp/{name}.pid")


def main() -> None:
    cli(prog_name="hacore-agent")


if __name__ == "__main__":
    main()
