"""LocalNode: this node's share of the work: run the coordinator's ops, report, obey S2.

- An op message is run at most once: its id is recorded with its outcome in the state file;
  a retried id gets the recorded result again, an id still running is ignored. Only the
  node the membership view names as coordinator is obeyed.
- Ops on one service never overlap (a lock per service); every resource start asks the
  provider for a fresh lease at that moment (the runner's ``may_start``).
- Status (what runs here, what failed) goes to the coordinator every second and at once on
  every change, numbered so that the coordinator can tell it from an older one.
- Without quorum, or after the provider reports a stall of this node's loop, the no-quorum
  rule (``hacore.policy.no_quorum_actions``, stop by default) runs here, locally (S2).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.events import EventLog
from hacore.daemon.runner import ServiceRunner, StepOutcome, fenced_env, monitor_settings
from hacore.daemon.store import LocalState, LocalStore
from hacore.daemon.watchdog import AliveSignal, node_healthy
from hacore.executor.operation import KILL_WAIT, OperationResult
from hacore.membership.contract import MembershipView
from hacore.policy import ServiceStatus, Snapshot, no_quorum_actions

log = logging.getLogger("hacore.daemon")

#: idle services probed at once (their probes run in one forked child: executor.batch)
PROBE_BATCH = 128


class LocalNode:
    """Runs ops for the coordinator and keeps ``active`` (service -> active resources)."""

    def __init__(self, config: ClusterConfig, node: str, runner: ServiceRunner,
                 store: LocalStore, state: LocalState,
                 send: Callable[[str, str, dict[str, Any]], None],
                 view: Callable[[], MembershipView], events: EventLog | None = None) -> None:
        self.config = config
        self.node = node
        self.runner = runner
        self.store = store
        self.state = state
        self.send = send
        self.view = view
        self.events = events or EventLog(None, node)
        self.active: dict[str, list[str]] = {k: list(v) for k, v in state.local.items()}
        self.failed: dict[str, str] = {}
        self.seq = 0
        self.stalled = False
        self.withdrawn = False  # left the membership on purpose: acts as out of quorum
        self.closing = False  # shutting down: no new op is accepted
        self.frozen: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping: set[str] = set()
        self.quorum_lost_at: float | None = None  # monotonic, while out of quorum
        self.alive = AliveSignal.from_env()  # the beat the supervisor's watchdog feeder reads
        #: self_stop_budget's last answer, for (configuration, active services)
        self._budget: tuple[ClusterConfig, frozenset[str], float] | None = None
        #: whether a service is in maintenance (set by the NodeDaemon from the cluster state)
        self.unmanaged: Callable[[str], bool] = lambda service: False
        self._watching: dict[str, asyncio.Task[None]] = {}
        #: services in maintenance found running at start-up, spared by the no-quorum rule
        #: until this daemon first sees quorum or the deadline (monotonic) passes
        self._startup_hold: set[str] = set()
        self._hold_until = 0.0
        runner.on_failure = self.on_monitor_failure

    def _lock(self, service: str) -> asyncio.Lock:
        return self._locks.setdefault(service, asyncio.Lock())

    def _save(self) -> None:
        self.state.local = {k: list(v) for k, v in self.active.items()}
        self.store.save(self.state)

    # -- what runs here -------------------------------------------------------------------

    async def probe_all(self) -> None:
        """At start-up: find what already runs here (adopted, never restarted)."""
        for svc in self.config.services:
            await self.probe(svc.name, startup=True)
        self.seq += 1
        self._save()

    async def probe_idle(self) -> None:
        """Now and then: probe the services this node does not run, to find a copy started
        outside the cluster (S1); one found is reported and the coordinator stops it."""
        idle = [svc.name for svc in self.config.services
                if svc.name not in self.active and not self._lock(svc.name).locked()]
        for first in range(0, len(idle), PROBE_BATCH):
            names = idle[first:first + PROBE_BATCH]  # their probes run as one batch
            found = await asyncio.gather(*(self.probe(name, startup=False) for name in names),
                                         return_exceptions=True)
            for name, outcome in zip(names, found):
                if isinstance(outcome, BaseException):
                    log.error("probe of %s on %s failed: %r", name, self.node, outcome)
            if any(outcome is True for outcome in found):
                self.seq += 1
                self._save()
                self.report()

    async def probe(self, service: str, startup: bool) -> bool:
        """Probe one service; True when it was found active (it is then in ``active``)."""
        svc = self.config.service(service)
        assert svc is not None
        async with self._lock(service):
            if not startup and service in self.active:
                return False
            found = await self.runner.probe(service)
            if found.status == "stopped":
                self.active.pop(service, None)
                return False
            self.active[service] = list(svc.start_order)
            if found.status == "failed":
                self.failed[service] = found.resource or ""
                log.warning("probe of %s on %s failed (%s): reported as possibly active",
                            service, self.node, found.detail)
            else:
                self.failed.pop(service, None)
                log.warning("probe: %s is active on %s (%s); reported to the coordinator, "
                            "not restarted", service, self.node, found.detail)
                self.runner.monitor(service)
            return True

    def status_body(self) -> dict[str, Any]:
        services = {}
        for name in self.active:
            if name in self.failed:
                services[name] = {"status": "failed", "resource": self.failed[name] or None}
            else:
                services[name] = {"status": "running", "resource": None}
        return {"seq": self.seq, "epoch": self.view().epoch, "services": services,
                "state_version": self.state.cluster_version}

    def report(self) -> None:
        """Send this node's status to the coordinator (if there is one)."""
        coordinator = self.view().coordinator
        if coordinator is not None:
            self.send(coordinator, "status", self.status_body())

    def on_monitor_failure(self, service: str, resource: str, result: OperationResult) -> None:
        self.failed[service] = resource
        self.seq += 1
        log.warning("%s on %s: monitor of %s says %s; reported to the coordinator", service,
                    self.node, resource, result.code.label)
        self.report()
        if self.unmanaged(service) and service not in self._watching:
            self._watching[service] = asyncio.ensure_future(self._watch_in_maintenance(service))

    async def _watch_in_maintenance(self, service: str) -> None:
        """A service in maintenance whose monitor failed: nobody restarts it, so keep
        probing it at its monitor interval; fixed by hand, it is reported running again and
        monitored as before. Ends when it runs again or leaves maintenance."""
        svc = self.config.service(service)
        try:
            intervals = [monitor_settings(r)[0] for r in svc.walk()] if svc else []
            interval = min((i for i in intervals if i > 0), default=10.0)
            while service in self.failed and self.unmanaged(service) and not self.closing:
                await asyncio.sleep(interval)
                async with self._lock(service):
                    if service not in self.failed or not self.unmanaged(service):
                        return
                    found = await self.runner.probe(service)
                    if found.status == "running" and not found.inactive:
                        self.failed.pop(service, None)
                        self.seq += 1
                        log.warning("%s runs again on %s (in maintenance): monitored again",
                                    service, self.node)
                        self.runner.monitor(service, self.active.get(service))
                        self.report()
                        return
        finally:
            self._watching.pop(service, None)

    # -- ops from the coordinator ---------------------------------------------------------

    def on_op(self, sender: str, msg: dict[str, Any]) -> None:
        op_id = str(msg.get("id"))
        if self.closing:
            log.info("ignored op %s: %s is shutting down", op_id, self.node)
            return
        coordinator = self.view().coordinator
        if sender != coordinator:
            log.warning("ignored op %s from %s: the coordinator is %s", op_id, sender,
                        coordinator)
            return
        done = self.state.done.get(op_id)
        if done is not None:
            self.send(sender, "result", done)  # a retry: the same answer, nothing run again
            return
        if op_id in self._running:
            return
        self._running[op_id] = asyncio.ensure_future(self._run_op(sender, op_id, msg))

    async def _run_op(self, sender: str, op_id: str, msg: dict[str, Any]) -> None:
        kind, service = msg["kind"], msg["service"]
        resources = list(msg.get("resources") or [])
        try:
            async with self._lock(service):
                out = await self.execute(kind, service, resources, env=fenced_env(msg))
        except Exception as exc:
            log.exception("op %s (%s %s) failed with an exception", op_id, kind, service)
            out = StepOutcome(False, f"internal error ({type(exc).__name__}: {exc})")
        incident = msg.get("incident") if isinstance(msg.get("incident"), str) else None
        self.events.steps(service, out.steps, out.resource, out.detail, incident)
        self.seq += 1
        result = {"id": op_id, "ok": out.ok, "detail": out.detail, "seq": self.seq,
                  "kind": kind, "service": service, "node": self.node,
                  "duration": round(sum(s[3] for s in out.steps), 3)}
        self.state.done[op_id] = result
        self._save()
        self._running.pop(op_id, None)
        self.send(sender, "result", result)
        if kind == "probe":  # the coordinator waits for the status after a probe
            self.report()

    async def execute(self, kind: str, service: str, resources: list[str],
                      env: dict[str, str] | None = None) -> StepOutcome:
        """Carry out one action's part on this node; keeps ``active`` and monitors right.
        ``env``: variables added to a start's operations (runner.fenced_env)."""
        svc = self.config.service(service)
        if svc is None:
            return StepOutcome(False, f"no service {service!r} in this node's configuration")
        if kind == "probe":
            return await self._probe_op(service, svc.start_order)
        runner = self.runner
        active = self.active.get(service, [])
        self.frozen.discard(service)
        if kind in ("start", "start-subtree"):
            out = await runner.start(service, resources or None, env=env)
            names = set(active) | set(resources or svc.start_order)
            self.active[service] = [n for n in svc.start_order if n in names]
            if out.ok:
                self.failed.pop(service, None)
                runner.monitor(service, self.active[service])
            return out
        if kind in ("stop", "stop-subtree"):
            runner.unmonitor(service)
            out = await runner.stop(service, resources or None)
            if out.ok:
                left = [n for n in active if n not in set(resources or svc.stop_order)]
                if left and kind == "stop-subtree":
                    self.active[service] = left
                    self.failed.pop(service, None)
                    runner.monitor(service, left)
                else:
                    self.active.pop(service, None)
                    self.failed.pop(service, None)
            return out
        if kind in ("restart", "restart-subtree"):
            runner.unmonitor(service)
            to_stop = (list(svc.stop_order) if kind == "restart"
                       else [n for n in svc.stop_order if n in set(resources)])
            out = await runner.stop(service, to_stop)
            if not out.ok:
                return out
            started = await runner.start(service, resources or None)
            if kind == "restart":
                self.active[service] = list(resources or svc.start_order)
            if started.ok:
                self.failed.pop(service, None)
                runner.monitor(service, self.active.get(service))
            return StepOutcome(started.ok, started.detail, started.resource,
                               out.steps + started.steps)
        return StepOutcome(False, f"unknown op kind {kind!r}")

    async def _probe_op(self, service: str, start_order: tuple[str, ...] | list[str]
                        ) -> StepOutcome:
        """The coordinator's ``probe`` op (the service left maintenance): find afresh what
        runs here, whatever this node believed, and monitor it. Called under its lock."""
        found = await self.runner.probe(service)
        if found.status == "stopped":
            self.runner.unmonitor(service)
            self.active.pop(service, None)
            self.failed.pop(service, None)
            return StepOutcome(True, f"probe: {service} is not active on {self.node}")
        self.active[service] = self.active.get(service) or list(start_order)
        if found.status == "failed" or found.inactive:  # a probe error, or partly running
            self.runner.unmonitor(service)
            self.failed[service] = (found.inactive[0] if found.status == "running"
                                    else found.resource or "")
        else:
            self.failed.pop(service, None)
            self.runner.monitor(service, self.active[service])
        return StepOutcome(True, f"probe: {service} is {found.status} on {self.node} "
                                 f"({found.detail})")

    # -- S2: the no-quorum rule -----------------------------------------------------------

    def enforce_no_quorum(self) -> None:
        """Run the no-quorum rule when this node is out of quorum (or stalled); tell the
        supervisor whether the node is healthy (its watchdog is fed only then)."""
        view = self.view()
        now = time.monotonic()
        if view.quorate:
            self.quorum_lost_at = None
        elif self.quorum_lost_at is None:
            self.quorum_lost_at = now
        grace = self.config.timing.election_grace
        self.alive.beat(node_healthy(
            quorate=view.quorate, stalled=self.stalled or self.withdrawn,
            holds=bool(self.active),
            quorum_lost_at=self.quorum_lost_at,
            self_stop_budget=grace + self.self_stop_budget(), now=now))
        cut_off = self.stalled or self.withdrawn
        if view.quorate or cut_off or now >= self._hold_until:
            self._startup_hold = set()
        if (view.quorate and not cut_off) or not self.active:
            return
        if (not cut_off and self.quorum_lost_at is not None
                and view.quorum.total >= view.quorum.quorum
                and now - self.quorum_lost_at < grace):
            return  # an election: the votes are here, a coordinator's lease is not yet
        services = {name: ServiceStatus(state="started", owner=self.node,
                                        frozen=name in self.frozen)
                    for name in self.active if name not in self._startup_hold}
        local = Snapshot(members={m: 0 for m in view.member_names()}, quorate=False,
                         services=services, local=self.node)
        why = ("its loop stalled" if self.stalled else
               "it left the membership" if self.withdrawn else view.quorum.reason or None)
        for action in no_quorum_actions(self.config, local, why):
            name = action.service
            assert name is not None
            if action.kind == "freeze":
                self.frozen.add(name)
                self.runner.unmonitor(name)
                log.warning("%s", action.reason)
            elif action.kind == "stop" and name not in self._stopping:
                self._stopping.add(name)
                log.warning("%s", action.reason)
                asyncio.ensure_future(self._stop_alone(name, list(action.resources)))

    def hold_at_startup(self, services: set[str], grace: float) -> None:
        """Services in maintenance that start-up probes found running (the cluster left them
        running for this node, e.g. a daemon upgrade): the no-quorum rule spares them until
        this daemon first sees quorum, at most ``grace`` seconds. The cluster does not
        recover them elsewhere meanwhile (maintenance; a node that left keeping them is
        fenced before they are recovered), so S2 has nothing to protect yet; a daemon that
        starts into a partition still stops them after the grace."""
        self._startup_hold = set(services) & set(self.active)
        self._hold_until = time.monotonic() + grace
        if self._startup_hold:
            log.info("%s found %s running in maintenance: kept while it joins (at most %g s)",
                     self.node, ", ".join(sorted(self._startup_hold)), grace)

    def self_stop_budget(self) -> float:
        """The time the stops of what runs here may take (with kill escalation): after it
        without quorum, a node still holding a service is not healthy (watchdog).

        Asked every tick; recomputed only when the configuration or the set of active
        services changed (with 100 services the sum took 1.4 ms: 0.7 % CPU at 5 ticks/s)."""
        active = frozenset(self.active)
        cached = self._budget
        if cached is not None and cached[0] is self.config and cached[1] == active:
            return cached[2]
        services = {svc.name: svc for svc in self.config.services}
        total = 0.0
        for name in active:
            svc = services.get(name)
            if svc is not None:
                total += svc.stop_budget + KILL_WAIT * len(svc.walk())
        self._budget = (self.config, active, total)
        return total

    async def _stop_alone(self, service: str, resources: list[str]) -> None:
        try:
            async with self._lock(service):
                if service not in self.active:
                    return
                out = await self.execute("stop", service, resources)
                self.events.steps(service, out.steps, out.resource, out.detail, None)
                self.seq += 1
                self._save()
            if out.ok:
                log.warning("stopped %s on %s without quorum", service, self.node)
            else:
                log.error("stop of %s on %s without quorum FAILED: %s; it may still hold its "
                          "resources, only fencing can make it safe (S4)", service, self.node,
                          out.detail)
        finally:
            self._stopping.discard(service)

    async def stop_everything(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Stop every active service here but ``keep`` (services in maintenance), in stop
        order (a clean shutdown)."""
        for name in list(self.active):
            if name in keep:
                log.warning("%s keeps running on %s: it is in maintenance", name, self.node)
                continue
            async with self._lock(name):
                out = await self.execute("stop", name, [])
            self.events.steps(name, out.steps, out.resource, out.detail, None)
            log.info("stopped %s on %s for shutdown: %s", name, self.node, out.detail)
        self._save()
