"""`hacore demo`: a 3-node cluster on this machine (network namespaces) running web = a
virtual IP + Apache, with the testbed's fence device; removed on Ctrl-C or `--stop`.

The demo process owns the testbed (its fence device is served by it), so it stays in the
foreground. It writes a state file naming what it built (its PID, the namespaces, the
sockets); `hacore demo --stop` sends that PID SIGTERM, waits, and removes what a killed
demo left. A node rebooted by the fence device gets its daemon started again, as an init
system would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import click

from hacore.cli.render import handled
from hacore.errors import InputError, OperationFailed
from hacore.files import write_atomically

DEFAULT_STATE = "/run/hacore-demo.json"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 90.0


class _Stop(BaseException):
    """SIGTERM (``hacore demo --stop``): leave the main loop and tear down."""


def state_path() -> Path:
    """$HACORE_DEMO_STATE, else /run/hacore-demo.json."""
    return Path(os.environ.get("HACORE_DEMO_STATE") or DEFAULT_STATE)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a demo state file ({exc}); remove it by hand") from None
    return data if isinstance(data, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def _instructions(st: dict[str, Any]) -> str:
    socks = st["sockets"]
    first = next(iter(socks.values()))
    lines = [
        (f"hacore demo is running: cluster of {', '.join(socks)} serving web = "
         f"{st['vip']} + Apache."), "",
        "Watch it:",
        f"  hacore status --socket {first}",
        "  hacore events --follow " + " ".join(f"--socket {s}" for s in socks.values()),
        f"  hacore why web --socket {first}", "",
        "Ask the web service from the client machine:",
        f"  ip netns exec {st['client_netns']} curl -s {st['url']}", "",
        "Crash the node that runs web (it is fenced, web moves, the node reboots):",
        "  hacore demo --crash NODE        (NODE: see the Owner column of hacore status)", "",
        "Stop the demo and remove everything: Ctrl-C here, or hacore demo --stop",
    ]
    return "\n".join(lines)


def run_demo(path: Path) -> None:
    """Build the cluster, print how to use it, keep it until Ctrl-C or SIGTERM."""
    from hacore.daemon.testbed import HacoreTestbed
    from hacore.testing import Cluster, missing_prerequisites

    old = read_state(path)
    if old is not None and _alive(int(old.get("pid", 0))):
        raise InputError(f"a demo already runs (pid {old['pid']}, state {path}); stop it with "
                         "`hacore demo --stop`")
    why = missing_prerequisites()
    if why:
        raise OperationFailed(f"cannot build the demo: {why}")
    click.echo("building a 3-node cluster in network namespaces ...")
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with Cluster(nodes=3) as c:
            signal.signal(signal.SIGTERM, _raise_stop)
            bed = HacoreTestbed(c, node_loss_timeout=2.0)
            try:
                bed.start()
                st = {"pid": os.getpid(), "prefix": c.prefix, "base": str(c.base),
                      "netns": [n.netns for n in c.nodes] + [c.switch_netns,
                                                             c.client.netns],
                      "client_netns": c.client.netns, "vip": bed.vip,
                      "url": f"http://{bed.vip}/", "control_socket": str(c.control_socket),
                      "sockets": {n.name: str(n.socket_path) for n in c.nodes},
                      "ready": False}
                write_atomically(path, json.dumps(st), 0o600)
                _wait_started(bed)
                st["ready"] = True
                write_atomically(path, json.dumps(st), 0o600)
                click.echo(_instructions(st), nl=True)
                _keep(bed)
            finally:
                click.echo("stopping the demo ...")
                bed.stop()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        mine = read_state(path) if path.exists() else None
        if mine is not None and mine.get("pid") == os.getpid():
            path.unlink(missing_ok=True)
    click.echo("the demo is removed")


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


def _wait_started(bed: Any) -> None:
    first = bed.c.nodes[0]
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        web = _quiet(lambda: bed.web(first))
        if web and web["state"] == "started":
            return
        time.sleep(0.5)
    raise OperationFailed(f"web did not start within {START_TIMEOUT:g} s; the daemons' "
                          "last lines:\n" + bed.tail_logs(10))


def _keep(bed: Any) -> None:
    """Until stopped: start the daemon of a node the fence device booted again."""
    started: dict[str, float] = {}
    while True:
        time.sleep(1.0)
        for node in bed.c.nodes:
            with bed.c.lock:
                if not node.up or time.monotonic() - started.get(node.name, 0.0) < 10.0:
                    continue
                if not bed.daemon_pids(node, "supervisor"):
                    old = bed.procs.get(node.name)
                    if old is not None:
                        old.poll()
                    bed.start_daemon(node)
                    started[node.name] = time.monotonic()
                    click.echo(f"{node.name} booted again: its hacore daemon is started")


def _quiet(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a daemon that is not up yet answers nothing
        return None


def stop_demo(path: Path) -> None:
    """SIGTERM the demo named in the state file, wait, and remove what is left."""
    from hacore.testing import remove_stale_testbeds

    st = read_state(path)
    if st is None:
        raise OperationFailed(f"no demo state file at {path}: no demo runs (or it was "
                              "started with another HACORE_DEMO_STATE)")
    pid = int(st.get("pid", 0))
    if pid > 0 and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10.0
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
    removed = remove_stale_testbeds()  # what a killed demo left (its PID is gone)
    path.unlink(missing_ok=True)
    left = [n for n in st.get("netns", []) if Path("/run/netns", n).exists()]
    if left:
        raise OperationFailed(f"the demo's namespaces {', '.join(left)} are still there; "
                              "remove them with `ip netns del NAME`")
    click.echo("the demo is stopped and removed" + (
        f" (cleaned up {len(removed)} leftovers)" if removed else ""))


def crash_node(path: Path, node: str) -> None:
    """Power the demo's node off through the testbed's power switch (a crash)."""
    st = read_state(path)
    if st is None or not _alive(int(st.get("pid", 0))):
        raise OperationFailed(f"no demo runs (state file {path})")
    if node not in st["sockets"]:
        raise InputError(f"no node {node!r} in the demo (nodes: {', '.join(st['sockets'])})")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(st["control_socket"])
        sock.sendall(json.dumps({"op": "off", "node": node}).encode() + b"\n")
        reply = json.loads(sock.makefile().readline() or "{}")
    if not reply.get("ok"):
        raise OperationFailed(f"could not crash {node}: {reply.get('error')}")
    click.echo(f"{node} crashed (powered off); watch `hacore events --follow` and "
               "`hacore status`")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--stop", is_flag=True, help="Stop a running demo and remove everything.")
@click.option("--crash", metavar="NODE", help="Crash a node of the running demo.")
@handled
def demo(stop: bool, crash: str | None) -> None:
    """Run a 3-node hacore cluster on this machine (as root, in network namespaces), with a
    virtual IP and Apache as the service `web` and a fence device; print how to watch it,
    ask it and crash a node. Ctrl-C or `hacore demo --stop` removes everything.

    The state file is /run/hacore-demo.json ($HACORE_DEMO_STATE).

    \b
    Example: hacore demo
    Example: hacore demo --crash n1
    Example: hacore demo --stop
    """
    if stop and crash:
        raise InputError("give --stop or --crash, not both")
    path = state_path()
    if stop:
        stop_demo(path)
    elif crash:
        crash_node(path, crash)
    else:
        run_demo(path)
