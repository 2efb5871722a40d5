"""The testbed's power switch socket, with a stand-in cluster (no namespaces)."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from hacore.testing.control import ControlServer


class FakeCluster:
    """Just what the switch touches: nodes by name, a lock, crash/boot."""

    def __init__(self) -> None:
        self.nodes = [SimpleNamespace(name="n1", up=True)]
        self.lock = threading.Lock()
        self.crashed = threading.Event()

    def node(self, name: str) -> SimpleNamespace:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node {name}")

    def crash(self, node: SimpleNamespace) -> None:
        time.sleep(0.2)  # the asker (a fence agent on that node) dies meanwhile
        node.up = False
        self.crashed.set()


def ask(path: Path, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall((json.dumps(request) + "\n").encode())
        return json.loads(s.makefile().readline())


def test_a_self_fence_whose_asker_vanished_leaves_no_traceback(tmp_path, capfd) -> None:
    """The node powered off its own fence agent: the reply has nowhere to go, quietly."""
    cluster = FakeCluster()
    server = ControlServer(cluster, tmp_path / "power.sock")  # type: ignore[arg-type]
    server.start()
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(tmp_path / "power.sock"))
            s.sendall(b'{"op": "off", "node": "n1"}\n')
        assert cluster.crashed.wait(10)
        assert ask(tmp_path / "power.sock", {"op": "status", "node": "n1"}) == {
            "ok": True, "state": "off"}
    finally:
        server.stop()
    assert "Traceback" not in capfd.readouterr().err


def test_unknown_node_and_op_are_answered_with_an_error(tmp_path) -> None:
    """Bad requests get ok false with a reason that names what was wrong."""
    server = ControlServer(FakeCluster(), tmp_path / "power.sock")  # type: ignore[arg-type]
    server.start()
    try:
        assert "n9" in ask(tmp_path / "power.sock", {"op": "off", "node": "n9"})["error"]
        reply = ask(tmp_path / "power.sock", {"op": "dance", "node": "n1"})
        assert reply["ok"] is False and "valid: status off on" in reply["error"]
    finally:
        server.stop()
