"""The failover budget of each service, worked out from the configuration (pure).

How long can recovery take? For each service, two scenarios:

- **node lost**: detection (``node_loss_timeout``) + fencing of the lost owner (its fence
  methods, or without one its self-stop deadline, from ``hacore.policy.facts``) + the
  start of every resource in order on the new node;
- **resource failed**: detection (the failed resource's monitor interval + timeout) + the
  stop of the service + its start (in place or elsewhere, as its recovery policy says).

Every figure is an upper bound built from the configured timeouts, never a measurement.
*best*: everything works the first time (first fence method on its first try, the owner ran
only this service); *worst*: the slowest path that still recovers (each fence method tried
with its retries before the last one succeeds at its last try, the two-node fence delay,
the owner ran every service it could, the first start times out, is killed and stopped,
and a second node starts it).

``timing_warnings`` finds timeouts that contradict each other. Nothing here reads a file, a
clock or a socket: the caller may pass ``fence_agent_time`` (what a fence agent itself may
take, from its meta-data) to compare with the time hacore allows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hacore.config.model import ClusterConfig, FenceMethod, Resource
from hacore.executor.operation import KILL_WAIT
from hacore.fencing import rules
from hacore.fencing.device import build_call
from hacore.membership.timing import MembershipTiming
from hacore.policy.facts import self_stop_deadline
from hacore.policy.index import ServicePlan, index_for
from hacore.policy.snapshot import ServiceStatus, Snapshot

#: the executor waits this long for a killed operation's processes to die (executor.spawn)
#: a service whose start may take longer than this gets a warning
START_BOUND = 300.0
#: a service whose worst-case failover may take longer than this gets a warning
FAILOVER_BOUND = 600.0
#: (fence agent name, the options it is called with) -> seconds it may itself take, or None
FenceAgentTime = Callable[[str, dict[str, str]], float | None]


@dataclass(frozen=True)
class Phase:
    """One step of a recovery with its best and worst duration and where they come from."""

    name: str
    best: float
    worst: float
    detail: str

    def to_dict(self) -> dict:
        return {"phase": self.name, "best": round(self.best, 3), "worst": round(self.worst, 3),
                "detail": self.detail}


@dataclass(frozen=True)
class Scenario:
    """A fault and the phases of its recovery; ``phases`` empty when there is no recovery
    (``note`` says why)."""

    name: str
    phases: tuple[Phase, ...] = ()
    note: str = ""

    @property
    def best(self) -> float | None:
        return sum(p.best for p in self.phases) if self.phases else None

    @property
    def worst(self) -> float | None:
        return sum(p.worst for p in self.phases) if self.phases else None

    def to_dict(self) -> dict:
        best, worst = self.best, self.worst
        return {"scenario": self.name,
                "best": None if best is None else round(best, 3),
                "worst": None if worst is None else round(worst, 3),
                "note": self.note, "phases": [p.to_dict() for p in self.phases]}


@dataclass(frozen=True)
class ServiceBudget:
    """The failover budget of one service."""

    service: str
    candidates: tuple[str, ...]
    start: tuple[tuple[str, float], ...]
    stop: tuple[tuple[str, float], ...]
    scenarios: tuple[Scenario, ...]

    def to_dict(self) -> dict:
        return {"service": self.service, "candidates": list(self.candidates),
                "start": [{"resource": r, "timeout": t} for r, t in self.start],
                "stop": [{"resource": r, "timeout": t} for r, t in self.stop],
                "scenarios": [s.to_dict() for s in self.scenarios]}


@dataclass(frozen=True)
class TimingWarning:
    """Timeouts that contradict each other: ``key`` is where in the config."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass(frozen=True)
class TimingReport:
    """Everything ``hacore timing`` prints."""

    cluster: str
    membership: MembershipTiming
    budgets: tuple[ServiceBudget, ...]
    warnings: tuple[TimingWarning, ...] = field(default=())

    def to_dict(self) -> dict:
        m = self.membership
        return {"cluster": self.cluster,
                "membership": {"node_loss_timeout": m.node_loss_timeout,
                               "heartbeat_interval": round(m.interval, 6),
                               "lease": round(m.lease, 6), "silence": round(m.silence, 6)},
                "services": [b.to_dict() for b in self.budgets],
                "warnings": [{"key": w.key, "message": w.message} for w in self.warnings]}


def _resources(plan: ServicePlan) -> dict[str, Resource]:
    return {r.name: r for r in plan.service.walk()}


def _fence_calls(config: ClusterConfig, node: str, method: FenceMethod
                 ) -> list[tuple[str, str, float, int, dict[str, str]]]:
    """(device, agent, timeout, retries, options) of each call of one method's reboot."""
    devices = {d.name: d for d in config.fence_devices}
    calls = []
    for ref in method.devices:
        device = devices.get(ref.device)
        if device is None:
            continue
        call = build_call(device, ref, node, config.timing.fence_timeout, read_secrets=False)
        calls.append((call.device, call.agent, call.timeout, call.retries, call.options))
    if len(calls) > 1:
        calls = calls + calls  # several devices: every one off, then every one on
    return calls


def fence_bounds(config: ClusterConfig, node: str) -> tuple[float, float, str] | None:
    """(best, worst, detail) for fencing ``node``; None when it has no fence method."""
    found = config.node(node)
    if found is None or not found.fence:
        return None
    per_method = []
    for method in found.fence:
        calls = _fence_calls(config, node, method)
        once = sum(t for _, _, t, _, _ in calls)
        every_try = sum(t * (r + 1) for _, _, t, r, _ in calls)
        per_method.append((method.name, once, every_try, calls))
    best = per_method[0][1]
    worst = sum(m[2] for m in per_method)  # each method fails all its tries but the last
    worst += rules.two_node_fence_delay(config, node, {node: 1})
    first = per_method[0]
    devices = ", ".join(f"{d} {t:g} s" + (f" x{r + 1} tries" if r else "")
                        for d, _, t, r, _ in first[3][:len(first[3]) // 2 or 1])
    detail = f"method {first[0]} ({devices})"
    if len(per_method) > 1:
        detail += f", then {len(per_method) - 1} more method(s)"
    return best, worst, detail


def _self_stop_wait(config: ClusterConfig, node: str, services: list[str]) -> float:
    snap = Snapshot(members={}, services={s: ServiceStatus(state="started", owner=node)
                                          for s in services})
    return self_stop_deadline(config, snap, node, 0.0) - config.timing.node_loss_timeout


def _runs_on(config: ClusterConfig, node: str) -> list[str]:
    return [p.name for p in index_for(config).plans if node in p.rank]


def _loss_phase(config: ClusterConfig, plan: ServicePlan, owners: list[str]) -> Phase:
    """Fencing or the self-stop wait, over every node that may own the service."""
    bests, worsts, details = [], [], []
    for node in owners:
        fenced = fence_bounds(config, node)
        if fenced is not None:
            best, worst, detail = fenced
        else:
            best = _self_stop_wait(config, node, [plan.name])
            worst = _self_stop_wait(config, node, _runs_on(config, node))
            detail = "no fence method: its self-stop deadline (stops + margin)"
        bests.append(best)
        worsts.append(worst)
        details.append(detail)
    groups: dict[str, list[str]] = {}
    for node, detail in zip(owners, details):
        groups.setdefault(detail, []).append(node)
    name = "fencing" if all(config.has_fencing(n) for n in owners) else (
        "self-stop wait" if not any(config.has_fencing(n) for n in owners)
        else "fencing or self-stop wait")
    return Phase(name, min(bests), max(worsts),
                 "; ".join(f"{', '.join(nodes)}: {d}" for d, nodes in groups.items()))


def _start_phase(start_sum: float, stop_sum: float, retry_elsewhere: bool,
                 start_detail: str) -> Phase:
    worst = start_sum
    detail = start_detail
    if retry_elsewhere:
        worst = start_sum + KILL_WAIT + stop_sum + start_sum
        detail += "; worst: the first start times out, is killed and stopped, another node starts it"
    return Phase("start", start_sum, worst, detail)


def service_budget(config: ClusterConfig, plan: ServicePlan) -> ServiceBudget:
    """The two scenarios of one service."""
    res = _resources(plan)
    start = tuple((r, res[r].start_timeout) for r in plan.start_resources)
    stop = tuple((r, res[r].stop_timeout) for r in plan.stop_resources)
    start_sum, stop_sum = sum(t for _, t in start), sum(t for _, t in stop)
    start_detail = " + ".join(f"{r} {t:g} s" for r, t in start) or "no resources"
    candidates = tuple(sorted(plan.rank, key=lambda n: (plan.rank[n],
                                                        index_for(config).node_order[n])))
    timing = config.timing
    scenarios = []
    if len(candidates) < 2:
        scenarios.append(Scenario("node lost", note="no other node may run it: it runs again "
                                  "only when its node returns"))
    else:
        scenarios.append(Scenario("node lost", (
            Phase("detection", timing.node_loss_timeout, timing.node_loss_timeout,
                  "node_loss_timeout"),
            _loss_phase(config, plan, list(candidates)),
            _start_phase(start_sum, stop_sum, len(candidates) >= 3, start_detail))))
    stop_detail = " + ".join(f"{r} {t:g} s" for r, t in stop)
    scenarios.append(_resource_failed(plan, res, start_sum, stop_sum, start_detail,
                                      stop_detail, len(candidates) >= 2))
    return ServiceBudget(plan.name, candidates, start, stop, tuple(scenarios))


def _resource_failed(plan: ServicePlan, res: dict[str, Resource], start_sum: float,
                     stop_sum: float, start_detail: str, stop_detail: str,
                     elsewhere: bool) -> Scenario:
    recovery = plan.service.recovery
    if not res:
        return Scenario("resource failed", note="the service has no resources")
    if recovery == "disable":
        return Scenario("resource failed", note="recovery = disable: it is stopped and stays "
                        "disabled until an administrator enables it")
    worst_detect, slowest = 0.0, ""
    for r in res.values():
        mons = [op for op in r.operations if op.name == "monitor" and op.interval > 0]
        if not mons:
            continue
        quickest = min(op.interval + op.timeout for op in mons)
        if quickest > worst_detect:
            worst_detect, slowest = quickest, r.name
    if not slowest:
        return Scenario("resource failed", note="no resource has a recurring monitor: a "
                        "failure is never noticed")
    mon = min((op for op in res[slowest].operations if op.name == "monitor" and op.interval > 0),
              key=lambda op: op.interval + op.timeout)
    return Scenario("resource failed", (
        Phase("detection", 0.0, worst_detect, f"{slowest}: monitor every {mon.interval:g} s, "
              f"timeout {mon.timeout:g} s"),
        Phase("stop", stop_sum, stop_sum, stop_detail),
        _start_phase(start_sum, stop_sum, elsewhere and recovery != "restart-disable",
                     start_detail + (" (in place first)" if recovery.startswith("restart")
                                     else ""))))


def failover_budgets(config: ClusterConfig, *, fence_agent_time: FenceAgentTime | None = None
                     ) -> TimingReport:
    """The budget of every service (config order) and the warnings."""
    from hacore.policy.budget_checks import timing_warnings

    ix = index_for(config)
    budgets = tuple(service_budget(config, plan) for plan in ix.plans)
    return TimingReport(config.name, MembershipTiming.from_config(config.timing), budgets,
                        tuple(timing_warnings(config, budgets, fence_agent_time)))
