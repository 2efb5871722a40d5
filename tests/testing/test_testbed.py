"""The testbed's own behaviour on a real 3-node namespace cluster (one cluster per module)."""

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hacore.testing import LeakError, leak_check
from hacore.testing.netns import call_in_netns
from hacore.testing.pytest_fixtures import cluster_fixture, restore

pytestmark = pytest.mark.netns
testbed_cluster = cluster_fixture(nodes=3)


@pytest.fixture
def c(testbed_cluster):
    """The shared cluster, restored to health after each test."""
    yield testbed_cluster
    restore(testbed_cluster)


def state(pid):
    """The one-letter state of a process (R, S, T, Z...)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def reachability(c, timeout=0.5):
    """{(src, dst): answered} for every ordered pair of nodes and the client, pinged at once."""
    ends = [*c.nodes, c.client]
    pairs = [(a, b) for a in ends for b in ends if a is not b]
    with ThreadPoolExecutor(len(pairs)) as pool:
        answers = list(pool.map(lambda p: p[0].ping(p[1].address, timeout), pairs))
    return {(a.name, b.name): ok for (a, b), ok in zip(pairs, answers)}


def udp_arrives(src, dst, timeout=0.5):
    """True when a UDP datagram sent from src reaches dst (one direction only)."""
    receiver = call_in_netns(dst.netns_path, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    with receiver:
        receiver.bind((dst.address, 0))
        receiver.settimeout(timeout)
        port = receiver.getsockname()[1]
        sender = call_in_netns(src.netns_path, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        with sender:
            for _ in range(3):
                sender.sendto(b"hello", (dst.address, port))
        try:
            return receiver.recv(64) == b"hello"
        except TimeoutError:
            return False


def test_nodes_have_own_hostname_dirs_and_addresses(c):
    """Each node has its hostname, its own /run (host-visible by path) and its address on eth0."""
    for node in c.nodes:
        out = node.run(["sh", "-c", "hostname; ip -o addr show dev eth0; echo hi > /run/hacore/mark"]).stdout
        assert out.splitlines()[0] == node.name
        assert f"{node.address}/24" in out and node.address6 in out
        assert (node.run_dir / "hacore" / "mark").read_text() == "hi\n"
        assert node.socket_path.parent == node.run_dir / "hacore"
    for node in c.nodes:
        assert node.run(["ls", "/run/hacore"]).stdout.split() == ["mark"]
        (node.run_dir / "hacore" / "mark").unlink()


def test_crash_kills_every_process_of_the_node(c):
    """A crash kills every process of the node, even a daemon that left its session."""
    n2 = c.nodes[1]
    sleeper = n2.popen(["sleep", "1000"])
    n2.run(["sh", "-c", "setsid sh -c 'sleep 1001 & sleep 1002' >/dev/null 2>&1 < /dev/null &"])
    assert wait_until(lambda: len(n2.find_pids(r"^sleep 100[012]$")) == 3)
    victims = n2.pids()
    c.crash(n2)
    assert not n2.up
    assert sleeper.wait(timeout=10) != 0
    assert all(not os.path.exists(f"/proc/{pid}") or state(pid) == "Z" for pid in victims)
    assert not os.path.exists(n2.netns_path)


def test_reboot_leaves_no_address_mount_or_run_file_but_keeps_disk(c):
    """After a reboot the node has no extra address, mount or /run file; /var/lib/hacore stays."""
    n1 = c.nodes[0]
    extra = c.free_address(1)
    n1.run(["sh", "-c", (f"ip addr add {extra}/24 dev eth0 && mkdir -p /run/x && "
                         "mount -t tmpfs none /run/x && echo kept > /var/lib/hacore/disk && "
                         "echo gone > /run/file")])
    assert any(target == "/run/x" for _, target, _ in n1.mounts())
    boots = n1.boots
    c.reboot(n1)
    assert n1.up and n1.boots == boots + 1
    assert extra not in n1.run(["ip", "-o", "addr"]).stdout
    assert not any(target == "/run/x" for _, target, _ in n1.mounts())
    assert (n1.state_dir / "disk").read_text() == "kept\n"
    assert not (n1.run_dir / "file").exists()
    assert n1.ping(c.nodes[1].address, 2.0)


def test_shutdown_terminates_processes_before_power_off(c):
    """A clean shutdown sends SIGTERM first: a trap handler gets to write its file."""
    n3 = c.nodes[2]
    n3.popen(["sh", "-c", ("trap 'echo bye > /var/lib/hacore/term; exit 0' TERM; "
                           "echo up > /var/lib/hacore/started; while :; do sleep 0.05; done")])
    assert wait_until(lambda: (n3.state_dir / "started").exists())
    c.shutdown(n3)
    assert not n3.up
    assert (n3.state_dir / "term").read_text() == "bye\n"


def test_partition_blocks_exactly_the_named_pairs(c):
    """partition([[n1], [n2, n3]]) cuts n1 from n2 and n3, both ways, and nothing else."""
    n1, n2, n3 = c.nodes
    assert all(reachability(c).values())
    c.partition([[n1], [n2, n3]])
    got = reachability(c)
    cut = {("n1", "n2"), ("n2", "n1"), ("n1", "n3"), ("n3", "n1")}
    assert {pair for pair, ok in got.items() if not ok} == cut
    c.heal()
    assert all(reachability(c).values())


def test_oneway_partition_drops_one_direction_only(c):
    """partition_oneway(n1, n2): n1's datagrams to n2 are lost, n2's to n1 arrive."""
    n1, n2, _ = c.nodes
    assert udp_arrives(n1, n2)
    c.partition_oneway(n1, n2)
    assert not udp_arrives(n1, n2)
    assert udp_arrives(n2, n1)


def test_cut_is_not_transitive(c):
    """cut(n1, n3) breaks n1-n3 while n2 still reaches both."""
    n1, _, n3 = c.nodes
    c.cut(n1, n3)
    got = reachability(c)
    assert {pair for pair, ok in got.items() if not ok} == {("n1", "n3"), ("n3", "n1")}
    assert got[("n2", "n1")] and got[("n2", "n3")]


def round_trip(src, address, timeout=5.0):
    """Seconds one ICMP echo took, or None when it was not answered."""
    started = time.monotonic()
    return time.monotonic() - started if src.ping(address, timeout) else None


def test_netem_loss_silences_a_node_and_zero_restores_it(c):
    """loss=100 drops every frame the node sends; netem(node) restores its link."""
    n1, n2 = c.nodes[:2]
    c.netem(n1, loss=100)
    assert not n1.ping(n2.address, 0.5)
    assert not n2.ping(n1.address, 0.5)
    c.netem(n1)
    assert n1.ping(n2.address, 2.0)


def test_netem_delay_holds_what_the_node_sends_even_across_a_reboot(c):
    """delay=0.5 makes every round trip through the node last at least 0.5 s, until removed."""
    n1, n2 = c.nodes[:2]
    assert n2.ping(n1.address, 2.0)
    c.netem(n1, delay=0.5)
    assert round_trip(n2, n1.address) >= 0.5
    c.reboot(n1)
    assert n1.ping(n2.address, 5.0)  # fills n1's ARP cache through the slow wire
    assert round_trip(n2, n1.address) >= 0.5
    c.netem(n1)
    assert round_trip(n2, n1.address) < 0.5


def test_link_down_pulls_the_cable(c):
    """link_down cuts the node off; link_up restores it."""
    n1, n2, _ = c.nodes
    c.link_down(n2)
    assert not n1.ping(n2.address, 0.5)
    c.link_up(n2)
    assert wait_until(lambda: n1.ping(n2.address, 0.5))


def test_freeze_stops_and_thaw_resumes_the_node(c):
    """A frozen node's processes make no progress until it is thawed."""
    n1 = c.nodes[0]
    n1.popen(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done"])
    count = n1.tmp_dir / "count"
    assert wait_until(lambda: count.exists() and count.read_text().strip() not in ("", "1"))
    c.freeze(n1)
    frozen_at = count.read_text()
    time.sleep(0.5)
    assert count.read_text() == frozen_at
    c.thaw(n1)
    assert wait_until(lambda: count.read_text() != frozen_at)


def test_pause_stops_one_process(c):
    """pause(pid) stops only that process (state T); resume lets it run."""
    n1 = c.nodes[0]
    n1.popen(["sleep", "999"])
    assert wait_until(lambda: n1.find_pids(r"^sleep 999$"))
    pid = n1.find_pids(r"^sleep 999$")[0]
    c.pause(pid)
    assert wait_until(lambda: state(pid) == "T")
    c.resume(pid)
    assert wait_until(lambda: state(pid) == "S")


def test_pyroute2_runs_inside_a_node_network_namespace(c):
    """pyroute2 made and used inside node.in_netns() sees only the node's links and address."""
    from pyroute2 import IPRoute

    n2 = c.nodes[1]
    with n2.in_netns():
        with IPRoute() as ipr:
            addrs = {m.get("IFA_ADDRESS") for m in ipr.get_addr()}
            names = {m.get("IFLA_IFNAME") for m in ipr.get_links()}
        assert {n for _, n in socket.if_nameindex()} == {"lo", "eth0"}
    assert n2.address in addrs and c.nodes[0].address not in addrs
    assert names == {"lo", "eth0"}
    assert {n for _, n in socket.if_nameindex()} != {"lo", "eth0"}


def fence(c, node_from, **opts):
    text = "".join(f"{k}={v}\n" for k, v in opts.items()) + f"testbed_socket={c.control_socket}\n"
    argv = [sys.executable, "-m", "hacore.testing.fence_testbed"]
    if node_from is None:
        return subprocess.run(argv, input=text, capture_output=True, text=True, timeout=60, check=False)
    return node_from.run(argv, input=text, check=False, timeout=60)


def test_fence_device_off_status_on_from_inside_a_node(c):
    """Run from n1, the fence device crashes n3 for real, reports it off, then boots it."""
    n1, _, n3 = c.nodes
    n3.popen(["sleep", "777"])
    assert wait_until(lambda: n3.find_pids(r"^sleep 777$"))
    assert fence(c, n1, action="status", plug="n3").returncode == 0
    off = fence(c, n1, action="off", plug="n3")
    assert off.returncode == 0, off.stderr
    assert not n3.up and not n1.ping(n3.address, 0.3)
    status = fence(c, n1, action="status", port="n3")
    assert (status.returncode, status.stdout.strip()) == (2, "Status: OFF")
    assert fence(c, None, action="on", nodename="n3").returncode == 0
    assert n3.up and not n3.find_pids(r"^sleep 777$")
    assert fence(c, None, action="status", plug="n3").returncode == 0
    listed = fence(c, n1, action="list")
    assert listed.returncode == 0 and listed.stdout.split() == ["n1,n1", "n2,n2", "n3,n3"]
    assert fence(c, n1, action="monitor").returncode == 0
    assert fence(c, n1, action="status", plug="n9").returncode == 1


def test_fence_reboot_makes_the_node_anew(c):
    """reboot through the fence device ends with the node up on a new PID 1."""
    n2 = c.nodes[1]
    old = n2.pid1
    assert fence(c, None, action="reboot", plug="n2").returncode == 0
    assert n2.up and n2.pid1 != old


def test_s1_checker_catches_a_duplicated_address_and_process(c):
    """The S1 checker records the moments two nodes hold one address, or run one program."""
    n1, n2, n3 = c.nodes
    shared = c.free_address(7)
    with c.s1_checker(processes=[r"^sleep 4242$"]) as s1:
        time.sleep(0.3)
        assert s1.violations == []
        n1.run(["ip", "addr", "add", f"{shared}/24", "dev", "eth0"])
        n2.run(["ip", "addr", "add", f"{shared}/24", "dev", "eth0"])
        assert wait_until(lambda: any(v.item == shared for v in s1.violations))
        n1.popen(["sleep", "4242"])
        n3.popen(["sleep", "4242"])
        assert wait_until(lambda: any(v.kind == "process" for v in s1.violations))
    for node in (n1, n2):
        node.run(["ip", "addr", "del", f"{shared}/24", "dev", "eth0"])
    address = [v for v in s1.violations if v.kind == "address"]
    assert address and all(v.nodes == ("n1", "n2") for v in address)
    assert next(v.nodes for v in s1.violations if v.kind == "process") == ("n1", "n3")
    assert s1.samples >= 3


def test_s1_checker_catches_one_file_system_mounted_twice(c):
    """Two nodes mounting the watched file system at once is a violation naming both."""
    _, n2, n3 = c.nodes
    with c.s1_checker(addresses=[], mounts=["s1disk"]) as s1:
        for node in (n2, n3):
            node.run(["sh", "-c", "mkdir -p /run/s1 && mount -t tmpfs s1disk /run/s1"])
        assert wait_until(lambda: any(v.kind == "mount" for v in s1.violations))
        n3.run(["umount", "/run/s1"])
        time.sleep(0.3)
        count = len(s1.violations)
        time.sleep(0.3)
        assert len(s1.violations) == count
    assert {v.nodes for v in s1.violations} == {("n2", "n3")}


def test_s1_checker_ignores_an_address_on_a_node_whose_link_is_down(c):
    """An address held behind a pulled cable is not active, so it is no violation."""
    n1, n2, _ = c.nodes
    shared = c.free_address(8)
    for node in (n1, n2):
        node.run(["ip", "addr", "add", f"{shared}/24", "dev", "eth0"])
    c.link_down(n2)
    time.sleep(0.3)  # the carrier change reaches n2's eth0
    with c.s1_checker(addresses=[shared]) as s1:
        assert wait_until(lambda: s1.samples >= 5)
    assert s1.violations == []
    for node in (n1, n2):
        node.run(["ip", "addr", "del", f"{shared}/24", "dev", "eth0"])


def test_http_poller_times_an_outage_and_names_the_answering_node(c):
    """The poller sees answers from n1, failures while n1 is down, and answers again after boot."""
    n1 = c.nodes[0]
    server = ("import http.server,socket\n"
              "class H(http.server.BaseHTTPRequestHandler):\n"
              "  def do_GET(self):\n"
              "    self.send_response(200); self.send_header('X-Hacore-Node', socket.gethostname())\n"
              "    self.end_headers(); self.wfile.write(b'ok')\n"
              "  def log_message(self, *a): pass\n"
              f"http.server.ThreadingHTTPServer(('{n1.address}', 8080), H).serve_forever()\n")
    n1.popen([sys.executable, "-c", server])
    url = f"http://{n1.address}:8080/"
    with c.http_poller(url) as poller:
        assert poller.wait_for_answer("n1", timeout=20)
        crashed_at = time.monotonic()
        c.crash(n1)
        time.sleep(0.5)
        c.boot(n1)
        n1.popen([sys.executable, "-c", server])
        back = poller.wait_for_answer("n1", timeout=20)
    assert back is not None
    down = [s for s in poller.samples if crashed_at + 0.05 < s.sent < crashed_at + 0.4]
    assert down and not any(s.ok for s in down)
    assert all(s.elapsed < 1.0 for s in poller.samples)


def test_leak_check_catches_a_leaked_namespace(c):
    """A network namespace made inside the check and not removed fails it, by name."""
    name = f"{c.prefix}-leak"
    try:
        with pytest.raises(LeakError, match=name), leak_check(settle=0.2):
            subprocess.run(["ip", "netns", "add", name], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
    with leak_check(settle=0.2):
        pass
