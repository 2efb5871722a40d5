"""The testbed's power switch: a unix socket served by the Cluster, used by the fence device.

Protocol: one JSON object per connection, one line each way.
Request ``{"op": "status"|"off"|"on"|"reboot"|"list"|"monitor", "node": "n1"}``;
reply ``{"ok": true, "state": "on"|"off", "nodes": [...]}`` or ``{"ok": false, "error": ".."}``.
The socket lives in the per-run directory under /var/tmp, which every node shares with the
host, so a fence agent run inside a node reaches it at the same path.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hacore.testing.cluster import Cluster

_log = logging.getLogger(__name__)


def answer(cluster: Cluster, request: dict[str, Any]) -> dict[str, Any]:
    """Carry out one power request on the cluster and say what the node's state is now."""
    op = request.get("op")
    if op == "monitor":
        return {"ok": True}
    if op == "list":
        return {"ok": True, "nodes": [n.name for n in cluster.nodes]}
    try:
        node = cluster.node(str(request.get("node", "")))
    except KeyError as exc:
        return {"ok": False, "error": str(exc.args[0])}
    if op == "off":
        cluster.crash(node)
    elif op == "on":
        with cluster.lock:
            if not node.up:
                cluster.boot(node)
    elif op == "reboot":
        with cluster.lock:
            cluster.crash(node)
            try:
                cluster.boot(node)
            except Exception:  # noqa: BLE001 - reboot succeeds when the off part did
                _log.exception("testbed: power on of %s after reboot failed", node.name)
    elif op != "status":
        return {"ok": False, "error": f"unknown op '{op}' (valid: status off on reboot list monitor)"}
    return {"ok": True, "state": "on" if node.up else "off"}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        try:
            request = json.loads(self.rfile.readline(65536) or b"{}")
            reply = answer(self.server.cluster, request)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the fence agent
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        try:
            self.wfile.write((json.dumps(reply) + "\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the asker is gone: it powered off its own node (a self-fence)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class ControlServer:
    """Serves power requests for one cluster on a unix socket, from a background thread."""

    def __init__(self, cluster: Cluster, path: Path) -> None:
        self.path = path
        self._server = _Server(str(path), _Handler)
        self._server.cluster = cluster  # type: ignore[attr-defined]
        os.chmod(path, 0o600)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name="hacore-testbed-control", daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
