"""Deliver alerts without ever blocking the caller: a bounded queue and one worker thread.

``AlertDispatcher.submit(event)`` is what the daemon calls after writing an event to its
journal: it picks the hooks that want the event's topic (and service), queues one delivery
each and returns at once. One worker thread delivers them in the order submitted, so the
hooks of a service see its events in sequence-number order; a slow hook delays later
alerts by at most its timeout. When the queue is full the oldest delivery is dropped and
counted, with a warning on the ``hacore.alerts`` logger.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hacore.alerts.delivery import Alert, DeliveryResult, deliver
from hacore.alerts.topics import topic_of
from hacore.config.model import AlertHook
from hacore.journal.event import Event

log = logging.getLogger("hacore.alerts")
DEFAULT_QUEUE = 1000
#: called after each delivery (the daemon journals it and counts it in its metrics)
ResultCallback = Callable[[AlertHook, Alert, DeliveryResult], None]


@dataclass
class AlertCounters:
    """How many deliveries were queued, delivered, failed, dropped (queue full)."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0


def wants(hook: AlertHook, topic: str, service: str | None) -> bool:
    """Whether ``hook`` asked for this topic about this service."""
    if hook.events and topic not in hook.events:
        return False
    return not (hook.services and service is not None and service not in hook.services)


def alert_for(event: Event) -> Alert | None:
    """The alert of a journal event, or None when its topic is not one hooks get."""
    topic = topic_of(event.kind, event.fields)
    if topic is None:
        return None
    return Alert(event.seq, event.time, event.node, topic, event.kind, event.message,
                 event.service, event.incident, dict(event.fields))


class AlertDispatcher:
    """Queue alerts for the configured hooks and deliver them on a worker thread."""

    def __init__(self, hooks: Sequence[AlertHook], *, max_queue: int = DEFAULT_QUEUE,
                 on_result: ResultCallback | None = None) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.hooks = tuple(hooks)
        self.max_queue = max_queue
        self.on_result = on_result
        self.counters = AlertCounters()
        self._queue: deque[tuple[AlertHook, Alert]] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> AlertDispatcher:
        """Start the worker thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="hacore-alerts", daemon=True)
            self._thread.start()
        return self

    def submit(self, event: Event) -> int:
        """Queue the deliveries ``event`` calls for; returns how many. Never blocks."""
        alert = alert_for(event)
        if alert is None:
            return 0
        chosen = [h for h in self.hooks if wants(h, alert.topic, alert.service)]
        with self._cond:
            for hook in chosen:
                if len(self._queue) >= self.max_queue:
                    old_hook, old = self._queue.popleft()
                    self.counters.dropped += 1
                    log.warning("alert queue full (%d): dropped %s for event %d (%s); %d "
                                "dropped so far", self.max_queue, old_hook.name, old.seq,
                                old.topic, self.counters.dropped)
                self._queue.append((hook, alert))
                self.counters.queued += 1
            self._cond.notify()
        return len(chosen)

    def pending(self) -> int:
        """Deliveries queued or running."""
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False when ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker after the delivery in progress; what is still queued is dropped."""
        with self._cond:
            self._stopping = True
            self.counters.dropped += len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                hook, alert = self._queue.popleft()
                self._busy = True
            result = deliver(hook, alert)
            if not result.ok:
                log.warning("alert %s for event %d (%s) failed: %s", hook.name, alert.seq,
                            alert.topic, result.detail)
            if self.on_result is not None:
                try:
                    self.on_result(hook, alert, result)
                except Exception:  # a broken callback must not stop the alerts
                    log.exception("alert result callback failed")
            with self._cond:
                if result.ok:
                    self.counters.delivered += 1
                else:
                    self.counters.failed += 1
                self._busy = False
                self._cond.notify_all()
