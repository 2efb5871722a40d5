"""Fencing for the coordinator (S3): a ``fence`` action runs the fencing library in a
thread; a confirmed fence is folded into the snapshot, a failed one is retried.

The fencing library's timing rules are applied here (``_fence_due``): startup fencing
waits ``post_join_delay`` after the cluster formed, and a two-node cluster delays fencing
of its favoured node. Each attempt is logged and journalled with its reason, each outcome with its method and
duration (``compose.fence``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.events import EventLog
from hacore.fencing import rules
from hacore.journal import compose
from hacore.membership.contract import MembershipView
from hacore.policy import Action, Snapshot, apply

log = logging.getLogger("hacore.daemon")

FENCE_RETRY = 5.0
#: with a provider that cannot say whether its view is agreed (``MembershipView.agreed`` is
#: None), a fence waits until the membership has not changed for this share of the
#: node-loss timeout. With one that can, a fence waits exactly until the view is agreed:
#: the coordinator holds the only lease, every member confirmed the epoch and no node it
#: reaches is left out, so the node to fence is not part of the real majority
#: (docs/protocol.md, "Agreed views")
FENCE_SETTLE = 0.5


#: how much nicer than the daemon the thread powering a fenced node on again runs (and its
#: agents with it)
POWER_ON_NICE = 10
#: one lock per node: a fence's off calls and a previous fence's deferred on calls never overlap
_power_locks: dict[str, threading.Lock] = {}
_power_locks_guard = threading.Lock()


def _power_lock(node: str) -> threading.Lock:
    with _power_locks_guard:
        return _power_locks.setdefault(node, threading.Lock())


def fence_serially(fence_node: Callable[..., Any], config: ClusterConfig, node: str) -> Any:
    """``fence_node(config, node, "reboot")`` as the daemon runs it (in a worker thread): the
    off calls confirm the fence and the outcome returns at once; powering the node on again
    runs afterwards in a thread of its own, logged (``fence_node``'s ``defer_on``). The
    node's lock is taken for the off calls and handed to that power-on thread, which
    releases it when done, so a later fence of the same node begins only after the
    power-on ended: off, on, off, on, as with the agent's own reboots."""
    lock = _power_lock(node)
    handed_over = False

    def power_on_later(power_on: Callable[[], list[Any]]) -> None:
        nonlocal handed_over

        def run(nicer: bool = True) -> None:
            try:
                if nicer:  # only in a thread of its own
                    # not urgent, unlike the recovery it runs beside: its agents (children of
                    # this thread) get the CPU after the starts on this node
                    tid = threading.get_native_id()
                    os.setpriority(os.PRIO_PROCESS, tid,
                                   min(19, os.getpriority(os.PRIO_PROCESS, tid) + POWER_ON_NICE))
            except OSError:
                pass
            try:
                replies = power_on()
            except Exception as exc:  # noqa: BLE001 - logged: the fence itself stands
                log.warning("powering %s on again after its fence raised %s: %s", node,
                            type(exc).__name__, exc)
                return
            finally:
                lock.release()
            failed = [f"device {r.device}: {r.message}" for r in replies if not r.ok]
            if failed:
                log.warning("powering %s on again after its fence failed (%s); it stays off "
                            "until powered on by hand", node, "; ".join(failed))
            else:
                log.info("powered %s on again after its fence", node)

        handed_over = True
        try:
            threading.Thread(target=run, name=f"power-on-{node}", daemon=True).start()
        except RuntimeError:  # no thread to be had: power on here, as a reboot would
            run(nicer=False)

    lock.acquire()
    try:
        return fence_node(config, node, "reboot", defer_on=power_on_later)
    finally:
        if not handed_over:
            lock.release()


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
    view: MembershipView | None
    incarnations: dict[str, int]
    fenced_incarnations: dict[str, int]
    _pending_fence_logged: set[str]
    clock: Callable[[], float]
    wake: Callable[[], None]
    #: nodes absent when the cluster formed (startup fencing) and when it formed
    startup_targets: frozenset[str] = frozenset()
    formed_at: float = 0.0
    _delay_logged: set[str]
    #: the NodeDaemon's way out when this coordinator would have to fence its own node
    withdraw: Callable[[str], None] | None = None

    def _publish(self) -> int:
        raise NotImplementedError

    def _forget_node(self, name: str) -> None:
        raise NotImplementedError

    def _fence(self, action: Action, now: float) -> bool:
        node = action.node
        assert node is not None
        last = self.fencing.get(node)
        if last is not None and (last < 0 or now - last < FENCE_RETRY):
            return False
        if not self._view_settled(now):
            return False  # the membership may still be settling (see FENCE_SETTLE)
        if not self._fence_due(node, now):
            return False
        if node == self.node and self.withdraw is not None and self.view is not None \
                and any(m != self.node for m in self.view.member_names()):
            # A fence of its own node would kill this coordinator before it could record
            # the result: the next coordinator would find the failed stop again and fence
            # again. It leaves the membership instead, and a peer fences it and records it.
            self.withdraw(f"{action.reason}; a coordinator does not fence its own node")
            return False
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
        self._delay_logged.discard(node)
        self.fencing[node] = -1.0  # running
        task = asyncio.ensure_future(asyncio.to_thread(fence_serially, fence_node, self.config,
                                                       node))
        self.fence_tasks.add(task)
        task.add_done_callback(lambda t: self._fenced(action, t))
        return True

    def _fence_due(self, node: str, now: float) -> bool:
        """The fencing library's timing rules: a node absent when the cluster formed (or
        re-formed around a daemon that just started: a whole-cluster restart) is
        fenced only after ``post_join_delay`` (it may still be booting: startup fencing);
        in a two-node cluster the favoured node (more services) is fenced only after
        ``two_node_fence_delay``, so it wins a fence race with its peer."""
        assert self.snap is not None
        if node in self.startup_targets and \
                not rules.startup_fence_due(self.config, self.formed_at, now):
            return self._waiting(node, "startup fencing waits post_join_delay for it to join")
        delay = rules.two_node_fence_delay(self.config, node, rules.services_held(
            self.snap.services))
        if delay > 0 and now - self.view_changed_at < delay:
            return self._waiting(node, f"two-node fence delay of {delay:g} s: {node} holds "
                                       "more services, so its peer's fence should win")
        return True

    def _waiting(self, node: str, why: str) -> bool:
        if node not in self._delay_logged:
            self._delay_logged.add(node)
            log.info("fencing %s waits: %s", node, why)
        return False

    def _view_settled(self, now: float) -> bool:
        """Whether the membership is settled enough to fence a node missing from it."""
        view = self.view
        agreed = getattr(view, "agreed", None)
        if agreed is not None:
            return bool(agreed)
        settle = FENCE_SETTLE * self.config.timing.node_loss_timeout
        return now - self.view_changed_at >= settle

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
            ok, detail, method, took = False, f"fencing raised {type(exc).__name__}: {exc}", None, 0.0
        self.events.record(compose.fence(node, ok=ok, method=method, duration=took,
                                         detail=detail))
        if not self.active or self.snap is None:
            log.warning("fence of %s ended after this node stopped coordinating: %s", node, detail)
            return
        if ok:
            log.info("fenced %s: %s", node, detail)
            self.fencing.pop(node, None)
            # what the fenced daemon said, and ops it will never answer, count no more,
            # though it may stay in the membership view until its silence is noticed
            self._forget_node(node)
            if node in self.incarnations:
                self.fenced_incarnations[node] = self.incarnations[node]
            self.snap = apply(self.config, self.snap, [action], [True], now=self.clock())
            self._publish()
            self.wake()
        elif (lost := self.snap.lost.get(node)) is not None and lost.fenced:
            log.warning("fence of %s FAILED: %s; it was acknowledged as fenced meanwhile "
                        "(hacore fence ack), so nothing waits for it", node, detail)
        else:
            log.error("fence of %s FAILED: %s; its services wait, retried in %g s (S3)", node,
                      detail, FENCE_RETRY)
