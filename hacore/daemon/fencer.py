"""Fencing for the coordinator (S3): a ``fence`` action runs the fencing library in a
thread; a confirmed fence is folded into the snapshot, a failed one is retried.

Each attempt is logged and journalled with its reason, each outcome with its method and
duration (``compose.fence``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.events import EventLog
from hacore.journal import compose
from hacore.policy import Action, Snapshot, apply

log = logging.getLogger("hacore.daemon")

FENCE_RETRY = 5.0
#: a fence waits until the membership has not changed for this share of the node-loss
#: timeout: the sides of a partition notice it a little apart, and a node that briefly
#: sees a quorate half-view must not fence a node of the real majority
FENCE_SETTLE = 0.5


class Fencer:
    """The coordinator's fencing steps (a base class of ``Coordinator``)."""

    config: ClusterConfig
    node: str
    active: bool
    snap: Snapshot | None
    events: EventLog
    fencing: dict[str, float]
    fence_tasks: set[asyncio.Task[Any]]
    view_changed_at: float
    _pending_fence_logged: set[str]
    clock: Callable[[], float]
    wake: Callable[[], None]

    def _publish(self) -> int:
        raise NotImplementedError

    def _fence(self, action: Action, now: float) -> bool:
        node = action.node
        assert node is not None
        last = self.fencing.get(node)
        if last is not None and (last < 0 or now - last < FENCE_RETRY):
            return False
        settle = FENCE_SETTLE * self.config.timing.node_loss_timeout
        if now - self.view_changed_at < settle:
            return False  # the membership may still be settling (see FENCE_SETTLE)
        try:
            from hacore.fencing.methods import fence_node
        except ImportError:
            if node not in self._pending_fence_logged:
                self._pending_fence_logged.add(node)
                log.error("%s; PENDING: the fencing library is not installed on %s, so %s "
                          "stays unfenced and its services wait (S3)", action.reason,
                          self.node, node)
            return False
        self.events.decision(action)
        self.fencing[node] = -1.0  # running
        task = asyncio.ensure_future(asyncio.to_thread(fence_node, self.config, node, "reboot"))
        self.fence_tasks.add(task)
        task.add_done_callback(lambda t: self._fenced(action, t))
        return True

    def _fenced(self, action: Action, task: asyncio.Task[Any]) -> None:
        self.fence_tasks.discard(task)
        node = action.node
        assert node is not None
        self.fencing[node] = self.clock()
        try:
            outcome = task.result()
            ok, detail = bool(outcome.confirmed), outcome.detail
            method, took = outcome.method, float(outcome.duration)
        except Exception as exc:  # noqa: BLE001 - a fencer bug is a failed fence, not a crash
            ok, detail, method, took = False, f"fencing raised {exc!r}", None, 0.0
        self.events.record(compose.fence(node, ok=ok, method=method, duration=took,
                                         detail=detail))
        if not self.active or self.snap is None:
            log.warning("fence of %s ended after this node stopped coordinating: %s", node, detail)
            return
        if ok:
            log.info("fenced %s: %s", node, detail)
            self.fencing.pop(node, None)
            self.snap = apply(self.config, self.snap, [action], [True], now=self.clock())
            self._publish()
            self.wake()
        else:
            log.error("fence of %s FAILED: %s; its services wait, retried in %g s (S3)", node,
                      detail, FENCE_RETRY)
