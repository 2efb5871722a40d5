"""A cluster of namespace nodes on one machine, with faults: the hacore testbed.

Example::

    from hacore.testing import Cluster

    with Cluster(nodes=3) as c:
        n1, n2, n3 = c.nodes
        n1.run(["ip", "-br", "addr"])
        c.partition([[n1], [n2, n3]])
        assert not n1.ping(n2.address)
        c.heal()
        c.crash(n2)        # link pulled, every process of n2 killed
        c.boot(n2)         # fresh namespaces; /etc/hacore and /var/lib/hacore kept
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

from hacore.errors import OperationFailed
from hacore.testing import netns as netns_tools
from hacore.testing.cgroups import NodeCgroup, cgroup2_root
from hacore.testing.control import ControlServer
from hacore.testing.delay import DelayWire
from hacore.testing.network_faults import NetworkFaults
from hacore.testing.node import Node
from hacore.testing.switch import SwitchRules

_log = logging.getLogger(__name__)
_COUNTER = itertools.count(1)
_LIVE: set[Cluster] = set()
_PREVIOUS_SIGTERM: Any = None
NodeRef = Node | str


def _close_live_clusters() -> None:
    for cluster in list(_LIVE):
        try:
            cluster.close()
        except Exception:  # noqa: BLE001 - best effort at exit; the leak check reports leftovers
            _log.exception("testbed %s: cleanup at exit failed", cluster.prefix)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _close_live_clusters()
    previous = _PREVIOUS_SIGTERM
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        raise SystemExit(128 + signum)


def _install_cleanup_hooks() -> None:
    global _PREVIOUS_SIGTERM
    if _PREVIOUS_SIGTERM is not None or threading.current_thread() is not threading.main_thread():
        return
    atexit.register(_close_live_clusters)
    _PREVIOUS_SIGTERM = signal.signal(signal.SIGTERM, _on_sigterm)


def missing_prerequisites() -> str | None:
    """Why a testbed cannot be built here (not root, a tool missing), or None when it can."""
    if os.geteuid() != 0:
        return "the testbed needs root (network namespaces, mounts, cgroups)"
    for tool in ("ip", "nsenter", "nft"):
        if shutil.which(tool) is None:
            return f"the testbed needs the '{tool}' command"
    try:
        cgroup2_root()
    except OperationFailed as exc:
        return str(exc)
    if subprocess.run(["ip", "netns", "list"], capture_output=True, check=False).returncode != 0:
        return "'ip netns' does not work here"
    return None


_STALE = re.compile(r"^(?:hacore-testbed-)?tb(\d+)x\d+[-]?")


def _owner_gone(name: str) -> bool:
    match = _STALE.match(name)
    return bool(match) and not os.path.exists(f"/proc/{match.group(1)}")


def remove_stale_testbeds(base_parent: str = "/var/tmp") -> list[str]:
    """Remove what testbeds of dead processes left (their process got SIGKILL).

    Their nodes are already dead (PID 1 exits when the testbed's process does); left are
    namespace names, empty cgroups and directories, recognised by the default prefix
    ``tb<pid>x<n>`` of a PID that no longer exists. Kills nothing. Returns what it removed.
    """
    removed: list[str] = []
    names = [n for n in (os.listdir("/run/netns") if os.path.isdir("/run/netns") else []) if _owner_gone(n)]
    netns_tools.ip_batch([f"netns del {n}" for n in names], check=False)
    removed += names
    for group in cgroup2_root().glob("hacore-testbed-tb*"):
        if _owner_gone(group.name):
            for child in [p for p in group.iterdir() if p.is_dir()] + [group]:
                try:
                    child.rmdir()
                    removed.append(str(child))
                except OSError:
                    _log.warning("stale testbed cgroup %s still has processes; left alone", child)
    for directory in Path(base_parent).glob("hacore-testbed-tb*"):
        if _owner_gone(directory.name):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(str(directory))
    return removed


class Client:
    """The client namespace: a machine on the same switch that plays the users."""

    def __init__(self, netns: str, address: str) -> None:
        self.name = "client"
        self.netns = netns
        self.address = address
        self.netns_path = f"/run/netns/{netns}"

    def run(self, argv: Sequence[str], check: bool = True, timeout: float = 60.0,
            **kw: Any) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the client's network namespace and wait (output captured as text)."""
        kw.setdefault("capture_output", "stdout" not in kw and "stderr" not in kw)
        kw.setdefault("text", True)
        argv = ["nsenter", f"--net={self.netns_path}", "--", *argv]
        return subprocess.run(argv, check=check, timeout=timeout, **kw)

    def ping(self, address: str, timeout: float = 1.0) -> bool:
        """One ICMP echo from the client; True when answered within ``timeout``."""
        return netns_tools.ping(self.netns_path, address, timeout)

    def in_netns(self) -> Any:
        """Context manager: the calling thread runs in the client's network namespace."""
        return netns_tools.in_netns(self.netns_path)


class Cluster(NetworkFaults):
    """N nodes, a switch and a client namespace; a context manager that always cleans up.

    ``nodes``: how many nodes (n1..nN). ``prefix``: namespace name prefix (default
    ``tb<pid>x<n>``, unique per process and cluster, which lets ``remove_stale_testbeds``
    recognise leftovers of a killed run). ``base_dir``: where the per-run directory is made (default
    /var/tmp; it must not be under /tmp, /run, /etc/hacore or /var/lib/hacore, which nodes
    replace with their own).
    """

    def __init__(self, nodes: int = 3, prefix: str | None = None, base_dir: str | None = None) -> None:
        if not 1 <= nodes <= 99:
            raise ValueError(f"nodes={nodes}: a testbed has 1 to 99 nodes")
        serial = next(_COUNTER)
        self.prefix = prefix or f"tb{os.getpid()}x{serial}"
        octet = self._octet = (os.getpid() * 7 + serial * 37) % 200 + 30
        self.subnet = f"10.77.{octet}.0/24"
        self.subnet6 = f"fd77:0:0:{octet:x}::/64"
        self._net = f"10.77.{octet}."
        self._net6 = f"fd77:0:0:{octet:x}::"
        self.switch_netns = f"{self.prefix}-sw"
        self.client = Client(f"{self.prefix}-client", self._net + "250")
        self._size = nodes
        self._base_parent = base_dir or os.environ.get("HACORE_TESTBED_DIR", "/var/tmp")
        self.base: Path | None = None
        self.nodes: list[Node] = []
        self.rules = SwitchRules()
        self.lock = threading.RLock()
        self._watch: tuple[int, int] | None = None
        self._control: ControlServer | None = None
        self._cgroup_parent: Path | None = None
        self._delays: dict[str, float] = {}
        self._wires: dict[str, DelayWire] = {}

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def node(self, ref: NodeRef) -> Node:
        """The node named ``ref`` (or ``ref`` itself when it is a Node)."""
        if isinstance(ref, Node):
            return ref
        for node in self.nodes:
            if node.name == ref:
                return node
        raise KeyError(f"no node '{ref}' in this testbed (nodes: {', '.join(n.name for n in self.nodes)})")

    def free_address(self, k: int = 0) -> str:
        """An unused IPv4 address in the cluster subnet for floating addresses (k in 0..99)."""
        return self._net + str(100 + k)

    @property
    def control_socket(self) -> Path:
        """The fence device's control socket (same path on the host and inside every node)."""
        assert self.base is not None
        return self.base / "control.sock"

    def start(self) -> None:
        """Build the switch, the client and every node. Cleans up and raises on failure."""
        why = missing_prerequisites()
        if why:
            raise OperationFailed(f"cannot build a testbed: {why}")
        _install_cleanup_hooks()
        remove_stale_testbeds(self._base_parent)
        _LIVE.add(self)
        try:
            self.base = Path(tempfile.mkdtemp(prefix=f"hacore-testbed-{self.prefix}-", dir=self._base_parent))
            self._cgroup_parent = cgroup2_root() / f"hacore-testbed-{self.prefix}"
            self._watch = os.pipe()
            octet = self._octet
            for i in range(1, self._size + 1):
                self.nodes.append(Node(
                    f"n{i}", f"{self.prefix}-n{i}", self._net + str(i), self._net6 + str(i), 24,
                    self.base, NodeCgroup(self._cgroup_parent / f"n{i}"),
                ))
                self.nodes[-1].mac = f"02:77:{octet:02x}:00:00:{i:02x}"
            netns_tools.ip_batch([f"netns add {self.switch_netns}", f"netns add {self.client.netns}"])
            sw = [
                "link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0",
                "link set br0 up",
                f"link add client type veth peer name eth0 netns {self.client.netns}",
                "link set client master br0 up",
            ]
            netns_tools.ip_batch(sw, self.switch_netns)
            netns_tools.ip_batch([
                f"addr add {self.client.address}/24 dev eth0",
                f"addr add {self._net6}250/64 dev eth0 nodad",
                "link set eth0 up", "link set lo up",
            ], self.client.netns)
            self._boot_many(self.nodes)
            self._control = ControlServer(self, self.control_socket)
            self._control.start()
        except BaseException:
            self.close()
            raise

    def _boot_many(self, nodes: Sequence[Node]) -> None:
        assert self._watch is not None
        for node in nodes:
            node.spawn(self._watch[0])
        for node in nodes:
            node.pid1 = int(node.expect("pid"))
        netns_tools.ip_batch([f"netns attach {n.netns} {n.pid1}" for n in nodes])
        sw = []
        for node in nodes:
            # The MAC stays the same across boots, like a real NIC: peers' ARP caches stay right.
            sw += [f"link add {node.name} type veth peer name eth0 netns {node.netns} address {node.mac}",
                   f"link set {node.name} master br0 up"]
        for node in nodes:
            node.expect("mounted")
        netns_tools.ip_batch(sw, self.switch_netns)
        for node in nodes:
            node.release()
        for node in nodes:
            node.expect("ready")
            node.finish_boot()

    def close(self) -> None:
        """Tear everything down: processes (by PID), namespaces, cgroups, directories."""
        with self.lock:
            errors: list[str] = []
            if self._control is not None:
                self._control.stop()
                self._control = None
            for wire in self._wires.values():
                wire.stop()
            self._wires.clear()
            for node in self.nodes:
                for pid in (node.pid1,):
                    if pid:
                        try:
                            os.kill(pid, 9)
                        except ProcessLookupError:
                            pass
            for node in self.nodes:
                try:
                    node.kill()
                except OperationFailed as exc:
                    errors.append(str(exc))
            names = [n.netns for n in self.nodes] + [self.switch_netns, self.client.netns]
            existing = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
            try:
                netns_tools.ip_batch([f"netns del {n}" for n in names if n in existing])
            except OperationFailed as exc:
                errors.append(str(exc))
            for node in self.nodes:
                try:
                    node.cgroup.remove()
                except OperationFailed as exc:
                    errors.append(str(exc))
            if self._cgroup_parent is not None and self._cgroup_parent.exists():
                NodeCgroup(self._cgroup_parent).remove()
            if self._watch is not None:
                for fd in self._watch:
                    os.close(fd)
                self._watch = None
            if self.base is not None:
                shutil.rmtree(self.base, ignore_errors=True)
            _LIVE.discard(self)
            if errors:
                raise OperationFailed("testbed cleanup incomplete: " + "; ".join(errors))

    # -- node faults ----------------------------------------------------------------------------

    def crash(self, ref: NodeRef) -> None:
        """Pull the node's cable (switch port down), then SIGKILL its PID 1: every process dies."""
        node = self.node(ref)
        with self.lock:
            if node.pid1 is None:
                return
            netns_tools.ip_batch([f"link set {node.name} down"], self.switch_netns, check=False)
            node.kill()
            netns_tools.ip_batch([f"netns del {node.netns}"], check=False)
            wire = self._wires.pop(node.name, None)
            if wire is not None:
                wire.stop()
            netns_tools.ip_batch([f"link del {node.name}", f"link del {node.name}w",
                                  f"link del {node.name}b"], self.switch_netns, check=False)
            node.cgroup.remove()

    def boot(self, ref: NodeRef) -> None:
        """Make a crashed node anew: fresh namespaces, empty /run and /tmp, same disk dirs."""
        node = self.node(ref)
        with self.lock:
            if node.up:
                raise OperationFailed(f"node {node.name} is up; crash or shut it down before boot")
            self._boot_many([node])
            self._plug_second_link([node])
            if self._delays.get(node.name):
                self._insert_wire(node.name, self._delays[node.name])

    def reboot(self, ref: NodeRef, clean: bool = False) -> None:
        """Crash (or, with ``clean``, shut down) the node, then boot it."""
        with self.lock:
            self.shutdown(ref) if clean else self.crash(ref)
            self.boot(ref)

    def shutdown(self, ref: NodeRef, timeout: float = 10.0) -> None:
        """Clean power-off: SIGTERM every process but PID 1, wait up to ``timeout``, then crash."""
        node = self.node(ref)
        with self.lock:
            for pid in node.pids():
                if pid != node.pid1:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and [p for p in node.pids() if p != node.pid1]:
                time.sleep(0.02)
            self.crash(node)

    def freeze(self, ref: NodeRef) -> None:
        """Freeze every process of the node (its cgroup), like a paused VM."""
        self.node(ref).cgroup.set_frozen(True)

    def thaw(self, ref: NodeRef) -> None:
        """Let a frozen node run again."""
        self.node(ref).cgroup.set_frozen(False)

    @staticmethod
    def pause(pid: int) -> None:
        """SIGSTOP one process (e.g. only the daemon); give the host PID."""
        os.kill(pid, signal.SIGSTOP)

    @staticmethod
    def resume(pid: int) -> None:
        """SIGCONT a paused process (and the nsenter that started it, which stopped with it)."""
        os.kill(pid, signal.SIGCONT)
        try:
            with open(f"/proc/{pid}/status") as f:
                ppid = int(next(line for line in f if line.startswith("PPid:")).split()[1])
            with open(f"/proc/{ppid}/comm") as f:
                if f.read().strip() == "nsenter":
                    os.kill(ppid, signal.SIGCONT)
        except (OSError, StopIteration, ValueError):
            pass

    # -- observers ------------------------------------------------------------------------------

    def s1_checker(self, **kw: Any) -> Any:
        """A started S1Checker over this cluster (see hacore.testing.observers)."""
        from hacore.testing.s1_checker import S1Checker

        return S1Checker(self, **kw).start()

    def http_poller(self, url: str, **kw: Any) -> Any:
        """A started HttpPoller polling ``url`` from the client namespace."""
        from hacore.testing.http_poller import HttpPoller

        return HttpPoller(self.client.netns_path, url, **kw).start()
