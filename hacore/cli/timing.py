"""`hacore timing`: each service's failover budget from the configuration, and warnings when
timeouts contradict each other."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hacore.cli.render import handled, print_json

if TYPE_CHECKING:
    from hacore.policy.budget import TimingReport

#: fence agent parameters whose sum is what one call of the agent may itself take
AGENT_TIME_PARAMS = ("login_timeout", "power_timeout", "power_wait")


def fence_agent_time(agent: str, options: dict[str, str]) -> float | None:
    """What one call of a fence agent may take by its own meta-data defaults (overridden by
    the device's options): login + power timeout + power wait; None when unknown."""
    from hacore.errors import HacoreError
    from hacore.fencing.catalog import fence_device_parameters

    try:
        params = {p.name: p.default for p in fence_device_parameters(agent)}
    except HacoreError:
        return None
    total, found = 0.0, False
    for name in AGENT_TIME_PARAMS:
        raw = options.get(name, params.get(name))
        if name in params or name in options:
            try:
                total += float(raw) if raw is not None else 0.0
                found = True
            except ValueError:
                continue
    return total if found else None


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def render_report(report: TimingReport) -> list[str]:
    """The text form of a TimingReport."""
    m = report.membership
    heading = (f"Cluster {report.cluster}: a silent node is lost after {m.node_loss_timeout:g} s "
               f"(heartbeats every {m.interval:g} s, leases of {m.lease:g} s)")
    lines = [heading, ""]
    for b in report.budgets:
        lines.append(f"{b.service}  (may run on {', '.join(b.candidates) or 'no node'})")
        for s in b.scenarios:
            if not s.phases:
                lines.append(f"  {s.name + ':':<17} {s.note}")
                continue
            lines.append(f"  {s.name + ':':<17} best {_secs(s.best):>8}   worst {_secs(s.worst):>8}")
            for p in s.phases:
                span = _secs(p.best) if p.best == p.worst else f"{_secs(p.best)} .. {_secs(p.worst)}"
                lines.append(f"    {p.name:<26} {span:<16} {p.detail}")
        lines.append("")
    if report.warnings:
        lines.append(f"Warnings ({len(report.warnings)}):")
        lines.extend(f"  {w}" for w in report.warnings)
    else:
        lines.append("No contradicting timeouts found.")
    return lines


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default="/etc/hacore/cluster.toml", show_default=True,
              type=click.Path(dir_okay=False), help="The cluster configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print the budgets and warnings as JSON.")
@handled
def timing(config_path: str, as_json: bool) -> None:
    """Show how long the failover of each service may take, and check the timeouts.

    For each service: after its node is lost (detection + fencing or the self-stop wait +
    start) and after one of its resources fails (monitor + stop + start), best and worst
    case, worked out from the configured timeouts. Warnings name timeouts that contradict
    each other. Exit 0 even with warnings; 2 when the configuration is invalid.

    Example: hacore timing --config /etc/hacore/cluster.toml
    """
    from hacore.config import load_config
    from hacore.policy.budget import failover_budgets

    config = load_config(config_path)
    report = failover_budgets(config, fence_agent_time=fence_agent_time)
    probe = config.timing.probe_interval
    if as_json:
        print_json({**report.to_dict(), "probe_interval": probe})
        return
    lines = render_report(report)
    lines.insert(1, f"Each node probes the services it does not run every {probe:g} s for a "
                    "copy started by hand (S1; [timing] probe_interval)")
    for line in lines:
        click.echo(line)
