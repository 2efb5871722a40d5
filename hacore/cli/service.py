"""`hacore service VERB NAME`: the administrator's requests (like clusvcadm).

Each verb is acknowledged by the daemon once a quorum of nodes holds it, then the command
waits for the outcome (progress on stderr) and prints it; exit 1 with the reason when the
cluster cannot do it.
"""

from __future__ import annotations

import time
from typing import Any

import click

from hacore.cli.maintenance import service_maintenance
from hacore.cli.render import handled
from hacore.cli.status import socket_option
from hacore.errors import OperationFailed

POLL = 0.2


def _service(client: Any, name: str, version: int = 0) -> dict[str, Any] | None:
    """The service's status entry, or None while this node's state is older than
    ``version`` (the state version that acknowledged the request)."""
    st = client.call("status")
    if st.get("state_version", 0) < version:
        return None
    return next(s for s in st["services"] if s["name"] == name)


def outcome(op: str, svc: dict[str, Any], before: dict[str, Any], to: str | None) -> str | None:
    """The sentence when ``op`` is done, or None while it is not (yet)."""
    name, state, owner = svc["name"], svc["state"], svc["owner"]
    settled = svc["intent"] is None and state not in ("starting", "stopping", "recovering")
    if op == "disable" and state == "disabled":
        return f"service {name} is disabled"
    if op in ("enable", "restart", "relocate") and state == "started" and settled:
        if to is not None and owner != to:
            raise OperationFailed(f"service {name} runs on {owner}, not on {to}: "
                                  f"{svc['reason'] or 'the policy placed it there'}")
        if op == "relocate" and to is None and owner == before["owner"]:
            raise OperationFailed(f"service {name} could not move and runs on {owner} again")
        return f"service {name} is now running on {owner}"
    if op in ("enable", "restart", "relocate") and settled and state in ("stopped", "failed",
                                                                        "disabled"):
        raise OperationFailed(f"service {name} is {state}: {svc['reason'] or 'see hacore status'}")
    return None


def _run(op: str, name: str, to: str | None, socket_path: str | None, wait: bool,
         timeout: float) -> None:
    from hacore.api.client import ApiClient

    client = ApiClient(socket_path, timeout=max(timeout, 70.0))
    before = (_service(client, name) or {}) if op in ("relocate",) else {}
    ack = client.call("service", op=op, service=name, node=to)
    version = int(ack.get("version") or 0)
    if op in ("freeze", "unfreeze"):
        click.echo(f"service {name} is {'frozen' if op == 'freeze' else 'unfrozen'}")
        return
    if not wait:
        click.echo(f"request to {op} {name} acknowledged")
        return
    deadline = time.monotonic() + timeout
    last = None
    while True:
        svc = _service(client, name, version)
        if svc is None:
            if time.monotonic() > deadline:
                raise OperationFailed(f"this node has not received the cluster state holding "
                                      f"the request after {timeout:g} s")
            time.sleep(POLL)
            continue
        done = outcome(op, svc, before, to)
        if done:
            click.echo(done)
            return
        now_state = (svc["state"], svc["owner"])
        if now_state != last:
            last = now_state
            where = f" on {svc['owner']}" if svc["owner"] else ""
            click.echo(f"{name}: {svc['state']}{where}...", err=True)
        if time.monotonic() > deadline:
            raise OperationFailed(f"service {name} is still {svc['state']} after {timeout:g} s: "
                                  f"{svc['reason'] or 'see hacore status'}")
        time.sleep(POLL)


def _verb(op: str, summary: str, with_target: bool) -> click.Command:
    @click.argument("name")
    @socket_option
    @click.option("--wait/--no-wait", default=True, show_default=True,
                  help="Wait for the outcome and print it.")
    @click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait.")
    @handled
    def command(name: str, socket_path: str | None, wait: bool, timeout: float,
                to: str | None = None) -> None:
        _run(op, name, to, socket_path, wait, timeout)

    if with_target:
        command = click.option("--to", default=None, metavar="NODE",
                               help="The node to run it on.")(command)
    example = f"hacore service {op} web" + (" --to n2" if with_target else "")
    command.__doc__ = f"{summary}\n\nExample: {example}"
    return click.command(name=op)(command)


@click.group()
def service() -> None:
    """Enable, disable, restart, relocate, freeze, unfreeze a service, or maintenance on|off.

    Example: hacore service relocate web --to n2
    """


for _op, _summary, _target in (
        ("enable", "Start a service (on NODE if given) and keep it running.", True),
        ("disable", "Stop a service and keep it stopped on every node.", False),
        ("restart", "Restart a service where it runs.", False),
        ("relocate", "Move a running service to another node (NODE if given).", True),
        ("freeze", "Stop checking and moving a service (it keeps running).", False),
        ("unfreeze", "Check and move a frozen service again.", False)):
    service.add_command(_verb(_op, _summary, _target))

service.add_command(service_maintenance)
