"""The daemon's alerts and metrics: every event a node writes to its journal goes to its
alert hooks (``hacore.alerts``) and its Prometheus metrics (``hacore.observability``).

Which node sends which alert: each node alerts on the events of its own journal, so every
alert is sent exactly once, by the node that saw the fact happen:

- the coordinator: failover, service-failed/started/stopped, node-lost/joined, node-fenced,
  fence-failed, admin (it decides, fences and keeps the services' state);
- every node, for itself: quorum-lost/quorum-regained (a node cut off from the others is the
  only one that knows it lost quorum) and operation-failed (the node that ran the agent).

Delivery runs on the dispatcher's worker thread, in the order the events were written (so a
service's alerts come in sequence-number order); the daemon's loop only queues. The outcome
of each delivery is journaled (kind ``alert``) and counted in ``hacore_alerts_total``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from hacore.alerts.delivery import Alert, DeliveryResult
from hacore.alerts.dispatcher import AlertDispatcher
from hacore.config.model import AlertHook, ClusterConfig
from hacore.journal import Event, compose
from hacore.observability import ClusterMetrics

if TYPE_CHECKING:
    from hacore.daemon.events import EventLog

log = logging.getLogger("hacore.daemon")

#: how long a stopping daemon lets queued alerts go out before it drops them
STOP_GRACE = 2.0


class DaemonAlerts:
    """Connects a node's ``EventLog`` to its alert hooks and its metrics."""

    def __init__(self, config: ClusterConfig, events: EventLog, metrics: ClusterMetrics) -> None:
        self.events = events
        self.metrics = metrics
        self.dispatcher: AlertDispatcher | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if config.alerts:
            self.dispatcher = AlertDispatcher(config.alerts, on_result=self._delivered)
        events.listeners.append(self._on_event)

    def reconfigure(self, config: ClusterConfig) -> None:
        """Use the hooks of a newer configuration from the next event on."""
        if self.dispatcher is not None:
            self.dispatcher.hooks = tuple(config.alerts)
        elif config.alerts:
            self.dispatcher = AlertDispatcher(config.alerts, on_result=self._delivered)
            if self._loop is not None:
                self.dispatcher.start()

    def start(self) -> None:
        """Start delivering (call from the daemon's event loop)."""
        self._loop = asyncio.get_running_loop()
        if self.dispatcher is not None:
            self.dispatcher.start()

    def _on_event(self, event: Event) -> None:
        self.metrics.record_event(event)
        if self.dispatcher is not None and event.kind != "alert":
            before = self.dispatcher.counters.dropped
            self.dispatcher.submit(event)
            dropped = self.dispatcher.counters.dropped - before
            if dropped:
                self.metrics.record_alert("(queue)", "dropped", dropped)

    def _delivered(self, hook: AlertHook, alert: Alert, result: DeliveryResult) -> None:
        """On the worker thread: count it, and journal it from the daemon's loop."""
        self.metrics.record_alert(hook.name, "delivered" if result.ok else "failed")
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        draft = compose.alert_result(hook.name, topic=alert.topic, seq_of=alert.seq,
                                     ok=result.ok, detail="" if result.ok else result.detail)
        try:
            loop.call_soon_threadsafe(self.events.record, draft, alert.incident)
        except RuntimeError:  # the loop closed meanwhile: the daemon is gone
            pass

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Let queued alerts go out for up to ``grace`` seconds, then drop the rest."""
        dispatcher = self.dispatcher
        if dispatcher is None:
            return
        if not await asyncio.to_thread(dispatcher.wait_idle, grace):
            log.warning("%d alert deliveries were still pending at shutdown; dropped",
                        dispatcher.pending())
        self._loop = None
        dispatcher.stop(timeout=0.1)
