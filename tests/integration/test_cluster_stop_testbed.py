"""`hacore cluster stop` on a 3-node namespace testbed with the ip + apache agents: every
service stops once where it ran (never on another node), then every daemon and supervisor
exits 0, nobody is fenced; started again, enabled services run and a disabled one stays
disabled. One module-scoped cluster; S1 checked all along. Run under flock /work/netns.lock.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from hacore.daemon.testbed import HacoreTestbed
from hacore.testing.pytest_fixtures import observed_hacore_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]

EXTRA = """
[resources.side-ip]
agent = "ip"
params = {{ address = "{side}/24" }}

[services.side]
tree = ["side-ip"]
depend = "web"

[resources.spare-ip]
agent = "ip"
params = {{ address = "{spare}/24" }}

[services.spare]
tree = ["spare-ip"]
"""


class ThreeServiceTestbed(HacoreTestbed):
    """web (VIP + Apache), side (an address; depends on web) and spare (an address)."""

    def write_config(self) -> None:
        super().write_config()
        self.side, self.spare = self.c.free_address(1), self.c.free_address(2)
        for node in self.c.nodes:
            path = Path(node.etc_dir) / "cluster.toml"
            path.write_text(path.read_text() + EXTRA.format(side=self.side, spare=self.spare))


@pytest.fixture(scope="module")
def hb():
    """The cluster with hacore running, observers on; S1 checked at the end."""
    yield from observed_hacore_testbed(3, ThreeServiceTestbed,
                                       more_s1_addresses=lambda c: [c.free_address(1),
                                                                    c.free_address(2)])


def _addresses(node) -> str:
    """``ip -o addr`` inside the node; empty when it cannot be read (a node going away)."""
    try:
        return node.run(["ip", "-o", "addr"], check=False, timeout=5).stdout or ""
    except Exception:  # noqa: BLE001 - a node changing under us
        return ""


class Holders:
    """Which nodes hold each watched address, sampled every 0.2 s in a thread."""

    def __init__(self, bed: HacoreTestbed, addresses: list[str]) -> None:
        self.bed, self.addresses = bed, addresses
        self.seen: dict[str, set[str]] = {a: set() for a in addresses}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            for node in self.bed.c.nodes:
                text = _addresses(node)
                for address in self.addresses:
                    if f" {address}/" in text:
                        self.seen[address].add(node.name)

    def stop(self) -> dict[str, set[str]]:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.seen


def _named_lines(bed: HacoreTestbed, pattern: str, last: int = 80) -> str:
    """The daemon log lines matching ``pattern``, each after its node's name, by time."""
    lines = []
    for name, path in bed.logs.items():
        try:
            text = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        lines += [(ln[:23], f"{name}: {ln}") for ln in text if re.search(pattern, ln)]
    return "\n".join(line for _, line in sorted(lines)[-last:])


def _service(bed, via, name):
    st = bed.status(via)
    return next(s for s in st["services"] if s["name"] == name) if st else None


def _started(bed, via, name) -> str | None:
    svc = _service(bed, via, name)
    return svc["owner"] if svc and svc["state"] == "started" else None


def test_cluster_stop_stops_each_service_where_it_runs_then_every_daemon(hb):
    """side stops before web (it depends on web), each only on its owner; the command
    exits 0 with progress on stderr; every daemon and supervisor exits 0; no fencing."""
    n1, n2 = hb.c.nodes[0], hb.c.nodes[1]
    hb.wait(lambda: all(m["state"] == "Online" for m in hb.status(n1)["members"])
            and _started(hb, n1, "web") and _started(hb, n1, "side")
            and _started(hb, n1, "spare"), 120, "three members, every service running")
    hb.hacore(n1, "service", "disable", "spare")
    hb.wait(lambda: _service(hb, n1, "spare")["state"] == "disabled", 60, "spare disabled")
    owners = {"web": _started(hb, n1, "web"), "side": _started(hb, n1, "side")}
    holders = Holders(hb, [hb.vip, hb.side, hb.spare])
    began = time.time()
    out = hb.hacore(n2, "cluster", "stop", "--timeout", "120", check=False, timeout=300)
    seen = holders.stop()
    assert out.returncode == 0, out.stderr + hb.tail_logs()
    assert "the cluster is stopped" in out.stdout and "daemons exited on" in out.stdout
    assert f"web: started on {owners['web']}" in out.stderr, out.stderr
    assert "web: stopped" in out.stderr and "side: stopped" in out.stderr, out.stderr
    for node in hb.c.nodes:
        assert hb.procs[node.name].wait(timeout=60) == 0, f"{node.name}'s supervisor"
        assert not hb.daemon_pids(node) and not hb.daemon_pids(node, "supervisor")
    assert seen[hb.vip] <= {owners["web"]}, seen
    assert seen[hb.side] <= {owners["side"]}, seen
    assert not seen[hb.spare], seen
    side_done = [t for t in hb.log_times(r"done: stop side on") if t >= began - 1]
    web_done = [t for t in hb.log_times(r"done: stop web on") if t >= began - 1]
    assert len(side_done) == 1 and len(web_done) == 1, (
        f"began {began:.3f}; side {side_done}; web {web_done}\n"
        + _named_lines(hb, r"(stop|start) (web|side)|coordinat|view|fenc"))
    assert side_done[0] <= web_done[0]
    assert not [t for t in hb.log_times(r"done: start ") if t >= began], "a start on the way"
    assert not hb.log_lines(r"\bfenc\w* (of )?n\d"), "a node was fenced"
    for node in hb.c.nodes:
        assert not node.find_pids(r"apache2"), f"apache still runs on {node.name}"


def test_the_next_start_runs_enabled_services_and_keeps_spare_disabled(hb):
    """The daemons started again: web and side run again, spare stays disabled (S5)."""
    n1 = hb.c.nodes[0]
    for node in hb.c.nodes:
        hb.start_daemon(node)
    hb.wait(lambda: _started(hb, n1, "web") and _started(hb, n1, "side"), 120,
            "web and side running again")
    assert hb.poller.wait_for_answer(timeout=30) is not None
    assert _service(hb, n1, "spare")["state"] == "disabled"
