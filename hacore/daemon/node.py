"""NodeDaemon: one node's asyncio process gluing membership, coordinator, runner and API.

A tick (every 0.2 s) reads the membership view once and: takes over or steps down as the
view names the coordinator, runs the local no-quorum rule (S2), runs one coordinator cycle,
resends what was not answered, and reports this node's status. Any exception in a tick or
a message handler is logged and the daemon goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from hacore import __version__
from hacore.api.handlers import Api
from hacore.api.server import UnixApiServer
from hacore.config.model import ClusterConfig
from hacore.daemon.alerting import DaemonAlerts
from hacore.daemon.backend import ApiBackend
from hacore.daemon.channel import MessageChannel, daemon_channel
from hacore.daemon.configsync import ConfigSync, newest_config
from hacore.daemon.coordinator import Coordinator
from hacore.daemon.departure import (
    drain_before_leaving,
    kept_in_maintenance,
    unstandby_after_return,
)
from hacore.daemon.events import EventLog
from hacore.daemon.forwarding import ServedRequests
from hacore.daemon.journal_requests import JournalRequests
from hacore.daemon.local import LocalNode
from hacore.daemon.messages import encode
from hacore.daemon.metrics_http import MetricsServer, update_gauges
from hacore.daemon.routing import MessageRouting
from hacore.daemon.runner import ServiceRunner
from hacore.daemon.store import LocalStore
from hacore.errors import InputError, OperationFailed
from hacore.executor.forkserver import ForkServer
from hacore.journal import compose
from hacore.membership.contract import MembershipEvent, MembershipProvider, Message
from hacore.observability import ClusterMetrics
from hacore.periodic import call_every

log = logging.getLogger("hacore.daemon")

TICK = 0.2
REPORT_EVERY = 1.0


class NodeDaemon(MessageRouting, ApiBackend):
    """Runs one node. ``await start()``, then ``await stop()`` (or ``run_forever``)."""

    def __init__(self, config: ClusterConfig, node: str, provider: MembershipProvider, *,
                 state_dir: str, socket_path: str | None = None,
                 executor: ForkServer | None = None, env: dict[str, str] | None = None,
                 tick: float = TICK, probe_interval: float | None = None,
                 metrics_listen: str | None = None) -> None:
        if config.node(node) is None:
            names = ", ".join(n.name for n in config.nodes)
            raise InputError(f"--node {node!r} is not a node of cluster {config.name!r} "
                             f"(nodes: {names})")
        config = newest_config(config, state_dir)  # a pushed newer one stored here wins
        follow_nodes = getattr(provider, "replace_nodes", None)
        if follow_nodes is not None and _node_list(provider.config) != _node_list(config):
            follow_nodes(config)  # nodes joined or left since the --config file was written
        self.config = config
        self.node = node
        self.provider = provider
        self.state_dir = state_dir
        self.socket_path = socket_path
        self.tick = tick
        #: seconds between idle probes (S1); None: [timing] probe_interval of the running
        #: configuration (a pushed one applies from the next tick); tests may fix it here
        self.probe_interval_override = probe_interval
        self._last_probe = time.time()
        self._probing: asyncio.Task[None] | None = None
        self._own_executor = executor is None
        self.executor = executor
        self.env = {"HACORE_NODE": node, **(env or {})}
        self.store = LocalStore(state_dir)
        self.state = self.store.load()
        self.started_at = time.time()
        self.coordinator = Coordinator(config, node, self._incarnation(), self.send)
        self.coordinator.on_publish = self._store_cluster
        self.coordinator.wake = self._wake
        self.coordinator.withdraw = self._withdraw
        self.withdrawn: str | None = None  # why this node left the membership on purpose
        self.exiting = False  # hacore cluster stop is complete: this daemon exits
        self.events = EventLog(os.path.join(state_dir, "journal"), node)
        self.coordinator.events = self.events
        self.metrics = ClusterMetrics(node, __version__)
        self.alerts = DaemonAlerts(config, self.events, self.metrics)
        self.metrics_listen = metrics_listen  # "HOST:PORT" of /metrics; None: not served
        self.metrics_server: MetricsServer | None = None
        self.journal_requests = JournalRequests(self)
        self.members_changed_at = time.time()
        self._members: frozenset[str] = frozenset()
        self.local: LocalNode | None = None
        self.api = Api(self)
        self.server: UnixApiServer | None = None
        self.web: Any = None  # hacore.web.server.WebServer when [web] is configured
        self._tasks: list[asyncio.Task[Any]] = []
        self._admin_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._admins_served = ServedRequests(self, "admin-reply")
        self._unsubscribe: list[Any] = []
        self._last_report = 0.0
        self._last_retry = 0.0
        self.channel: MessageChannel | None = None  # None: messages ride the provider
        self.configsync = ConfigSync(self)
        self._returning: asyncio.Task[None] | None = None
        self.join_endpoint: Any = None  # hacore.bootstrap.endpoint.JoinEndpoint (use_channel)

    @property
    def probe_interval(self) -> float:
        """How often the services not running here are probed (S1), in seconds."""
        if self.probe_interval_override is not None:
            return self.probe_interval_override
        return self.config.timing.probe_interval

    def _incarnation(self) -> int:
        return int(time.time() * 1000)

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the executor, probe what runs here, join, serve the API, start ticking."""
        if self.executor is None:
            self.executor = ForkServer().start()
        runner = ServiceRunner(self.config, self.node, self.executor,
                               may_start=self._may_start,
                               lease_wait=self.config.timing.node_loss_timeout / 2,
                               env=self.env)
        self.local = LocalNode(self.config, self.node, runner, self.store, self.state,
                               self.send, self.provider.view, self.events)
        self.local.unmanaged = self._unmanaged
        self.alerts.start()
        await self.local.probe_all()
        timing = self.config.timing  # maintenance: adopt, do not stop while joining
        self.local.hold_at_startup({n for n in self.local.active if self._unmanaged(n)},
                                   timing.post_join_delay + 2 * timing.node_loss_timeout)
        self._unsubscribe.append(self.provider.on_event(self._on_event))
        self._unsubscribe.append(self.provider.on_message(self._on_message))
        if self.channel is not None:
            await self.channel.start()
        if self.join_endpoint is not None:
            await self.join_endpoint.start()
        await self.provider.start()
        self._tasks.append(asyncio.ensure_future(self.configsync.run()))
        if self.socket_path:
            self.server = UnixApiServer(self.socket_path, self.api)
            await self.server.start()
        if self.config.web is not None:  # imported only then (memory)
            from hacore.web import start_web
            self.web = await start_web(self.api, self.config, self.node)
        await self._start_metrics()
        self._tasks.append(call_every(self.tick, self._step_safely, f"tick on {self.node}"))
        log.info("%s started (cluster %s, config version %d, state in %s)", self.node,
                 self.config.name, self.config.config_version, self.state_dir)

    async def stop(self, stop_services: bool = False, drain: bool = False) -> None:
        """Leave: optionally move services away first (``drain``, see departure.py), stop
        ticking, optionally stop what runs here, close everything. Services in maintenance
        (or all, in cluster maintenance) are left running (``kept_in_maintenance``)."""
        kept = kept_in_maintenance(self) if stop_services and self.local is not None else set()
        if drain and stop_services and self.local is not None:
            await drain_before_leaving(self)
        if self.local is not None:
            self.local.closing = True
        if self._probing is not None:
            self._tasks.append(self._probing)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("a task of %s failed while stopping", self.node)
        self._tasks.clear()
        if self.web is not None:
            await self.web.close()
            self.web = None
        if self.server is not None:
            await self.server.close()
        if self.metrics_server is not None:
            await self.metrics_server.close()
        if self.local is not None:
            if stop_services:
                await self.local.stop_everything(keep=kept)
                if not set(self.local.active) - kept:
                    await self._say_leaving(kept)
            self.local.runner.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self.join_endpoint is not None:
            await self.join_endpoint.stop()
        if self.channel is not None:
            await self.channel.stop()
        await self.provider.stop()
        if self._own_executor and self.executor is not None:
            await asyncio.to_thread(self.executor.stop)
            self.executor = None
        await self.alerts.stop()
        self.events.close()

    def _unmanaged(self, service: str) -> bool:
        """The service is in maintenance (or the cluster is), as this node knows it."""
        snap = self.cluster_snapshot()
        return snap is not None and snap.unmanaged(service)

    def _may_start(self) -> bool:
        return self.withdrawn is None and self.provider.holds_fresh_lease()

    def _withdraw(self, why: str) -> None:
        """Leave the membership for good (until the daemon restarts): the survivors see
        this node lost and fence it (S3/S4); meanwhile it acts as out of quorum."""
        if self.withdrawn is not None:
            return
        self.withdrawn = why
        log.error("%s leaves the membership: %s; a peer fences it. Restart the daemon once "
                  "the node was fenced (or checked and `hacore fence ack`ed)", self.node, why)
        self.coordinator.step_down("this node left the membership")
        if self.local is not None:
            self.local.withdrawn = True
            self.local.enforce_no_quorum()
        self._tasks.append(asyncio.ensure_future(self.provider.stop()))

    async def _say_leaving(self, kept: set[str] | None = None) -> None:
        """Tell every member this incarnation stopped everything (sent thrice: datagrams),
        except ``kept``: services in maintenance it leaves running."""
        view = self.provider.view()
        me = view.member(self.node)
        if me is None:
            return
        body: dict[str, Any] = {"incarnation": me.incarnation}
        if kept:
            body["kept"] = sorted(kept)
        for _ in range(3):
            for name in view.member_names():
                if name != self.node:
                    self.send(name, "leaving", body)
            await asyncio.sleep(0.05)
        if kept:
            log.warning("%s leaves %s running (maintenance) and told the cluster it leaves: "
                        "it is not fenced, and its start-up probes adopt them when it returns",
                        self.node, ", ".join(sorted(kept)))
        else:
            log.info("%s stopped every service it ran and told the cluster it leaves",
                     self.node)

    def _wake(self) -> None:
        asyncio.get_running_loop().call_soon(self._step_safely)

    def _step_safely(self) -> None:
        try:
            self.step()
        except Exception:
            log.exception("tick failed on %s; going on", self.node)

    def step(self) -> None:
        """One tick (see the module docstring)."""
        assert self.local is not None
        view = self.provider.view()
        coord = self.coordinator
        mine = view.quorate and view.coordinator == self.node and self.withdrawn is None
        if mine and not coord.active:
            coord.take_over(view, self.state.cluster_version, self.state.cluster,
                            not_before=self.started_at + self.config.timing.post_join_delay,
                            members_changed_at=self.members_changed_at)
        elif coord.active and not mine:
            coord.step_down("the view names " + str(view.coordinator) if view.quorate
                            else "this partition lost quorum")
        self.local.enforce_no_quorum()
        self.local.stalled = False
        now = time.time()
        if coord.active:
            coord.cycle()
            if now - self._last_retry >= 0.5:
                self._last_retry = now
                coord.retry()
        if (self.probe_interval > 0 and now - self._last_probe >= self.probe_interval
                and view.quorate and (self._probing is None or self._probing.done())):
            self._last_probe = now
            self._probing = asyncio.ensure_future(self.local.probe_idle())
        if now - self._last_report >= REPORT_EVERY:
            self._last_report = now
            self.local.report()
            if self.state.unstandby_on_join and view.quorate and self.node in view.member_names() \
                    and (self._returning is None or self._returning.done()):
                self._returning = asyncio.ensure_future(unstandby_after_return(self))

    async def _start_metrics(self) -> None:
        """Serve /metrics on ``metrics_listen``; a port that cannot be bound is logged, and
        the daemon runs on without metrics (they never stop the services)."""
        if not self.metrics_listen:
            return
        server = MetricsServer(self.metrics_listen, self.metrics_page)
        try:
            await server.start()
        except OSError as exc:
            log.error("%s: cannot serve metrics on %s: %s; running without /metrics",
                      self.node, self.metrics_listen, exc.strerror or exc)
            return
        self.metrics_server = server
        host, port = server.address
        log.info("%s serves Prometheus metrics at http://%s:%d/metrics", self.node,
                 f"[{host}]" if ":" in host else host, port)

    async def api_cluster_events(self, *, since: float | None, incident: str | None,
                                 service: str | None, after: dict[str, int]) -> dict[str, Any]:
        """The journal of every reachable member, merged (``hacore events``)."""
        return await self.journal_requests.cluster_events(since=since, incident=incident,
                                                          service=service, after=after)

    def api_cluster_token(self, ttl: float) -> dict[str, Any]:
        """A fresh join token (``hacore cluster token``; hacore.bootstrap)."""
        if self.join_endpoint is None:
            raise OperationFailed(f"{self.node} has no join listener (it runs without the TLS "
                                  "message channel)")
        return dict(self.join_endpoint.new_token(ttl))

    async def api_cluster_remove(self, node: str) -> dict[str, Any]:
        """Remove a stopped or fenced node from the configuration (``hacore cluster
        remove``); the new expected votes and quorum in the reply."""
        if self.join_endpoint is None:
            raise OperationFailed(f"{self.node} has no join listener (it runs without the TLS "
                                  "message channel)")
        return dict(await self.join_endpoint.request({"op": "remove", "node": node}))

    def metrics_page(self) -> str:
        """The /metrics text, with the gauges read from the current view and state."""
        update_gauges(self.metrics, self.config, self.provider.view(), self.cluster_snapshot(),
                      self.local.active if self.local is not None else ())
        return self.metrics.exposition()

    # -- membership -----------------------------------------------------------------------

    def _on_event(self, event: MembershipEvent) -> None:
        try:
            if event.kind == "stall" and self.local is not None:
                log.warning("%s: this node's loop stalled (%s); it treats itself as out of "
                            "quorum and stops its services first", self.node, event.detail)
                self.local.stalled = True
                self.local.enforce_no_quorum()
            names = frozenset(event.view.member_names())
            if names != self._members:
                self._members = names
                self.members_changed_at = time.time()
            if event.kind in ("quorum-gained", "quorum-lost"):
                q = event.view.quorum
                self.events.record(compose.quorum_changed(quorate=q.quorate, votes=q.total,
                                                          needed=q.quorum, reason=q.reason))
            if event.kind in ("view", "quorum-gained", "quorum-lost"):
                if event.left or event.joined:
                    parts = ([f"left {', '.join(event.left)}"] if event.left else []) + \
                        ([f"joined {', '.join(event.joined)}"] if event.joined else [])
                    log.info("membership seen by %s: %s; quorate: %s", self.node,
                             ", ".join(parts), event.view.quorate)
                if self.coordinator.active:
                    self.coordinator.on_view(event.view)
                if self.local is not None:
                    self._last_report = 0.0  # report to the (maybe new) coordinator now
                    asyncio.get_running_loop().call_soon(self._step_safely)
        except Exception:
            log.exception("membership event %s failed on %s; going on", event.kind, self.node)

    # -- messages -------------------------------------------------------------------------

    def use_channel(self, key: bytes, listen: list[tuple[str, int]] | None = None,
                    peers: dict[str, list[tuple[str, int]]] | None = None,
                    join_listen: list[tuple[str, int]] | None = None) -> None:
        """Carry daemon messages over TLS (hacore.daemon.channel) with the cluster CA from
        ``key``, listening on this node's addresses at [cluster] message_port unless
        ``listen``/``peers`` say otherwise (tests on loopback: the certificate is then made
        in process; else in a helper process, kept in <state-dir>/tls). Call before
        ``start``."""
        tls_dir = None if listen else os.path.join(self.state_dir, "tls")
        self.channel = daemon_channel(self.config, self.node, key, self.provider,
                                      self._on_message, listen, peers, credentials_dir=tls_dir)
        from hacore.bootstrap.endpoint import JoinEndpoint

        self.join_endpoint = JoinEndpoint(self, key, self.channel.credentials, join_listen)

    def send(self, node: str, kind: str, body: dict[str, Any]) -> None:
        """Send a daemon message (over the TLS channel when there is one; idempotent and
        resent by the caller until answered); to this node itself it is delivered locally."""
        payload = encode(kind, body)
        if node == self.node:
            msg = Message(self.node, 0, payload)
            asyncio.get_running_loop().call_soon(self._on_message, msg)
            return
        try:
            if self.channel is not None:
                self.channel.send(node, payload)
            else:
                self.provider.send(node, payload)
        except Exception as exc:  # noqa: BLE001 - best effort; the caller resends
            log.warning("could not send %s to %s: %s", kind, node, exc)

    def apply_config(self, config: ClusterConfig) -> None:
        """Run with a newer configuration (configsync): the policy engine acts on it from
        its next cycle; services that did not change are left alone."""
        old = self.config
        self.config = config
        if old.timing.probe_interval != config.timing.probe_interval:
            log.info("%s probes the services it does not run every %g s now (was %g s)",
                     self.node, config.timing.probe_interval, old.timing.probe_interval)
        self.coordinator.config = config
        self.alerts.reconfigure(config)
        if _node_list(old) != _node_list(config):  # hacore cluster join / remove
            from hacore.bootstrap.follow import follow_nodes

            follow_nodes(self, config)
        if self.local is not None:
            self.local.config = config
            self.local.runner.replace_config(config)


def _node_list(config: ClusterConfig) -> list[tuple[str, int, tuple[str, ...], int]]:
    return [(n.name, n.id, n.addresses, n.votes) for n in config.nodes]


def default_state_dir() -> str:
    return os.environ.get("HACORE_STATE_DIR", "/var/lib/hacore")
