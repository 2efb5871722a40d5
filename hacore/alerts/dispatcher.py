"""Deliver alerts without ever blocking the caller: one bounded queue and one worker thread
per hook.

``AlertDispatcher.submit(event)`` is what the daemon calls after writing an event to its
journal: it picks the hooks that want the event's topic (and service), queues one delivery
on each one's lane and returns at once. Each hook's worker delivers its alerts in the order
submitted, so a hook sees a service's events in sequence-number order and never two at
once; a slow or hanging hook delays its own later alerts by at most its timeout, never
another hook's. When a hook's queue is full its oldest delivery is dropped and counted, with
a warning on the ``hacore.alerts`` logger.
"""

from __future__ import annotations

import logging
import threading
import time
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


class _Lane:
    """One hook's queue and worker."""

    def __init__(self, hook: AlertHook) -> None:
        self.hook = hook
        self.queue: deque[Alert] = deque()
        self.busy = False
        self.thread: threading.Thread | None = None


class AlertDispatcher:
    """Queue alerts for the configured hooks and deliver them on one worker thread each."""

    def __init__(self, hooks: Sequence[AlertHook], *, max_queue: int = DEFAULT_QUEUE,
                 on_result: ResultCallback | None = None) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.max_queue = max_queue
        self.on_result = on_result
        self.counters = AlertCounters()
        self._cond = threading.Condition()
        self._stopping = False
        self._started = False
        self._lanes: dict[str, _Lane] = {}
        self.hooks = tuple(hooks)

    @property
    def hooks(self) -> tuple[AlertHook, ...]:
        """The hooks alerts go to; setting it keeps the lanes of hooks still named."""
        return tuple(lane.hook for lane in self._lanes.values())

    @hooks.setter
    def hooks(self, hooks: Sequence[AlertHook]) -> None:
        with self._cond:
            old = self._lanes
            self._lanes = {}
            for hook in hooks:
                lane = old.pop(hook.name, None) or _Lane(hook)
                lane.hook = hook
                self._lanes[hook.name] = lane
            for gone in old.values():  # their workers end once their queue is empty
                self.counters.dropped += len(gone.queue)
                gone.queue.clear()
            self._cond.notify_all()
        if self._started:
            self._start_lanes()

    def start(self) -> AlertDispatcher:
        """Start the worker threads (idempotent)."""
        self._started = True
        self._start_lanes()
        return self

    def _start_lanes(self) -> None:
        for lane in list(self._lanes.values()):
            if lane.thread is None:
                lane.thread = threading.Thread(target=self._work, args=(lane,), daemon=True,
                                               name=f"hacore-alert-{lane.hook.name}")
                lane.thread.start()

    def submit(self, event: Event) -> int:
        """Queue the deliveries ``event`` calls for; returns how many. Never blocks."""
        alert = alert_for(event)
        if alert is None:
            return 0
        with self._cond:
            chosen = [lane for lane in self._lanes.values()
                      if wants(lane.hook, alert.topic, alert.service)]
            for lane in chosen:
                if len(lane.queue) >= self.max_queue:
                    old = lane.queue.popleft()
                    self.counters.dropped += 1
                    log.warning("alert queue of %s full (%d): dropped event %d (%s); %d "
                                "dropped so far", lane.hook.name, self.max_queue, old.seq,
                                old.topic, self.counters.dropped)
                lane.queue.append(alert)
                self.counters.queued += 1
            self._cond.notify_all()
        return len(chosen)

    def queued(self) -> int:
        """Deliveries waiting (not running)."""
        with self._cond:
            return sum(len(lane.queue) for lane in self._lanes.values())

    def pending(self) -> int:
        """Deliveries queued or running."""
        with self._cond:
            return sum(len(lane.queue) + lane.busy for lane in self._lanes.values())

    def _idle(self) -> bool:
        return all(not lane.queue and not lane.busy for lane in self._lanes.values())

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False when ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers after the deliveries in progress; what is queued is dropped."""
        with self._cond:
            self._stopping = True
            for lane in self._lanes.values():
                self.counters.dropped += len(lane.queue)
                lane.queue.clear()
            self._cond.notify_all()
            threads = [lane.thread for lane in self._lanes.values() if lane.thread is not None]
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self, lane: _Lane) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: lane.queue or self._stopping
                                    or self._lanes.get(lane.hook.name) is not lane)
                if self._stopping or self._lanes.get(lane.hook.name) is not lane:
                    lane.thread = None
                    return
                alert = lane.queue.popleft()
                lane.busy = True
                hook = lane.hook
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
                lane.busy = False
                self._cond.notify_all()
