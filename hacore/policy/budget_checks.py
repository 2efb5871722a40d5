"""Timeouts that contradict each other (pure): the warnings of ``hacore timing``.

Each warning names the config key and says what happens and what to change:

- a monitor whose timeout is longer than its interval (checks queue up behind a slow one);
- a fence device allowed less time than the agent itself may take (``fence_agent_time``);
- ``self_stop_margin`` shorter than the executor's kill wait, where a node has no fence
  method (a stop killed at its timeout may still be dying when the survivors' wait ends);
- a lease not shorter than the silence after which a node is lost;
- ``max_restarts`` within ``restart_expire_time`` that can never be reached (restarts come
  less often than the window allows, so the service restarts in place forever);
- a service whose start, or whole worst-case failover, exceeds a sensible bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hacore.config.model import ClusterConfig, Resource
from hacore.membership.timing import MembershipTiming
from hacore.policy.budget import (
    FAILOVER_BOUND,
    KILL_WAIT,
    START_BOUND,
    FenceAgentTime,
    ServiceBudget,
    TimingWarning,
    _fence_calls,
)
from hacore.policy.index import index_for


def _where(service: str, res: Resource, global_names: set[str]) -> str:
    if res.name in global_names:
        return f"resources.{res.name}"
    return f"services.{service}.resources.{res.name}"


def timing_warnings(config: ClusterConfig, budgets: Iterable[ServiceBudget],
                    fence_agent_time: FenceAgentTime | None = None) -> Iterator[TimingWarning]:
    """Every contradiction found, in config order."""
    yield from _monitor_warnings(config)
    yield from _fence_warnings(config, fence_agent_time)
    yield from _membership_warnings(config)
    yield from _restart_warnings(config)
    for b in budgets:
        start = sum(t for _, t in b.start)
        if start > START_BOUND:
            slowest = max(b.start, key=lambda rt: rt[1])
            yield TimingWarning(f"services.{b.service}", f"its start may take {start:g} s "
                                f"(longest: {slowest[0]} {slowest[1]:g} s), more than "
                                f"{START_BOUND:g} s: every failover waits for it; lower the "
                                "start timeouts to what a start really needs")
        worst = max((s.worst for s in b.scenarios if s.worst is not None), default=0.0)
        if worst > FAILOVER_BOUND:
            scenario = max((s for s in b.scenarios if s.worst is not None),
                           key=lambda s: s.worst or 0.0)
            phase = max(scenario.phases, key=lambda p: p.worst)
            yield TimingWarning(f"services.{b.service}", f"a failover ({scenario.name}) may "
                                f"take up to {worst:g} s, more than {FAILOVER_BOUND:g} s; "
                                f"most of it is {phase.name} ({phase.worst:g} s: {phase.detail})")


def _monitor_warnings(config: ClusterConfig) -> Iterator[TimingWarning]:
    global_names = {r.name for r in config.resources}
    seen: set[str] = set()
    for svc in config.services:
        for res in svc.walk():
            where = _where(svc.name, res, global_names)
            if where in seen:
                continue
            seen.add(where)
            for op in res.operations:
                if op.name == "monitor" and 0 < op.interval < op.timeout:
                    yield TimingWarning(f"{where}.operations.monitor", f"timeout "
                                        f"{op.timeout:g} s is longer than the interval "
                                        f"{op.interval:g} s (depth {op.depth}): a slow check "
                                        "delays the next, and a failure is noticed only after "
                                        "interval + timeout; make the interval at least the "
                                        "timeout")


def _fence_warnings(config: ClusterConfig, agent_time: FenceAgentTime | None
                    ) -> Iterator[TimingWarning]:
    if agent_time is None:
        return
    reported: set[str] = set()
    for node in config.nodes:
        for method in node.fence:
            for device, agent, timeout, _, options in _fence_calls(config, node.name, method):
                if device in reported:
                    continue
                own = agent_time(agent, options)
                if own is not None and timeout < own:
                    reported.add(device)
                    yield TimingWarning(f"fence_devices.{device}", f"hacore allows {timeout:g} s "
                                        f"per call but {agent} may itself take {own:g} s "
                                        "(login + power timeouts of its meta-data): a slow but "
                                        "working fence would count as failed; raise "
                                        "timing.fence_timeout or this device's hacore_timeout")


def _membership_warnings(config: ClusterConfig) -> Iterator[TimingWarning]:
    m = MembershipTiming.from_config(config.timing)
    if m.lease >= m.silence:
        yield TimingWarning("timing.node_loss_timeout", f"the lease ({m.lease:g} s) is not "
                            f"shorter than the silence after which a node is lost "
                            f"({m.silence:g} s): a cut-off node could still act")
    unfenced = [n.name for n in config.nodes if not n.fence]
    if unfenced and config.timing.self_stop_margin < KILL_WAIT:
        yield TimingWarning("timing.self_stop_margin", f"{config.timing.self_stop_margin:g} s "
                            f"is shorter than the {KILL_WAIT:g} s the executor may wait for a "
                            f"killed stop to die, and {', '.join(unfenced)} "
                            f"{'has' if len(unfenced) == 1 else 'have'} no fence method: "
                            "the survivors could start a service while its old copy is still "
                            f"dying; set self_stop_margin >= {KILL_WAIT:g} (or configure fencing)")


def _restart_warnings(config: ClusterConfig) -> Iterator[TimingWarning]:
    for plan in index_for(config).plans:
        svc = plan.service
        if svc.max_restarts <= 0 or svc.restart_expire_time <= 0:
            continue
        intervals = [op.interval for r in svc.walk() for op in r.operations
                     if op.name == "monitor" and op.interval > 0]
        if not intervals:
            continue
        spacing = min(intervals)
        if svc.max_restarts * spacing > svc.restart_expire_time:
            yield TimingWarning(f"services.{svc.name}.restart_expire_time",
                                f"{svc.max_restarts} restarts within {svc.restart_expire_time:g} s "
                                f"can never be counted: failures are noticed at most every "
                                f"{spacing:g} s (the shortest monitor interval), so "
                                f"{svc.max_restarts} of them span at least "
                                f"{svc.max_restarts * spacing:g} s and {svc.name} restarts in "
                                f"place forever; make restart_expire_time at least "
                                f"{svc.max_restarts * spacing:g} s")
