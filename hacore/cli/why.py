"""`hacore why SERVICE`: where a service runs and why, or why it does not run."""

from __future__ import annotations

from typing import Any

import click

from hacore.cli.render import handled, print_json
from hacore.cli.status import socket_option


def render_why(answer: dict[str, Any]) -> str:
    """The reason, then one line per node: eligible or not, and why."""
    lines = [answer["reason"]]
    if answer.get("blocking") and answer["blocking"] not in answer["reason"]:
        lines.append(f"blocked: {answer['blocking']}")
    lines += ["", "Candidates:"]
    width = max((len(c["node"]) for c in answer["candidates"]), default=0)
    for cand in answer["candidates"]:
        mark = "eligible  " if cand["eligible"] else "ineligible"
        lines.append(f"  {cand['node']:<{width}}  {mark}  {cand['why']}")
    lines.append("")
    lines.append(f"(answered by {answer.get('answered_by')}, coordinator "
                 f"{answer.get('coordinator') or 'none: no quorum'})")
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("service")
@click.option("--json", "as_json", is_flag=True,
              help="Print the answer as JSON: service, state, owner, running, reason, "
                   "blocking, candidates [{node, eligible, why}].")
@socket_option
@handled
def why(service: str, as_json: bool, socket_path: str | None) -> None:
    """Say where SERVICE runs and why, or why it does not run: the reason that blocks it
    (disabled, frozen, no quorum, waiting for a fence, a failed stop, no eligible node) and,
    for every node, whether it could take the service now and why not.

    Exit code 0 when it runs, 1 when it does not.

    \b
    Example: hacore why web
    Example: hacore why web --json --socket /run/hacore/hacore.sock
    """
    from hacore.api.client import ApiClient

    answer = ApiClient(socket_path).call("why", service=service)
    if as_json:
        print_json(answer)
    else:
        click.echo(render_why(answer))
    if not answer.get("running"):
        raise SystemExit(1)
