"""ServiceRunner: runs one node's share of services through the executor's warm helper.

A service's resources start in ``Service.start_order`` and stop in ``Service.stop_order``
(or the subset an action names, already in order). A start that fails is followed at once
by a stop of what this attempt touched, there, in stop order; the outcome is still a failed
start, and the coordinator's own stop follows (idempotent). A stop that fails or times out
is reported as a failed stop, never hidden (S4). Before every single start the runner asks
``may_start()`` (the lease check): a node starts nothing without a fresh lease.

While a service runs here, each of its resources has a recurring monitor (interval, timeout
and depth from the configuration's operations, which the loader completed from the agent's
meta-data); the first failure is handed to ``on_failure`` and that service's monitors stop
until the coordinator acts. ``probe`` runs one monitor per resource to find what already
runs (adoption, S1).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hacore.agent.codes import OCF
from hacore.config.model import ClusterConfig, Operation, Resource, Service
from hacore.executor.forkserver import ForkServer
from hacore.executor.operation import OperationRequest, OperationResult

log = logging.getLogger("hacore.daemon.runner")

DEFAULT_TIMEOUT = 20.0
#: how often a start that found its lease lapsed looks again (see ServiceRunner.lease_wait)
LEASE_POLL = 0.01


@dataclass(frozen=True)
class StepOutcome:
    """What came of starting or stopping (part of) a service on this node."""

    ok: bool
    detail: str
    resource: str | None = None  # the resource that failed
    steps: tuple[tuple[str, str, str, float], ...] = field(default=())  # (res, action, result, s)


@dataclass(frozen=True)
class ProbeOutcome:
    """``running`` (some resource active), ``stopped`` (none), ``failed`` (probe error)."""

    status: str
    resource: str | None = None
    detail: str = ""
    #: for ``running``: the resources found not running (a partly active service)
    inactive: tuple[str, ...] = ()


def _op(res: Resource, name: str) -> Operation | None:
    return res.operation(name)


#: set for a start when the service's previous holder is confirmed off (its value: that
#: node); see Coordinator._fenced_holder
PREVIOUS_HOLDER_FENCED = "HACORE_PREVIOUS_HOLDER_FENCED"
#: set for a start that continues a move when the previous holder, still a member, reported
#: its stop of the service succeeded (its value: that node); see Coordinator._stopped_holder
PREVIOUS_HOLDER_STOPPED = "HACORE_PREVIOUS_HOLDER_STOPPED"


def fenced_env(op: dict[str, Any]) -> dict[str, str] | None:
    """The variables an op message asks to add to its starts (the previous holder fenced,
    or stopped cleanly), or None."""
    env = {var: node for key, var in (("fenced", PREVIOUS_HOLDER_FENCED),
                                      ("stopped", PREVIOUS_HOLDER_STOPPED))
           if isinstance(node := op.get(key), str) and node}
    return env or None


def monitor_settings(res: Resource) -> tuple[float, float, int]:
    """(interval, timeout, depth) of a resource's recurring monitor; interval 0 = none."""
    op = _op(res, "monitor")
    if op is None:
        return 0.0, DEFAULT_TIMEOUT, 0
    return op.interval, op.timeout, op.depth


def monitor_grid(interval: float) -> float:
    """The step monitor due times are rounded down to: a tenth of the interval, at most
    1 s. Monitors of all resources then come due at the same instants and reach the
    executor together (one batch, one fork: hacore.executor.batch) instead of one by one;
    a monitor runs at most that much early, never late."""
    return min(interval / 10, 1.0)


def next_due(after: float, interval: float) -> float:
    """The loop time of the monitor after one due (or started) at ``after``: ``interval``
    later, rounded down to the grid (never before ``after`` plus nine tenths of it)."""
    step = monitor_grid(interval)
    return math.floor((after + interval) / step + 1e-6) * step  # 1e-6: float rounding


async def sleep_until(when: float) -> None:
    """Sleep until loop time ``when``; every sleeper given the same instant wakes in the
    same loop iteration (one timer each, all at exactly that time)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    handle = loop.call_at(when, _wake, future)
    try:
        await future
    finally:
        handle.cancel()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def read_params(res: Resource) -> dict[str, str]:
    """The resource's parameters with secrets read from their root-only files."""
    params = dict(res.params)
    for key, path in res.secret_files.items():
        try:
            with open(path, encoding="utf-8") as fh:
                params[key] = fh.read().strip()
        except OSError as exc:
            log.error("resource %s: cannot read secret %s from %s: %s", res.name, key, path,
                      exc.strerror)
    return params


class ServiceRunner:
    """Starts, stops, probes and monitors services on one node (see module docstring)."""

    def __init__(self, config: ClusterConfig, node: str, executor: ForkServer, *,
                 may_start: Callable[[], bool] = lambda: True, lease_wait: float = 0.0,
                 on_failure: Callable[[str, str, OperationResult], None] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.config = config
        self.node = node
        self.executor = executor
        self.may_start = may_start
        self.lease_wait = lease_wait
        self.on_failure = on_failure
        self.env = dict(env or {})
        self._monitors: dict[str, list[asyncio.Task[None]]] = {}

    async def _lease_held(self) -> bool:
        """A fresh lease now, or within ``lease_wait``: a member's lease is renewed by every
        heartbeat of its coordinator and may lapse for a moment when one comes late; that
        is no reason to fail a start (nothing starts until it is renewed)."""
        deadline = time.monotonic() + self.lease_wait
        while not self.may_start():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(LEASE_POLL)
        return True

    def replace_config(self, config: ClusterConfig) -> None:
        self.config = config

    def _service(self, name: str) -> Service:
        svc = self.config.service(name)
        if svc is None:
            raise KeyError(f"no service {name!r} in the configuration")
        return svc

    def _resources(self, svc: Service) -> dict[str, Resource]:
        return {r.name: r for r in svc.walk()}

    async def run(self, res: Resource, action: str, *, timeout: float | None = None,
                  interval: float = 0.0, depth: int = 0,
                  env: dict[str, str] | None = None) -> OperationResult:
        """One operation of one resource, through the warm helper (``env``: variables
        added for this operation)."""
        op = _op(res, action)
        request = OperationRequest(
            agent=res.agent, action=action, instance=res.name, params=read_params(res),
            timeout=timeout if timeout is not None else (op.timeout if op else DEFAULT_TIMEOUT),
            interval=interval, depth=depth, env={**self.env, **env} if env else self.env)
        try:
            return await self.executor.run_async(request)
        except Exception as exc:  # the helper died or refused: a failed operation, not a crash
            log.exception("executor failed on %s %s", action, res.name)
            return OperationResult(action, OCF.ERR_GENERIC, f"executor error: {exc}")

    async def start(self, service: str, resources: Sequence[str] | None = None,
                    env: dict[str, str] | None = None) -> StepOutcome:
        """Start ``resources`` (default: the whole service) in order; clean up on failure.
        ``env``: variables added to each start (``fenced_env``)."""
        svc = self._service(service)
        by_name = self._resources(svc)
        order = list(resources) if resources else list(svc.start_order)
        steps: list[tuple[str, str, str, float]] = []
        touched: list[str] = []
        for name in order:
            res = by_name[name]
            if not await self._lease_held():
                detail = (f"start of {service} stopped before {name}: {self.node} does not "
                          "hold a fresh lease from a quorum")
                await self._cleanup(service, svc, by_name, touched, steps)
                return StepOutcome(False, detail, name, tuple(steps))
            touched.append(name)
            result = await self.run(res, "start", env=env)
            steps.append((name, "start", result.code.label, result.duration))
            if not result.success:
                detail = (f"start of {name} failed: {result.code.label}"
                          + (f" ({result.reason})" if result.reason else "")
                          + (" after its timeout" if result.timed_out else ""))
                await self._cleanup(service, svc, by_name, touched, steps)
                return StepOutcome(False, detail, name, tuple(steps))
        return StepOutcome(True, f"started {', '.join(order)}", None, tuple(steps))

    async def _cleanup(self, service: str, svc: Service, by_name: dict[str, Resource],
                       touched: list[str], steps: list[tuple[str, str, str, float]]) -> None:
        """After a failed start: stop what this attempt touched, in stop order."""
        for name in [n for n in svc.stop_order if n in touched]:
            result = await self.run(by_name[name], "stop")
            steps.append((name, "stop", result.code.label, result.duration))
            if not result.success:
                log.error("stop of %s after the failed start of %s failed too: %s", name,
                          service, result.code.label)

    async def stop(self, service: str, resources: Sequence[str] | None = None) -> StepOutcome:
        """Stop ``resources`` (default: the whole service) in order; the first failure ends it.

        Stopping continues past nothing: a resource whose stop failed may still hold what
        its parents need gone, so the service is reported as a failed stop (S4).
        """
        svc = self._service(service)
        by_name = self._resources(svc)
        order = list(resources) if resources else list(svc.stop_order)
        steps: list[tuple[str, str, str, float]] = []
        for name in order:
            result = await self.run(by_name[name], "stop")
            steps.append((name, "stop", result.code.label, result.duration))
            if not result.success:
                detail = (f"stop of {name} failed: {result.code.label}"
                          + (f" ({result.reason})" if result.reason else "")
                          + (" after its timeout" if result.timed_out else ""))
                return StepOutcome(False, detail, name, tuple(steps))
        return StepOutcome(True, f"stopped {', '.join(order)}", None, tuple(steps))

    async def probe(self, service: str) -> ProbeOutcome:
        """One monitor of every resource: is any part of the service active here?"""
        svc = self._service(service)
        running: list[str] = []
        inactive: list[str] = []
        for res in svc.walk():
            _, timeout, _ = monitor_settings(res)
            result = await self.run(res, "monitor", timeout=timeout)
            if result.code.is_running:
                running.append(res.name)
            elif result.code == OCF.NOT_RUNNING:
                inactive.append(res.name)
            else:
                return ProbeOutcome("failed", res.name,
                                    f"probe of {res.name} returned {result.code.label}")
        if running:
            return ProbeOutcome("running", running[0], f"active: {', '.join(running)}",
                                tuple(inactive))
        return ProbeOutcome("stopped")

    def monitor(self, service: str, resources: Sequence[str] | None = None) -> None:
        """(Re)start the recurring monitors of a service's active ``resources`` (default all).

        Start and stop leave monitors alone: the caller says what is active afterwards.
        """
        self.unmonitor(service)
        tasks = []
        wanted = set(resources) if resources is not None else None
        for res in self._service(service).walk():
            if wanted is not None and res.name not in wanted:
                continue
            interval, timeout, depth = monitor_settings(res)
            if interval > 0:
                tasks.append(asyncio.ensure_future(
                    self._monitor_loop(service, res, interval, timeout, depth)))
        self._monitors[service] = tasks

    def unmonitor(self, service: str) -> None:
        for task in self._monitors.pop(service, []):
            task.cancel()

    def monitored(self) -> list[str]:
        return sorted(self._monitors)

    def close(self) -> None:
        for name in list(self._monitors):
            self.unmonitor(name)

    async def _monitor_loop(self, service: str, res: Resource, interval: float,
                            timeout: float, depth: int) -> None:
        loop = asyncio.get_running_loop()
        due = next_due(loop.time(), interval)
        while True:
            await sleep_until(due)
            result = await self.run(res, "monitor", timeout=timeout, interval=interval,
                                    depth=depth)
            now = loop.time()
            due = next_due(due, interval)
            if due <= now:  # the monitor took longer than its interval: a full one after it
                due = next_due(now, interval)
            if result.code.is_running:
                if result.code != OCF.SUCCESS:
                    log.warning("monitor of %s (%s) on %s: %s", res.name, service, self.node,
                                result.code.label)
                continue
            log.warning("monitor of %s (%s) on %s failed: %s%s", res.name, service, self.node,
                        result.code.label, f" ({result.reason})" if result.reason else "")
            current = asyncio.current_task()
            tasks = self._monitors.get(service, [])
            if current in tasks:  # stop the others; the coordinator decides what comes next
                self._monitors.pop(service, None)
                for task in tasks:
                    if task is not current:
                        task.cancel()
            if self.on_failure is not None:
                self.on_failure(service, res.name, result)
            return
