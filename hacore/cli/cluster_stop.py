"""`hacore cluster stop`: stop every service in order, then every daemon (a subcommand of
`hacore cluster`, hacore/cli/cluster.py; the work is hacore.daemon.cluster_stop's)."""

from __future__ import annotations

import threading
import time
from typing import Any

import click

from hacore.cli.render import handled, print_json
from hacore.cli.status import socket_option

POLL = 0.2

Seen = dict[str, tuple[str, Any]]


def _states(socket_path: str | None) -> Seen:
    """service -> (state, owner) now; empty when the daemon does not answer."""
    from hacore.api.client import ApiClient
    from hacore.errors import HacoreError

    try:
        services = ApiClient(socket_path, timeout=5.0).call("status")["services"]
        return {s["name"]: (s["state"], s["owner"]) for s in services}
    except (HacoreError, KeyError, TypeError):
        return {}


def _show(name: str, state: str, owner: str | None) -> None:
    click.echo(f"{name}: {state}" + (f" on {owner}" if owner else ""), err=True)


def _progress(socket_path: str | None, seen: Seen, done: threading.Event) -> None:
    """Print each service's state change on stderr until ``done`` (best effort: the
    daemons are going away, so an unanswered poll is skipped)."""
    while not done.wait(POLL):
        for name, now in _states(socket_path).items():
            if seen.get(name) != now:
                _show(name, *now)
                seen[name] = now


@click.command("stop")
@socket_option
@click.option("--timeout", default=600.0, show_default=True, metavar="SECONDS",
              help="How long to wait for every service to stop.")
@click.option("--cancel", is_flag=True,
              help="End a cluster stop that failed or timed out: services run again as "
                   "the configuration says.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handled
def stop(socket_path: str | None, timeout: float, cancel: bool, as_json: bool) -> None:
    """Stop every service where it runs (reverse start order, nothing moves), then every
    daemon.

    Needs quorum. Nothing is started anywhere meanwhile, not even on a node that joins.
    Once each owner confirmed its stops, every daemon tells the cluster it leaves (no node
    is fenced) and exits 0 (its supervisor exits too and is not restarted); the daemon
    asked answers, then exits last. Admin intents stay: at the next cluster start enabled
    services start again and disabled ones stay disabled. A stop that fails marks the
    service failed; the command names it and its node, exits 1, and the daemons stay up.
    Progress goes to stderr.

    Example: hacore cluster stop --timeout 300
    """
    from hacore.api.client import ApiClient
    from hacore.errors import InputError

    if timeout <= 0:
        raise InputError(f"--timeout must be seconds > 0, got {timeout:g}")
    client = ApiClient(socket_path, timeout=timeout + 90.0)
    if cancel:
        client.call("cluster_stop", cancel=True, timeout=timeout)
        click.echo("the cluster stop is cancelled: services run as the configuration says")
        return
    click.echo("stopping every service, then every daemon", err=True)
    seen = _states(socket_path)
    for name, (state, owner) in seen.items():
        if state != "stopped" and state != "disabled":
            _show(name, state, owner)
    done = threading.Event()
    watcher = threading.Thread(target=_progress, args=(socket_path, seen, done), daemon=True)
    watcher.start()
    began = time.monotonic()
    try:
        reply: dict[str, Any] = client.call("cluster_stop", timeout=timeout)
    finally:
        done.set()
        watcher.join(timeout=10)
    stopped = reply.get("stopped") or []
    for name in stopped:  # a stop quicker than the polls: its outcome, said once
        if seen.get(name, ("",))[0] != "stopped":
            _show(name, "stopped", None)
    if as_json:
        print_json(reply)
        return
    click.echo(f"the cluster is stopped ({time.monotonic() - began:.1f} s): "
               f"{'stopped ' + ', '.join(stopped) if stopped else 'no service was running'}; "
               f"daemons exited on {', '.join(reply.get('exited') or [])}")
