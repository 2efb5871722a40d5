"""`hacore service maintenance on|off NAME` and `hacore cluster maintenance on|off`.

In maintenance hacore neither starts nor stops a service (or any service, for the whole
cluster); monitors keep running and what they find shows in `hacore status` and `hacore
why`. Leaving maintenance re-probes the service on every member, then the policy acts on
what really runs. Each command waits until this node's state holds the change (and, for
`off`, until the services have settled), then prints one line; exit 1 when it cannot.
"""

from __future__ import annotations

import time
from typing import Any

import click

from hacore.cli.render import handled, print_json
from hacore.cli.status import socket_option
from hacore.errors import OperationFailed

POLL = 0.2
BUSY = ("starting", "stopping", "recovering")

_wait_options = [
    click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
    click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait."),
]


def _settled(svc: dict[str, Any]) -> bool:
    return (not svc.get("unmanaged") and svc["intent"] is None
            and svc["state"] not in BUSY)


def _wait(client: Any, version: int, done: Any, timeout: float, what: str) -> dict[str, Any]:
    """Poll ``status`` until ``done(status)`` (this node's state at least ``version``)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        st = client.call("status")
        if st.get("state_version", 0) >= version and done(st):
            return st  # type: ignore[no-any-return]
        busy = sorted(f"{s['name']}: {s['state']}" for s in st["services"]
                      if s["state"] in BUSY or (s.get("unmanaged") and not s.get("maintenance")
                                                and not st.get("maintenance")))
        if busy and busy != last:
            last = busy
            click.echo(", ".join(busy) + "...", err=True)
        if time.monotonic() > deadline:
            raise OperationFailed(f"{what} did not settle within {timeout:g} s; see "
                                  "`hacore status`")
        time.sleep(POLL)


def _entry(st: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in st["services"] if s["name"] == name)  # type: ignore[no-any-return]


def _service_line(svc: dict[str, Any], on: bool) -> str:
    name = svc["name"]
    if on:
        return f"service {name} is in maintenance: hacore will neither start nor stop it"
    where = f" on {svc['owner']}" if svc["owner"] else ""
    tail = f" ({svc['reason']})" if svc["state"] != "started" and svc["reason"] else ""
    return f"service {name} is out of maintenance: {svc['state']}{where}{tail}"


@click.command(name="maintenance")
@click.argument("switch", type=click.Choice(["on", "off"]))
@click.argument("name")
@socket_option
@_wait_options[0]
@_wait_options[1]
@handled
def service_maintenance(switch: str, name: str, socket_path: str | None, as_json: bool,
                        timeout: float) -> None:
    """Put a service in maintenance (on) or take it out (off).

    In maintenance hacore neither starts, stops, restarts nor moves it; its monitors keep
    running and `hacore status` shows what they find. Off: every node probes it first,
    then hacore acts on what really runs (a second copy started by hand is stopped).

    Example: hacore service maintenance on web
    """
    from hacore.api.client import ApiClient

    on = switch == "on"
    client = ApiClient(socket_path, timeout=max(timeout, 70.0))
    ack = client.call("service", op=f"maintenance-{switch}", service=name, node=None)
    version = int(ack.get("version") or 0)

    def done(st: dict[str, Any]) -> bool:
        svc = _entry(st, name)
        return bool(svc.get("maintenance")) if on else (
            not svc.get("maintenance") and (st.get("maintenance") or _settled(svc)))

    svc = _entry(_wait(client, version, done, timeout, f"service {name}"), name)
    if as_json:
        print_json({"service": name, "maintenance": on, "version": version, "state": svc["state"],
                    "owner": svc["owner"], "reason": svc["reason"]})
    else:
        click.echo(_service_line(svc, on))


@click.command(name="maintenance")
@click.argument("switch", type=click.Choice(["on", "off"]))
@socket_option
@_wait_options[0]
@_wait_options[1]
@handled
def cluster_maintenance(switch: str, socket_path: str | None, as_json: bool,
                        timeout: float) -> None:
    """Put the whole cluster in maintenance (on) or take it out (off).

    In maintenance hacore starts and stops nothing; monitors keep reporting. A daemon
    stopped cleanly (systemctl stop hacore) leaves its services running and is not fenced;
    restarted, it adopts them: the way to upgrade hacore without touching services. Off:
    every service is probed on every node, then managed again.

    Example: hacore cluster maintenance on
    """
    from hacore.api.client import ApiClient

    on = switch == "on"
    client = ApiClient(socket_path, timeout=max(timeout, 70.0))
    ack = client.call("cluster_maintenance", on=on)
    version = int(ack.get("version") or 0)

    def done(st: dict[str, Any]) -> bool:
        if on:
            return bool(st.get("maintenance"))
        return not st.get("maintenance") and all(
            s.get("maintenance") or _settled(s) for s in st["services"])

    st = _wait(client, version, done, timeout, "the cluster")
    if as_json:
        print_json({"maintenance": on, "version": version,
                    "services": [{k: s[k] for k in ("name", "state", "owner", "maintenance")}
                                 for s in st["services"]]})
    elif on:
        click.echo("the cluster is in maintenance: hacore will neither start nor stop any "
                   "service (monitors keep reporting)")
    else:
        running = [s["name"] for s in st["services"] if s["state"] == "started"]
        click.echo("the cluster is out of maintenance: "
                   + (f"{', '.join(running)} running" if running else "no service running"))
