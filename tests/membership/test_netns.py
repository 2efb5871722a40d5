"""Membership on the testbed: nodes in namespaces behind a switch with two links, at 3 and 5
nodes, default timing (T = 1 s). Every test checks the one-coordinator rule over every
sample every node took (20 ms apart), and waits with bounds of ten times the expected time.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hacore.membership import wire
from hacore.testing import netns as netns_tools
from hacore.testing.pytest_fixtures import cluster_fixture, restore

from .netns_harness import PORT, Run, boot_clock
from .netns_node import KEY

pytestmark = [pytest.mark.netns, pytest.mark.slow]
testbed_cluster = cluster_fixture(nodes=5)
T = 1.0  # the default node_loss_timeout
SIZES = [3, 5]


@pytest.fixture(scope="module")
def bed(testbed_cluster: Any) -> Any:
    testbed_cluster.add_second_link()
    return testbed_cluster


@pytest.fixture
def make_run(bed: Any) -> Iterator[Any]:
    runs: list[Run] = []

    def make(count: int, **kw: Any) -> Run:
        run = Run(bed, count, **kw)
        runs.append(run)
        return run

    yield make
    try:
        for run in runs:
            run.check_one_coordinator()
    finally:
        for run in runs:
            run.stop()
        restore(bed)


def formed(make_run: Any, count: int, **kw: Any) -> Run:
    run = make_run(count, **kw)
    run.start_all()
    names = list(run.programs)
    run.wait(lambda: run.agreed(names, "n1"), 10 * 3 * T)
    return run


def names(count: int) -> list[str]:
    return [f"n{i}" for i in range(1, count + 1)]


@pytest.mark.parametrize("count", SIZES)
def test_join(make_run: Any, count: int) -> None:
    """Started together, all nodes agree on one quorate view coordinated by n1; each one's
    view event comes before its quorum-gained event, and the view becomes agreed."""
    run = formed(make_run, count)
    run.wait(lambda: all(run[n].last().get("agreed") for n in names(count)), 10 * T)
    for n in names(count):
        kinds = [e["ev"] for e in run[n].events()]
        assert "quorum-gained" in kinds, kinds
        assert kinds.index("view") < kinds.index("quorum-gained"), kinds
    assert len({run[n].last()["e"] for n in names(count)}) == 1
    assert run.check_one_coordinator() > 0


@pytest.mark.parametrize("count", SIZES)
def test_crash_of_the_coordinator(make_run: Any, count: int) -> None:
    """n1 (the coordinator) crashes (cable pulled, processes killed): every survivor reports
    it left after the crash, and the survivors agree on a view coordinated by n2 with a
    higher epoch; none of them ever reports a quorum figure that contradicts quorate."""
    run = formed(make_run, count)
    epoch = run["n2"].last()["e"]
    crashed_at = boot_clock()
    run.cluster.crash("n1")
    survivors = names(count)[1:]
    run.wait(lambda: run.agreed(survivors, "n2"), 10 * 2 * T, survivors)
    for n in survivors:
        left = [e for e in run[n].events(crashed_at) if "n1" in e["left"]]
        assert left, f"{n} never reported n1 gone"
        assert run[n].last()["e"] > epoch
        for e in run[n].events(crashed_at, "quorum-lost"):
            total, needed = e["qf"]
            assert total < needed or "no coordinator" in e["detail"], e["detail"]


@pytest.mark.parametrize("count", SIZES)
def test_restart_with_a_new_incarnation(make_run: Any, count: int) -> None:
    """A member's process is killed and started again: it rejoins with a larger
    incarnation, which every node's view carries, under a new epoch."""
    run = formed(make_run, count)
    last = names(count)[-1]
    first = run[last].incarnation()
    epoch = run["n1"].last()["e"]
    run[last].kill()
    again = run.start(last)
    run.wait(lambda: "started" in str(again.lines[:1]), 10 * T)
    new = again.incarnation()
    assert new > first
    run.wait(lambda: run.agreed(names(count), "n1") and run["n1"].last()["e"] > epoch, 10 * 2 * T)
    seen = [e for e in run["n1"].events() if e.get("inc", {}).get(last) == new]
    assert seen, "n1 never carried the new incarnation in a view"


def test_partition_2_3(make_run: Any) -> None:
    """5 nodes split {n1,n2} | {n3,n4,n5} with the coordinator on the 2 side: the 2 side
    loses quorum and its lease, the 3 side agrees on n3 as coordinator; healed, all five
    agree again."""
    run = formed(make_run, 5)
    run.cluster.partition([["n1", "n2"], ["n3", "n4", "n5"]])
    run.wait(lambda: run.not_quorate(["n1", "n2"]), 10 * T, ["n1", "n2"])
    run.wait(lambda: run.agreed(["n3", "n4", "n5"], "n3"), 10 * 2 * T, ["n3", "n4", "n5"])
    for n in ("n1", "n2"):
        assert run[n].events(kind="quorum-lost")
    run.cluster.heal()
    run.wait(lambda: run.agreed(names(5)), 10 * 2 * T)


def test_partition_1_2(make_run: Any) -> None:
    """3 nodes, the coordinator n1 cut off alone: it loses quorum and its lease, n2 and n3
    agree on n2; after healing all three agree."""
    run = formed(make_run, 3)
    run.cluster.partition([["n1"], ["n2", "n3"]])
    run.wait(lambda: run.not_quorate(["n1"]), 10 * T, ["n1"])
    run.wait(lambda: run.agreed(["n2", "n3"], "n2"), 10 * 2 * T, ["n2", "n3"])
    run.cluster.heal()
    run.wait(lambda: run.agreed(names(3)), 10 * 2 * T)


@pytest.mark.parametrize("count", SIZES)
def test_one_way_link_loss(make_run: Any, count: int) -> None:
    """The last node's packets to n1 are lost (n1's still reach it): not heard both ways,
    it is no member; the others agree without it and it is not quorate; healed, it rejoins."""
    run = formed(make_run, count)
    last = names(count)[-1]
    run.cluster.partition_oneway(last, "n1")
    rest = names(count)[:-1]
    run.wait(lambda: run.agreed(rest, "n1"), 10 * 2 * T, rest)
    run.wait(lambda: not run[last].last().get("q"), 10 * 2 * T, [last])
    run.cluster.heal()
    run.wait(lambda: run.agreed(names(count), "n1"), 10 * 2 * T)


@pytest.mark.parametrize("count", SIZES)
def test_non_transitive_cut(make_run: Any, count: int) -> None:
    """n1–n2 cut while every other pair still talks: never two coordinators with a lease
    (every sample of every node); the view settles with n1 coordinating everyone but n2,
    and n2 not quorate; the view stays put for 3 T."""
    run = formed(make_run, count)
    run.cluster.cut("n1", "n2")
    rest = [n for n in names(count) if n != "n2"]
    run.wait(lambda: run.agreed(rest, "n1"), 10 * 2 * T, rest)
    run.wait(lambda: not run["n2"].last().get("q"), 10 * 2 * T, ["n2"])
    epoch = run["n1"].last()["e"]
    time.sleep(3 * T)
    assert run.agreed(rest, "n1") and run["n1"].last()["e"] == epoch
    run.check_one_coordinator()
    run.cluster.heal()
    run.wait(lambda: run.agreed(names(count), "n1"), 10 * 2 * T)


@pytest.mark.parametrize("count", SIZES)
def test_loss_of_one_of_two_links(make_run: Any, count: int) -> None:
    """n2's second cable pulled: no view change anywhere (same epoch, no join or leave),
    the other nodes report link-down for n2; plugged back, link-up."""
    run = formed(make_run, count, two_links=True)
    run.wait(lambda: all(run[n].last().get("agreed") for n in names(count)), 10 * T)
    epoch = run["n1"].last()["e"]
    since = boot_clock()
    run.cluster.link_down("n2", link=1)
    run.wait(lambda: run["n1"].events(since, "link-down"), 10 * T, ["n1"])
    time.sleep(2 * T)
    run.cluster.link_up("n2", link=1)
    run.wait(lambda: run["n1"].events(since, "link-up"), 10 * T, ["n1"])
    for n in names(count):
        for e in run[n].events(since):
            assert e["ev"] not in ("quorum-lost", "quorum-gained"), e
            assert not e["left"] and not e["joined"], e
        assert run[n].last()["e"] == epoch
    assert all(e["node"] == "n2" for e in run["n1"].events(since, "link-down"))


@pytest.mark.parametrize("count", SIZES)
def test_20_percent_loss_does_not_flap(make_run: Any, count: int) -> None:
    """20 % of every node's packets lost (one link) for 10 s: nobody joins or leaves,
    quorum is never lost and the epoch stays the same."""
    run = formed(make_run, count)
    epoch = run["n1"].last()["e"]
    since = boot_clock()
    for n in names(count):
        run.cluster.netem(n, loss=20)
    time.sleep(10)
    for n in names(count):
        run.cluster.netem(n)
    for n in names(count):
        bad = [e for e in run[n].events(since) if e["left"] or e["joined"]
               or e["ev"] == "quorum-lost"]
        assert not bad, bad
        assert all(x["q"] and x["e"] == epoch for x in run[n].samples(since))


@pytest.mark.parametrize("count", SIZES)
def test_sigstop_for_three_timeouts(make_run: Any, count: int) -> None:
    """The coordinator's process is stopped for 3 T: the others agree on n2; woken, n1's
    first sample holds no lease and is not quorate, its first event is a stall, it
    declares nobody lost, and it rejoins under n2."""
    run = formed(make_run, count)
    pid = run["n1"].host_pid()
    run.cluster.pause(pid)
    stopped_at = boot_clock()
    try:
        run.wait(lambda: run.agreed(names(count)[1:], "n2"), 10 * 2 * T, names(count)[1:])
        time.sleep(max(0.0, stopped_at + 3 * T - boot_clock()))
    finally:
        run.cluster.resume(pid)
    woke = stopped_at + 3 * T
    run.wait(lambda: run.agreed(names(count), "n2"), 10 * 2 * T)
    after = run["n1"].samples(woke)
    assert after and not after[0]["L"] and not after[0]["q"], after[:1]
    events = run["n1"].events(woke)
    assert events and events[0]["ev"] == "stall", events[:2]
    assert not [e for e in events if e["left"]], events


def capture(cluster: Any, port: str, timeout: float = 10.0) -> bytes:
    """The UDP payload of one real membership packet the switch forwards to ``port``."""
    with netns_tools.in_netns(f"/run/netns/{cluster.switch_netns}"):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    try:
        sock.bind((port, 0))
        sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame, address = sock.recvfrom(65535)
            if address[2] != socket.PACKET_OUTGOING:  # only frames the switch sends to port
                continue
            if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
                continue
            ihl = (frame[14] & 0x0F) * 4
            udp = frame[14 + ihl:]
            if int.from_bytes(udp[2:4], "big") == PORT:
                return bytes(udp[8:])
    finally:
        sock.close()
    raise TimeoutError(f"no membership packet seen on switch port {port}")


@pytest.mark.parametrize("count", SIZES)
def test_hostile_packets_from_another_namespace(make_run: Any, count: int) -> None:
    """Garbage, a bad MAC, another cluster's packet, an unknown sender, and a real packet
    captured on the switch and replayed, sent from the client namespace to every node: all
    dropped and counted, no event and no change of view."""
    run = formed(make_run, count)
    epoch = run["n1"].last()["e"]
    inc = run["n2"].incarnation()
    mac_key, tag = wire.mac_key(KEY, "netns-test"), wire.cluster_tag("netns-test")
    hb = wire.heartbeat_body(wire.Heartbeat(0, 0, False, False, 0, epoch, True))
    captured = {node.name: capture(run.cluster, node.name) for node in run.tb_nodes}
    since = boot_clock()
    with run.cluster.client.in_netns():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i, node in enumerate(run.tb_nodes, 1):
            packets = {
                "garbage": b"\x00garbage" * 10,
                "bad mac": wire.encode(wire.Packet(wire.WIRE_VERSION, wire.KIND_HEARTBEAT,
                                                   2, i, inc, 10**9, hb), b"x" * 32, tag),
                "other cluster": wire.encode(wire.Packet(wire.WIRE_VERSION, wire.KIND_HEARTBEAT,
                                                         2, i, inc, 10**9, hb),
                                             wire.mac_key(KEY, "other"), wire.cluster_tag("other")),
                "unknown": wire.encode(wire.Packet(wire.WIRE_VERSION, wire.KIND_HEARTBEAT,
                                                   77, i, inc, 1, hb), mac_key, tag),
                "replay": captured[node.name],
            }
            for data in packets.values():
                for _ in range(5):
                    sock.sendto(data, (node.address, PORT))
    finally:
        sock.close()

    def counted() -> bool:
        return all(sum(run[n].drops().values()) >= 25 for n in names(count))

    try:
        run.wait(counted, 10 * T)
    except TimeoutError:
        raise AssertionError({n: run[n].drops() for n in names(count)}) from None
    for n in names(count):
        drops = run[n].drops()
        assert {"malformed", "mac", "cluster", "unknown"} <= set(drops), drops
        assert drops.get("replayed", 0) >= 5, drops
        assert not [e for e in run[n].events(since) if e["ev"] != "view" or e["left"]
                    or e["joined"]]
        assert run[n].last()["e"] == epoch


def test_two_node(make_run: Any) -> None:
    """two_node: n1 and n2 form a cluster; n2 crashes and n1 stays quorate and coordinates
    (quorum 1); booted and restarted, n2 rejoins."""
    run = formed(make_run, 2, two_node=True)
    run.cluster.crash("n2")
    run.wait(lambda: run.agreed(["n1"], "n1"), 10 * 2 * T, ["n1"])
    assert not run["n1"].events(kind="quorum-lost")
    run.cluster.boot("n2")
    run.start("n2")
    run.wait(lambda: run.agreed(["n1", "n2"], "n1"), 10 * 3 * T)


def test_heartbeats_keep_each_peers_neighbour_entry_reachable(bed: Any, make_run: Any) -> None:
    """While a peer answers, heartbeats to it confirm the kernel's neighbour entry
    (MSG_CONFIRM). With entries fresh for 0.5 s after a confirmation and a stale one probed
    1 s after use (not 30 s and 5 s), n1's entries for its peers end REACHABLE and stay so
    for 2 s on end; unconfirmed, they would go stale, wait and be re-probed by ARP every
    1.5 s or so (probes that heavy loss can lose, holding heartbeats for a second)."""
    n1 = bed.node("n1")
    settings = {"base_reachable_time_ms": "500", "delay_first_probe_time": "1"}
    devices = [d for d in n1.run(["ls", "/proc/sys/net/ipv4/neigh"], timeout=10).stdout.split()
               if d not in ("default", "lo")]
    keys = [f"net.ipv4.neigh.{d}.{name}" for d in devices for name in settings]
    before = {k: n1.run(["sysctl", "-n", k], timeout=10).stdout.strip() for k in keys}
    try:
        for k in keys:
            n1.run(["sysctl", "-q", "-w", f"{k}={settings[k.rsplit('.', 1)[1]]}"], timeout=10)
        run = make_run(3)
        run.start_all()
        run.wait(lambda: run.agreed(["n1", "n2", "n3"], "n1"), 10 * 3 * T)
        peers = {a[0] for a in run.addresses[1:]}
        states: list[dict[str, str]] = []
        for _ in range(60):  # 6 s, then the last 2 s on end are judged
            time.sleep(0.1)
            shown = json.loads(n1.run(["ip", "-j", "neigh", "show"], timeout=10).stdout or "[]")
            states.append({e["dst"]: "/".join(e.get("state", [])) for e in shown
                           if e.get("dst") in peers})
        last = states[-20:]
        assert all(set(s) == peers and set(s.values()) == {"REACHABLE"} for s in last), states
    finally:
        for k, value in before.items():
            n1.run(["sysctl", "-q", "-w", f"{k}={value}"], timeout=10, check=False)
