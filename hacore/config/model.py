"""The normalised cluster configuration: what the loader produces and everything else reads.

Immutable dataclasses with defaults filled in. The loader (hacore.config.loader) builds them
from TOML and checks them; the policy engine, the daemon and the CLI only read them.
Times are seconds (float).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

NoQuorumPolicy = Literal["stop", "freeze", "ignore"]
Recovery = Literal["restart", "relocate", "restart-disable", "disable"]
DependMode = Literal["hard", "soft"]


@dataclass(frozen=True)
class FenceDeviceRef:
    """One device used by a fence method, with per-node parameters (e.g. the plug)."""

    device: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FenceMethod:
    """A fence method: every device in it must succeed (dual power supplies: off, off)."""

    name: str
    devices: tuple[FenceDeviceRef, ...]


@dataclass(frozen=True)
class Node:
    name: str
    id: int
    addresses: tuple[str, ...]
    votes: int = 1
    fence: tuple[FenceMethod, ...] = ()
    #: the watchdog device the node's supervisor arms and feeds while it is healthy
    watchdog: str | None = None


@dataclass(frozen=True)
class Quorum:
    """votequorum settings. ``expected_votes`` is filled in (sum of node votes) by the loader."""

    expected_votes: int
    two_node: bool = False
    wait_for_all: bool = False
    last_man_standing: bool = False
    no_quorum_policy: NoQuorumPolicy = "stop"
    accept_split_brain: bool = False


@dataclass(frozen=True)
class Timing:
    """Derived from one knob, ``node_loss_timeout``; anything set by hand is checked."""

    node_loss_timeout: float = 1.0
    heartbeat_interval: float = 0.1
    fence_timeout: float = 30.0
    self_stop_margin: float = 2.0
    post_join_delay: float = 3.0
    startup_fencing: bool = True
    two_node_fence_delay: float = 5.0
    #: seconds between the idle probes of services a node does not run (S1: a copy
    #: started by hand); PROBE_INTERVAL_RANGE is what the checks accept
    probe_interval: float = 60.0

    @classmethod
    def derived(cls, node_loss_timeout: float) -> Timing:
        """The timing one knob gives: heartbeat a tenth of it, self-stop margin twice it."""
        return cls(node_loss_timeout, heartbeat_interval=round(node_loss_timeout / 10, 6),
                   self_stop_margin=round(2 * node_loss_timeout, 6))

    @property
    def election_grace(self) -> float:
        """How long a node that still hears a quorum of votes but no coordinator's lease
        (an election after the coordinator was lost) waits before the no-quorum rule stops
        its services; counted in every self-stop deadline (S3)."""
        return self.node_loss_timeout


#: the probe_interval values accepted (seconds): more often than every second keeps every
#: agent's monitor busy on every node; less often than daily is no S1 check at all
PROBE_INTERVAL_RANGE = (1.0, 86400.0)


@dataclass(frozen=True)
class FenceDevice:
    name: str
    agent: str
    params: dict[str, str] = field(default_factory=dict)
    #: parameter name -> path of a root-only file holding its value (read at fence time)
    secret_files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DomainMember:
    node: str
    priority: int = 1


@dataclass(frozen=True)
class FailoverDomain:
    """rgmanager failover domain: priority 1 is the most preferred member."""

    name: str
    members: tuple[DomainMember, ...]
    ordered: bool = False
    restricted: bool = False
    nofailback: bool = False


@dataclass(frozen=True)
class Operation:
    """A recurring or one-shot operation setting: monitor interval/depth, start/stop timeout."""

    name: str
    timeout: float
    interval: float = 0.0
    depth: int = 0


@dataclass(frozen=True)
class Resource:
    """One node of a service's resource tree.

    ``independent``: a failure restarts only this subtree (rgmanager __independent_subtree=1).
    ``non_critical``: a failure stops this subtree and leaves the service running, partial
    (__independent_subtree=2). ``max_restarts``/``restart_expire_time`` are the subtree's
    own restart window (0 = none).
    """

    name: str
    agent: str
    params: dict[str, str] = field(default_factory=dict)
    operations: tuple[Operation, ...] = ()
    children: tuple[Resource, ...] = ()
    independent: bool = False
    non_critical: bool = False
    max_restarts: int = 0
    restart_expire_time: float = 0.0
    #: parameter name -> path of a root-only file holding its value (read at start time)
    secret_files: dict[str, str] = field(default_factory=dict)

    def operation(self, name: str) -> Operation | None:
        for op in self.operations:
            if op.name == name:
                return op
        return None

    @property
    def start_timeout(self) -> float:
        op = self.operation("start")
        return op.timeout if op else 20.0

    @property
    def stop_timeout(self) -> float:
        op = self.operation("stop")
        return op.timeout if op else 20.0


@dataclass(frozen=True)
class Service:
    """An rgmanager service: a resource tree that runs on one node and fails over as a unit.

    ``resources`` holds the tree's roots in file order; ``start_order`` is the flattened start
    order (rgmanager's type levels, or the explicit order given in the file); stop is
    computed by the loader too and kept in ``stop_order``.
    """

    name: str
    resources: tuple[Resource, ...] = ()
    start_order: tuple[str, ...] = ()
    stop_order: tuple[str, ...] = ()
    domain: str | None = None
    autostart: bool = True
    exclusive: bool = False
    recovery: Recovery = "restart"
    max_restarts: int = 0
    restart_expire_time: float = 0.0
    depend: str | None = None
    depend_mode: DependMode = "hard"

    def walk(self) -> list[Resource]:
        """Every resource of the tree, depth first, parents before children."""
        out: list[Resource] = []
        stack = list(reversed(self.resources))
        while stack:
            res = stack.pop()
            out.append(res)
            stack.extend(reversed(res.children))
        return out

    @property
    def stop_budget(self) -> float:
        """The sum of the stop timeouts of every resource (before kill escalation)."""
        return sum(r.stop_timeout for r in self.walk())


@dataclass(frozen=True)
class AlertHook:
    """``[[alerts]]``: a script to run or a URL to POST to on events (hacore.alerts).

    ``events``: the topics it wants (empty = every topic); ``services``: only events about
    these services or about no service (empty = all); ``timeout`` per delivery.
    """

    name: str
    script: str | None = None
    url: str | None = None
    events: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    timeout: float = 10.0


DEFAULT_METRICS_LISTEN = "127.0.0.1:9664"


@dataclass(frozen=True)
class Metrics:
    """``[metrics]``: where each node serves Prometheus ``/metrics``; None = not served."""

    listen: str | None = DEFAULT_METRICS_LISTEN


@dataclass(frozen=True)
class WebSettings:
    """``[web]``: the HTTPS API and web console (hacore.web); absent = off.

    ``address``: where to listen (None = this node's first address in [[nodes]]);
    ``certificate``/``key``: PEM files (made self-signed at first start when missing);
    ``password_file``: the scrypt hash ``hacore web passwd`` writes (per node).
    """

    port: int = 8443
    address: str | None = None
    certificate: str = "/etc/hacore/web.crt"
    key: str = "/etc/hacore/web.key"
    password_file: str = "/etc/hacore/web.passwd"
    session_timeout: float = 1800.0


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    config_version: int
    nodes: tuple[Node, ...]
    quorum: Quorum
    timing: Timing = Timing()
    fence_devices: tuple[FenceDevice, ...] = ()
    domains: tuple[FailoverDomain, ...] = ()
    resources: tuple[Resource, ...] = ()
    services: tuple[Service, ...] = ()
    alerts: tuple[AlertHook, ...] = ()
    metrics: Metrics = Metrics()
    web: WebSettings | None = None
    #: TCP port of the TLS message channel between nodes ([cluster] message_port)
    message_port: int = 5416

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def service(self, name: str) -> Service | None:
        return self._services_by_name.get(name)

    @cached_property
    def _services_by_name(self) -> dict[str, Service]:
        """Services by name (the coordinator looks up every reported service every tick:
        a scan each was O(services²) per tick, 0.1 % CPU with 100 services)."""
        by_name: dict[str, Service] = {}
        for svc in self.services:
            by_name.setdefault(svc.name, svc)
        return by_name

    def domain(self, name: str | None) -> FailoverDomain | None:
        if name is None:
            return None
        return next((d for d in self.domains if d.name == name), None)

    def has_fencing(self, node: str) -> bool:
        found = self.node(node)
        return bool(found and found.fence)
