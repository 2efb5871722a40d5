"""The fault campaign's schedule: a seeded random list of faults for one episode.

Pure: no I/O and no clock. ``make_schedule(seed, ...)`` gives the same list for the same
arguments, so any episode is replayed from its seed. Targets may be ``owner:SERVICE``
(whichever node runs SERVICE when the fault starts, resolved by the runner and recorded).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

NODE_KINDS = ("crash", "kill9", "pause", "freeze", "reboot")
NET_KINDS = ("partition", "oneway", "cut", "loss")
AGENT_KINDS = ("agent_hang", "agent_fail")
ADMIN_KINDS = ("admin",)
ALL_KINDS = NODE_KINDS + NET_KINDS + AGENT_KINDS + ADMIN_KINDS
ADMIN_OPS = ("disable", "enable", "relocate")

# seconds a node stays "busy" after an instantaneous fault (reboot, kill -9), so that the
# next node fault does not hit it while it comes back
_SETTLE = 5.0
_MAX_NODE_FAULTS = 2
AGENT_SERVICE = "job"  # the service whose agent the agent faults break  # at most two of five nodes down or stalled at once: quorum is 3


@dataclass(frozen=True)
class Fault:
    """One fault: starts ``at`` seconds into the episode and is undone ``duration`` s later.

    ``target``: a node name, ``owner:SERVICE`` or None (network faults name their nodes in
    ``args``; admin commands name service, op, via node and target node in ``args``).
    """

    at: float
    kind: str
    target: str | None = None
    duration: float = 0.0
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.at + self.duration

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        return cls(**data)

    def __str__(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        who = f" {self.target}" if self.target else ""
        span = f" for {self.duration:.1f}s" if self.duration else ""
        return f"t={self.at:5.1f} {self.kind}{who}{span}{' ' + extra if extra else ''}"


def _node_target(rng: random.Random, free: list[str], services: Sequence[str]) -> str:
    """Half the time the owner of a service (the interesting victim), else any free node."""
    if services and rng.random() < 0.5:
        return f"owner:{rng.choice(list(services))}"
    return rng.choice(free)


def _net_args(kind: str, rng: random.Random, nodes: Sequence[str]) -> dict[str, Any]:
    names = list(nodes)
    if kind == "partition":
        minority = rng.sample(names, rng.choice((1, 2)))
        return {"groups": [sorted(minority), sorted(n for n in names if n not in minority)]}
    if kind == "oneway":
        src, dst = rng.sample(names, 2)
        return {"src": src, "dst": dst}
    if kind == "cut":
        a, b = sorted(rng.sample(names, 2))
        return {"a": a, "b": b}
    return {"node": rng.choice(names), "loss": 30}


def _admin_args(rng: random.Random, nodes: Sequence[str],
                services: Sequence[str]) -> dict[str, Any]:
    op = rng.choice(ADMIN_OPS)
    args: dict[str, Any] = {"op": op, "service": rng.choice(list(services)),
                            "via": rng.choice(list(nodes))}
    if op == "relocate" and rng.random() < 0.5:
        args["to"] = rng.choice(list(nodes))
    return args


def make_schedule(seed: int, nodes: Sequence[str], services: Sequence[str],
                  length: float = 30.0, kinds: Sequence[str] = ALL_KINDS,
                  max_pause: float = 10.0) -> list[Fault]:
    """The faults of one episode of ``length`` seconds, drawn from ``random.Random(seed)``.

    At most one network fault at a time (the testbed heals them all at once), at most two
    nodes under a node fault at once and never one node twice, agent faults on a node
    not under another one. Pauses and freezes last up to ``max_pause`` s (longer than the
    self-stop deadline to reach the window of DESIGN.md's S3); every other fault ends by
    ``length`` + 12 s.
    """
    if not kinds:
        raise ValueError("no fault kinds to draw from")
    rng = random.Random(seed)
    faults: list[Fault] = []
    busy: dict[str, float] = {}  # node (or owner:SERVICE) -> free again at
    net_free = 0.0
    t = rng.uniform(0.5, 2.0)
    while t < length:
        kind = rng.choice(list(kinds))
        free = [n for n in nodes if busy.get(n, 0.0) <= t]
        stalled = sum(1 for until in busy.values() if until > t)
        fault: Fault | None = None
        if kind in NODE_KINDS + AGENT_KINDS and free and stalled < _MAX_NODE_FAULTS:
            owners = [s for s in services if busy.get(f"owner:{s}", 0.0) <= t
                      and (kind not in AGENT_KINDS or s == AGENT_SERVICE)]
            target = _node_target(rng, free, owners)
            if kind in ("kill9", "reboot"):
                duration = 0.0
            elif kind == "crash":
                duration = round(rng.uniform(2.0, 12.0), 1)
            elif kind in ("pause", "freeze"):
                duration = round(rng.choice((rng.uniform(0.3, 1.5),
                                             rng.uniform(2.0, max_pause))), 1)
            else:
                duration = round(rng.uniform(3.0, 10.0), 1)
            fault = Fault(round(t, 1), kind, target, duration)
            busy[target] = t + duration + _SETTLE
        elif kind in NET_KINDS and net_free <= t:
            duration = round(rng.uniform(2.0, 10.0), 1)
            fault = Fault(round(t, 1), kind, None, duration, _net_args(kind, rng, nodes))
            net_free = t + duration + 1.0
        elif kind == "admin" and services:
            fault = Fault(round(t, 1), kind, None, 0.0, _admin_args(rng, nodes, services))
        if fault is not None:
            faults.append(fault)
        t += rng.uniform(0.8, 4.0)
    return faults


def count_kinds(faults: Sequence[Fault]) -> dict[str, int]:
    """How many faults of each kind (admin commands counted per operation)."""
    out: dict[str, int] = {}
    for f in faults:
        key = f"admin_{f.args.get('op')}" if f.kind == "admin" else f.kind
        out[key] = out.get(key, 0) + 1
    return out
