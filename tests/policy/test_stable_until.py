"""``stable_until(config, snapshot, now)``: for every time t in [now, until) decide answers
as at ``now`` (the coordinator skips rounds on it, issue 9). Checked on every decide input
of the named scenarios and of generated sessions, at the instants where a time rule could
flip (each self-stop deadline and restart-window end, and just before and after them),
whatever ``stable_until`` itself computed; and a window end and a deadline do flip the
answer exactly at the time it gives."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenarios.compact import build_config
from scenarios.test_scenarios import SCENARIOS, run_scenario

from hacore.config.model import ClusterConfig
from hacore.policy import Report, Snapshot, decide, simulation, stable_until
from hacore.policy.index import index_for
from hacore.policy.simulation import Simulation, StepResult
from policy.test_properties import configs, steps_for

Round = tuple[ClusterConfig, Snapshot, float]


@contextmanager
def recording() -> Iterator[list[Round]]:
    """Every (config, snapshot, now) the simulation decides from, while in the block."""
    rounds: list[Round] = []
    real = simulation.decide

    def spy(config: ClusterConfig, snap: Snapshot, now: float) -> Any:
        rounds.append((config, snap, now))
        return real(config, snap, now)

    with patch.object(simulation, "decide", spy):
        yield rounds


def flip_points(config: ClusterConfig, snap: Snapshot) -> set[float]:
    """Every instant a time rule reads: self-stop deadlines and restart-window ends (for
    each window length in the config), found independently of stable_until."""
    expires = {p.service.restart_expire_time for p in index_for(config).plans}
    expires |= {sub.restart_expire_time for p in index_for(config).plans
                for sub in p.subtrees.values()}
    points = {ln.self_stop_deadline for ln in snap.lost.values()
              if ln.self_stop_deadline is not None}
    for st_ in snap.services.values():
        stamps = set(st_.restarts)
        for history in st_.subtree_restarts.values():
            stamps |= set(history)
        points |= {t + e for t in stamps for e in expires if e > 0}
    return points


def times_to_check(config: ClusterConfig, snap: Snapshot, now: float, until: float) -> set[float]:
    near = set()
    for p in flip_points(config, snap):
        near |= {p, math.nextafter(p, -math.inf), math.nextafter(p, math.inf)}
    far = {now + d for d in (0.0, 0.5, 1.0, 10.0, 100.0, 1e4)}
    if until < math.inf:
        far |= {(now + until) / 2, math.nextafter(until, -math.inf)}
    return {t for t in near | far if now <= t < until}


def check_rounds(rounds: list[Round]) -> int:
    """Assert the property on each round; return how many had a finite horizon."""
    finite = 0
    for config, snap, now in rounds:
        until = stable_until(config, snap, now)
        assert until > now
        finite += until < math.inf
        want = decide(config, snap, now)
        for t in sorted(times_to_check(config, snap, now, until)):
            assert decide(config, snap, t) == want, (
                f"decide changed at {t} (now {now}, stable_until {until})")
    return finite


def test_the_answer_holds_until_stable_until_in_every_scenario_round() -> None:
    """Every decide input of every named scenario: the same answer until stable_until."""
    with recording() as rounds:
        for path in SCENARIOS:
            run_scenario(path)
    assert len(rounds) > 200
    assert check_rounds(rounds) >= 20  # the time rules are exercised, not only +inf


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_answer_holds_until_stable_until_in_generated_sessions(data: Any) -> None:
    """Generated clusters and steps (failures, waits, failed monitors...), and the same
    snapshots with failed monitors and restart histories near ``now`` added."""
    cfg = data.draw(configs())
    steps = data.draw(steps_for(cfg))
    config = build_config(cfg)
    sim = Simulation(config)
    with recording() as rounds:
        sim.settle(StepResult("place"))
        for text in steps:
            sim.step(text)
    extra: list[Round] = []
    for config_, snap, now in rounds[-5:]:
        services = dict(snap.services)
        reports = dict(snap.reports)
        for name, st_ in snap.services.items():
            if st_.state == "started" and st_.owner is not None and data.draw(st.booleans()):
                ago = data.draw(st.lists(st.sampled_from([0.0, 5.0, 29.0, 30.0, 31.0]),
                                         max_size=3))
                services[name] = replace(st_, restarts=tuple(now - a for a in ago),
                                         subtree_restarts={"sub": tuple(now - a for a in ago)})
                reports[name] = {st_.owner: Report("failed", data.draw(
                    st.sampled_from([None, "r", "sub"])))}
        extra.append((config_, replace(snap, services=services, reports=reports), now))
    check_rounds(rounds + extra)


def test_a_restart_window_flips_the_answer_exactly_at_stable_until() -> None:
    """One restart allowed in 30 s, one used at t=0, the monitor fails again: relocate
    before t=30, restart from t=30 on, and stable_until says 30."""
    config = build_config({"nodes": ["n1", "n2"], "services": {"web": {
        "resources": ["r"], "max_restarts": 1, "restart_expire_time": 30}}})
    sim = Simulation(config)
    sim.settle(StepResult("place"))
    st_ = sim.snap.status("web")
    snap = replace(sim.snap, services={"web": replace(st_, restarts=(0.0,))},
                   reports={"web": {st_.owner: Report("failed", "r")}})
    assert stable_until(config, snap, 10.0) == 30.0
    before = decide(config, snap, math.nextafter(30.0, 0.0))
    after = decide(config, snap, 30.0)
    assert [(a.kind, a.intent) for a in before] == [("stop", "recover")]
    assert [a.kind for a in after] == ["restart"]
    assert stable_until(config, snap, 30.0) == math.inf


def test_a_self_stop_deadline_flips_the_answer_exactly_at_stable_until() -> None:
    """A lost owner without a fence method: nothing before its deadline, its service
    started elsewhere from the deadline on; stable_until names the deadline."""
    config = build_config({"nodes": ["n1", "n2", "n3"], "no_fence": ["n1", "n2", "n3"],
                           "services": {"web": {"resources": ["r"]}}})
    sim = Simulation(config)
    sim.settle(StepResult("place"))
    owner = sim.snap.status("web").owner
    sim.change(f"fail:{owner}")
    snap, now = sim.snap, sim.now
    deadline = snap.lost[owner].self_stop_deadline
    assert deadline is not None and deadline > now
    assert stable_until(config, snap, now) == deadline
    assert decide(config, snap, math.nextafter(deadline, 0.0)) == []
    assert [a.kind for a in decide(config, snap, deadline)] == ["start"]


def test_without_quorum_the_answer_never_changes() -> None:
    """No quorum: decide answers nothing at any time, so stable_until is +inf."""
    config = build_config({"nodes": ["n1", "n2", "n3"], "services": {"web": {"resources": ["r"]}}})
    sim = Simulation(config)
    sim.settle(StepResult("place"))
    snap = replace(sim.snap, quorate=False)
    assert stable_until(config, snap, 5.0) == math.inf
