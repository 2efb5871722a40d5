"""Hypothesis properties of the policy engine, checked against a model of where services
may really be active: a lost node keeps its services until it is fenced or its self-stop
deadline passes (and never after a failed stop); a failed start may leave a copy behind."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenarios.compact import build_config

from hacore.config.model import ClusterConfig
from hacore.policy import apply, decide, no_quorum_actions
from hacore.policy.actions import Action
from hacore.policy.simulation import Simulation, StepResult

NODES = ["n1", "n2", "n3", "n4", "n5"]


@st.composite
def configs(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(2, 5))
    nodes = NODES[:n]
    no_fence = draw(st.lists(st.sampled_from(nodes), unique=True))
    domains = {}
    for d in range(draw(st.integers(0, 2))):
        members = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=n, unique=True))
        domains[f"d{d}"] = {"members": members, "ordered": draw(st.booleans()),
                            "restricted": draw(st.booleans()), "nofailback": draw(st.booleans())}
    services = {}
    for i in range(draw(st.integers(1, 6))):
        services[f"s{i}"] = {
            "domain": draw(st.sampled_from([None, *domains])),
            "exclusive": draw(st.booleans()) and i % 3 == 0,
            "autostart": draw(st.booleans()) or i == 0,
            "recovery": draw(st.sampled_from(["restart", "relocate", "restart-disable",
                                              "disable"])),
            "max_restarts": draw(st.integers(0, 2)),
            "restart_expire_time": draw(st.sampled_from([0, 30])),
            "resources": ["r", {"name": "sub", "independent": draw(st.booleans()),
                                "non_critical": draw(st.booleans()),
                                "max_restarts": draw(st.integers(0, 1)),
                                "restart_expire_time": 30}],
        }
        if i and draw(st.integers(0, 4)) == 0:
            services[f"s{i}"]["depend"] = "s0"
            services[f"s{i}"]["depend_mode"] = draw(st.sampled_from(["hard", "soft"]))
        services[f"s{i}"] = {k: v for k, v in services[f"s{i}"].items() if v is not None}
    data: dict[str, Any] = {"nodes": nodes, "no_fence": no_fence, "domains": domains,
                            "services": services}
    if n == 2 and draw(st.booleans()):
        data["quorum"] = {"two_node": True, "expected_votes": 1}
    return data


def steps_for(data: dict[str, Any]) -> Any:
    nodes, services = data["nodes"], list(data["services"])
    node, svc = st.sampled_from(nodes), st.sampled_from(services)
    target = st.one_of(st.just(""), node.map(lambda n: f":{n}"))
    return st.lists(st.one_of(
        node.map(lambda n: f"fail:{n}"), node.map(lambda n: f"join:{n}"),
        svc.map(lambda s: f"svc-fail:{s}"), svc.map(lambda s: f"svc-fail:{s}:sub"),
        svc.map(lambda s: f"disable:{s}"),
        st.tuples(svc, target).map(lambda t: f"enable:{t[0]}{t[1]}"),
        st.tuples(svc, target).map(lambda t: f"relocate:{t[0]}{t[1]}"),
        svc.map(lambda s: f"freeze:{s}"), svc.map(lambda s: f"unfreeze:{s}"),
        node.map(lambda n: f"standby:{n}"), node.map(lambda n: f"unstandby:{n}"),
        st.tuples(svc, node).map(lambda t: f"start-fails:{t[0]}:{t[1]}"),
        st.tuples(svc, node).map(lambda t: f"stop-fails:{t[0]}:{t[1]}"),
        node.map(lambda n: f"fence-fails:{n}"),
        st.tuples(svc, node).map(lambda t: f"running:{t[0]}:{t[1]}"),
        st.sampled_from(["wait:10", "wait:100"]),
    ), max_size=12)


class World:
    """Where each service may be active, whatever the cluster believes."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.active: dict[str, set[str]] = {s.name: set() for s in config.services}
        self.stuck: set[str] = set()  # nodes where a stop failed: they never self-stop
        self.deadlines: dict[str, float] = {}

    def on(self, node: str) -> set[str]:
        return {s for s, where in self.active.items() if node in where}

    def forget_node(self, node: str) -> None:
        for where in self.active.values():
            where.discard(node)
        self.stuck.discard(node)
        self.deadlines.pop(node, None)

    def expire(self, now: float) -> None:
        for node, deadline in list(self.deadlines.items()):
            if now >= deadline and node not in self.stuck:
                self.forget_node(node)

    def check_round(self, sim: Simulation, actions: list[Action]) -> None:
        snap = sim.snap
        if not snap.quorate:
            assert not [a for a in actions if a.kind in ("start", "restart")], "start without quorum"
        for a in actions:
            if a.kind != "start":
                continue
            assert a.service is not None and a.node is not None
            elsewhere = self.active[a.service] - {a.node}
            assert not elsewhere, f"S1/S3: {a.service} starts on {a.node} while active on {elsewhere}"
            svc = self.config.service(a.service)
            assert svc is not None
            domain = self.config.domain(svc.domain)
            if domain is not None and domain.restricted:
                assert a.node in {m.node for m in domain.members}, "restricted domain left"
            st_ = snap.status(a.service)
            admin = st_.intent in ("relocate", "enable") and st_.target == a.node
            if not admin:
                others = self.on(a.node) - {a.service}
                if svc.exclusive:
                    assert not others, f"exclusive {a.service} shares {a.node} with {others}"
                else:
                    excl = {o for o in others if self.config.service(o).exclusive}  # type: ignore[union-attr]
                    assert not excl, f"{a.service} joins exclusive {excl} on {a.node}"

    def update(self, actions: list[Action], outcomes: list[bool]) -> None:
        for a, ok in zip(actions, outcomes):
            if a.kind == "fence" and ok:
                assert a.node is not None
                self.forget_node(a.node)
            elif a.kind in ("start", "restart", "start-subtree", "restart-subtree") and a.service:
                self.active[a.service].add(a.node)  # type: ignore[arg-type]
            elif a.kind == "stop" and a.service:
                if ok:
                    self.active[a.service].discard(a.node)  # type: ignore[arg-type]
                else:
                    self.stuck.add(a.node)  # type: ignore[arg-type]
            elif a.kind == "stop-subtree" and not ok:
                self.stuck.add(a.node)  # type: ignore[arg-type]


def play(data: dict[str, Any], steps: list[str]) -> tuple[Simulation, World]:
    config = build_config(data)
    sim = Simulation(config)
    world = World(config)
    for text in ["(place)", *steps]:
        if text != "(place)":
            node = text.split(":")[1]
            if text.startswith("fail:") and node in sim.snap.members:
                result = sim.change(text)
                world.deadlines[node] = sim.snap.lost[node].self_stop_deadline  # type: ignore[assignment]
            elif text.startswith("join:") and node not in sim.snap.members:
                result = sim.change(text)
                world.forget_node(node)  # it rebooted: nothing runs there
            else:
                status = sim.snap.status(node) if node in world.active else None
                if text.startswith("disable:") and status is not None and \
                        status.state == "failed" and sim.snap.quorate and not status.frozen:
                    # disabling a failed service: the operator has cleaned up that node
                    world.active[node].discard(status.stop_failed_on or status.owner)
                    world.stuck.discard(status.stop_failed_on or status.owner)
                result = sim.change(text)
                reporter = text.split(":")[-1]
                if text.startswith("running:") and reporter in sim.snap.members:
                    world.active[node].add(reporter)
            if result.refused is not None:
                continue
        for _ in range(200):
            actions = (decide(config, sim.snap, sim.now) if sim.snap.quorate
                       else no_quorum_actions(config, sim.snap))
            world.check_round(sim, actions)
            if not actions:
                wake = sim._deadline_wait() if sim.snap.quorate else None
                if wake is None:
                    break
                sim.now = wake
                world.expire(sim.now)
                continue
            outcomes = [sim._outcome(a) for a in actions]
            world.update(actions, outcomes)
            sim.snap = apply(config, sim.snap, actions, outcomes, now=sim.now)
        world.expire(sim.now)
        for name in world.active:
            owners = world.active[name] & set(sim.snap.members)
            status = sim.snap.status(name)
            assert (len(owners) <= 1 or status.state == "failed" or status.frozen
                    or not sim.snap.quorate), f"{name} left active on {owners} after {text}"
    return sim, world


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_safety_properties_hold_for_any_steps(data: Any) -> None:
    """No start beside a possibly-active copy (S1/S3), none without quorum (S2), restricted
    domains and exclusive services respected, and the cluster settles after every step."""
    cfg = data.draw(configs())
    steps = data.draw(steps_for(cfg))
    play(cfg, steps)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_same_inputs_give_same_actions(data: Any) -> None:
    """decide is deterministic: same snapshot, same or equal config -> identical actions."""
    cfg = data.draw(configs())
    steps = data.draw(steps_for(cfg))
    sim, _ = play(cfg, steps[:-1])
    if steps:
        sim.change(steps[-1])
    first = [a.describe() for a in decide(sim.config, sim.snap, sim.now)]
    again = [a.describe() for a in decide(sim.config, sim.snap, sim.now)]
    rebuilt = [a.describe() for a in decide(build_config(cfg), sim.snap, sim.now)]
    assert first == again == rebuilt


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_nothing_is_decided_without_quorum(data: Any) -> None:
    """In an inquorate partition decide returns nothing at all."""
    from dataclasses import replace

    cfg = data.draw(configs())
    sim, _ = play(cfg, data.draw(steps_for(cfg)))
    assert decide(sim.config, replace(sim.snap, quorate=False), sim.now) == []


def _unused(_: StepResult) -> None:  # keeps the import honest for type checkers
    return None
