"""Running membership test nodes inside testbed nodes, and checking what they printed.

``NodeProgram`` runs tests/membership/netns_node.py inside one testbed node and collects its
JSON lines; ``Run`` is one cluster of them (a config over some testbed nodes) with the
checks every test needs: agreement, bounded waits, and the one-coordinator rule over every
sample every node took (each sample carries the lease expiry on the shared boot clock).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PORT = 5416


def boot_clock() -> float:
    """The clock the nodes print (CLOCK_BOOTTIME is the same in every namespace)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class NodeProgram:
    """One membership node process inside a testbed node; its output collected."""

    def __init__(self, node: Any, spec: dict[str, Any]) -> None:
        self.node = node
        self.name = spec["name"]
        self.lines: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.proc = node.popen([sys.executable, "-m", "tests.membership.netns_node",
                                json.dumps(spec)],
                               env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self) -> None:
        for raw in self.proc.stdout:  # type: ignore[union-attr]
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                pass

    def _read_errors(self) -> None:
        for raw in self.proc.stderr:  # type: ignore[union-attr]
            self.errors.append(raw.rstrip())

    def samples(self, since: float = float("-inf")) -> list[dict[str, Any]]:
        return [x for x in list(self.lines) if "L" in x and x["t"] >= since]

    def events(self, since: float = float("-inf"), kind: str | None = None) -> list[dict[str, Any]]:
        return [x for x in list(self.lines) if "ev" in x and x["t"] >= since
                and (kind is None or x["ev"] == kind)]

    def last(self) -> dict[str, Any]:
        for x in reversed(list(self.lines)):
            if "L" in x:
                return x
        return {}

    def incarnation(self) -> int:
        return next(x["started"] for x in list(self.lines) if "started" in x)

    def drops(self) -> dict[str, int]:
        for x in reversed(list(self.lines)):
            if "d" in x:
                return x["d"]
        return {}

    def host_pid(self) -> int:
        """Host PID of the python process itself (not the nsenter that started it)."""
        pids = self.node.find_pids(r"tests\.membership\.netns_node")
        mine = [p for p in pids if f'"name": "{self.name}"' in _cmdline(p)
                or f'"name":"{self.name}"' in _cmdline(p)]
        assert len(mine) == 1, f"{self.name}: found {pids}"
        return mine[0]

    def kill(self) -> None:
        if self.node.up:
            for pid in self.node.find_pids(r"tests\.membership\.netns_node"):
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Run:
    """One membership cluster over the first ``count`` testbed nodes (or the given ones)."""

    def __init__(self, cluster: Any, count: int, *, two_links: bool = False,
                 two_node: bool = False) -> None:
        self.cluster = cluster
        self.tb_nodes = cluster.nodes[:count]
        self.addresses = [[n.address] + ([cluster.second_address(n)] if two_links else [])
                          for n in self.tb_nodes]
        self.two_node = two_node
        self.programs: dict[str, NodeProgram] = {}
        self.all_programs: list[NodeProgram] = []

    def start(self, name: str) -> NodeProgram:
        spec = {"name": name, "addresses": self.addresses, "two_node": self.two_node,
                "port": PORT}
        program = NodeProgram(self.cluster.node(name), spec)
        self.programs[name] = program
        self.all_programs.append(program)
        return program

    def start_all(self) -> None:
        for node in self.tb_nodes:
            self.start(node.name)

    def stop(self) -> None:
        for program in self.all_programs:
            program.kill()

    def __getitem__(self, name: str) -> NodeProgram:
        return self.programs[name]

    # -- waiting --------------------------------------------------------------------------
    def wait(self, what: Any, timeout: float, names: list[str] | None = None) -> float:
        """Wait until ``what()`` holds; return when (boot clock) or raise with every view."""
        for _ in range(int(timeout / 0.02) + 1):
            if what():
                return boot_clock()
            time.sleep(0.02)
        names = names or list(self.programs)
        raise TimeoutError(f"not within {timeout} s: " + self.describe(names))

    def describe(self, names: list[str]) -> str:
        out = []
        for n in names:
            p = self.programs[n]
            x = p.last()
            out.append(f"{n}: members={x.get('m')} q={x.get('q')} c={x.get('c')} e={x.get('e')}"
                       f" L={x.get('L')} errors={p.errors[-3:]}")
        return "; ".join(out)

    def agreed(self, names: list[str], coordinator: str | None = None,
               members: list[str] | None = None) -> bool:
        """Every node in ``names`` samples one quorate view (same epoch, same coordinator)
        made of exactly ``members`` (default ``names``)."""
        want = sorted(members or names)
        lasts = [self.programs[n].last() for n in names]
        first = lasts[0]
        return all(x.get("q") and sorted(x.get("m", [])) == want and x.get("e") == first.get("e")
                   and x.get("c") is not None and x.get("c") == first.get("c")
                   and (coordinator is None or x.get("c") == coordinator) for x in lasts)

    def not_quorate(self, names: list[str]) -> bool:
        return all(not self.programs[n].last().get("q", True)
                   and not self.programs[n].last().get("L", True) for n in names)

    # -- checks -----------------------------------------------------------------------------
    def check_one_coordinator(self) -> int:
        """No sample of any node shows it coordinating with a lease while another node's
        earlier sample still held an unexpired coordinator lease. Returns the samples seen."""
        held = []
        for program in self.all_programs:
            for x in program.samples():
                if x["L"]:
                    held.append((x["t"], x["x"], program.name, id(program)))
        held.sort()
        expiry: dict[int, tuple[float, str]] = {}
        for t, x, name, who in held:
            for other, (until, other_name) in expiry.items():
                assert other == who or until <= t, (
                    f"two coordinators with a lease: {other_name} until {until:.3f} and "
                    f"{name} at {t:.3f}")
            expiry[who] = (max(x, expiry.get(who, (x, name))[0]), name)
        return len(held)
