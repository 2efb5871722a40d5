"""`hacore agent list|info|run`: see and drive installed agents (rg_test's job)."""

from __future__ import annotations

import sys

import click

from hacore.cli.params import param_option, parse_params
from hacore.cli.render import handled, print_json
from hacore.errors import InputError

ACTIONS = ("start", "stop", "monitor", "validate", "meta-data")


@click.group()
def agent() -> None:
    """See and drive installed resource agents.

    Example: hacore agent run ocf:heartbeat:Dummy monitor --param state=/tmp/d.state
    """


@agent.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--no-lsb", is_flag=True, help="Leave out /etc/init.d scripts.")
@handled
def list_(as_json: bool, no_lsb: bool) -> None:
    """List every agent: name, class, where it comes from, what it manages.

    Example: hacore agent list --no-lsb
    """
    from hacore.agent.catalog import list_agents
    from hacore.agent.registry import installed_agents

    listing = list_agents(include_lsb=not no_lsb)
    problems = installed_agents().problems
    if as_json:
        print_json({
            "agents": [{"name": a.name, "class": a.agent_class, "origin": a.origin,
                        "shortdesc": a.shortdesc} for a in listing],
            "problems": [{"distribution": p.distribution, "agent": p.agent, "message": p.message}
                         for p in problems]})
    else:
        width = max((len(a.name) for a in listing), default=4)
        for entry in listing:
            click.echo(f"{entry.name:<{width}}  {entry.agent_class:<6}  {entry.shortdesc or '-'}  [{entry.origin}]")
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)


@agent.command()
@click.argument("name")
@click.option("--class", "agent_class", type=click.Choice(["ocf", "lsb"]), help="How to run a path.")
@click.option("--xml", is_flag=True, help="Print the OCF meta-data XML.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handled
def info(name: str, agent_class: str | None, xml: bool, as_json: bool) -> None:
    """Show an agent's parameters, defaults and timeouts.

    Example: hacore agent info ocf:heartbeat:IPaddr2
    """
    from hacore.agent.catalog import describe, resolve
    from hacore.agent.registry import NativeAgent

    handle = resolve(name, agent_class)
    if xml:
        if isinstance(handle, NativeAgent):
            from hacore.agent.metadata import native_metadata

            click.echo(native_metadata(handle.cls), nl=False)
            return
        if handle.agent_class == "lsb":
            raise InputError(f"agent {name}: LSB init scripts have no OCF meta-data")
        from hacore.executor import OperationRequest, run_operation

        result = run_operation(OperationRequest(name, "meta-data", handle.type), handle)
        click.echo(result.stdout, nl=False)
        sys.exit(0 if result.success else 1)
    data = describe(handle)
    if as_json:
        print_json({
            "name": data.name, "class": data.agent_class, "origin": data.origin,
            "shortdesc": data.shortdesc, "longdesc": data.longdesc,
            "parameters": [{"name": p.name, "type": p.type, "required": p.required,
                            "default": p.default, "shortdesc": p.shortdesc,
                            "options": list(p.options)} for p in data.parameters],
            "actions": [{"name": a.name, "timeout": a.timeout, "interval": a.interval,
                         "depth": a.depth} for a in data.actions]})
        return
    click.echo(f"{data.name} ({data.agent_class}, from {data.origin})")
    if data.shortdesc:
        click.echo(f"  {data.shortdesc}")
    click.echo("parameters:")
    for p in data.parameters or ():
        flag = "required" if p.required else f"default {p.default!r}" if p.default is not None else "optional"
        options = f" one of {', '.join(p.options)}" if p.options else ""
        click.echo(f"  {p.name:<20} {p.type:<8} {flag}{options}  {p.shortdesc}")
    if not data.parameters:
        click.echo("  (none)")
    click.echo("actions:")
    for a in data.actions:
        extra = f" every {a.interval:g}s" if a.interval else ""
        extra += f" depth {a.depth}" if a.depth else ""
        click.echo(f"  {a.name:<14} timeout {a.timeout:g}s{extra}")
    for warning in data.warnings:
        click.echo(f"warning: {warning}", err=True)


@agent.command()
@click.argument("name")
@click.argument("action", type=click.Choice(ACTIONS))
@param_option
@click.option("--timeout", type=click.FloatRange(min=0.001), help="Seconds before the operation is killed (default: the agent's).")
@click.option("--instance", default=None, help="Resource instance name (default: the agent's type).")
@click.option("--depth", type=click.Choice(["0", "10", "20"]), default="0", help="OCF_CHECK_LEVEL for monitor and validate.")
@click.option("--interval", type=click.FloatRange(min=0), default=0.0, help="Monitor interval in seconds (0: a probe).")
@click.option("--class", "agent_class", type=click.Choice(["ocf", "lsb"]), help="How to run a path.")
@click.option("--expect-stopped", is_flag=True, help="A monitor that finds it stopped (7) counts as success.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handled
def run(name: str, action: str, params: tuple[str, ...], timeout: float | None, instance: str | None,
        depth: str, interval: float, agent_class: str | None, expect_stopped: bool, as_json: bool) -> None:
    """Run one operation of an agent here, now, and print what came of it.

    Exit 0 on success (or NOT_RUNNING for a monitor with --expect-stopped), 1 otherwise.

    Example: hacore agent run ocf:heartbeat:Dummy start -p state=/tmp/d.state
    """
    from hacore.agent.catalog import describe, resolve
    from hacore.agent.codes import OCF
    from hacore.agent.registry import NativeAgent
    from hacore.executor import OperationRequest, run_operation

    values = parse_params(params)
    handle = resolve(name, agent_class)
    if isinstance(handle, NativeAgent):
        default_instance = handle.cls.name
    else:
        problem = handle.check_params(values)
        if problem:
            raise InputError(f"agent {name}: {problem}")
        default_instance = handle.type
    if timeout is None:
        timeout = describe(handle).timeout(action) if action != "meta-data" else 10.0
    request = OperationRequest(name, action, instance or default_instance, values, timeout,
                               interval, int(depth), agent_class)
    result = run_operation(request, handle)
    ok = result.success or (action == "monitor" and expect_stopped and result.code == OCF.NOT_RUNNING)
    if as_json:
        print_json(dict(result.to_dict(), ok=ok, agent=name, instance=request.instance))
    else:
        if action == "meta-data" and result.stdout:
            click.echo(result.stdout, nl=False)
        reason = f": {result.reason}" if result.reason else ""
        click.echo(f"{action} {result.code.label} (OCF {int(result.code)}) in "
                   f"{result.duration * 1000:.1f} ms{reason}")
        for victim in result.killed:
            click.echo(f"  killed {victim}", err=True)
        if not ok and result.stderr.strip() and not result.reason:
            click.echo(result.stderr.rstrip()[-2000:], err=True)
    sys.exit(0 if ok else 1)
