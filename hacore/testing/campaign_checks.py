"""The fault campaign's checks, as pure functions over what an episode observed.

Each returns a list of ``Finding``; an empty list means the check held. The runner
(hacore.testing.campaign) gathers the observations; unit tests feed fabricated ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# a daemon log line that tells of a death the supervisor saw, e.g.
# "supervisor: the daemon of n2 died (signal 9); stopping this node's resources"
DIED = re.compile(r"the daemon of (\S+) died \(([^)]*)\)")
TRACEBACK = re.compile(r"^Traceback \(most recent call last\)")


@dataclass(frozen=True)
class Finding:
    """A violation: ``check`` (s1, admin, recovery, daemon, leak), what, when, where.

    ``in_window``: the S1 double hold involved a node while it was paused or frozen (or
    shortly after it woke), the window DESIGN.md names for clusters without fencing.
    """

    check: str
    detail: str
    at: float | None = None
    nodes: tuple[str, ...] = ()
    in_window: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AdminRecord:
    """An admin command the campaign issued: ``acked`` when the CLI exited 0."""

    at: float
    op: str
    service: str
    via: str
    to: str | None = None
    exit_code: int | None = None
    output: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def acked(self) -> bool:
        return self.exit_code == 0


def effect(op: str) -> str:
    """What an admin operation leaves a service as once faults heal: enabled or disabled."""
    return "disabled" if op == "disable" else "enabled"


def expected_states(commands: Sequence[AdminRecord], services: Iterable[str],
                    initial: str = "enabled") -> dict[str, set[str]]:
    """Per service, the states (enabled/disabled) the admin commands allow at the end.

    The last acknowledged command decides; a command that was not acknowledged may still
    have been applied, so one issued after the last acknowledged one adds its effect.
    """
    out: dict[str, set[str]] = {}
    for svc in services:
        mine = sorted((c for c in commands if c.service == svc), key=lambda c: c.at)
        acked = [i for i, c in enumerate(mine) if c.acked]
        last = acked[-1] if acked else -1
        allowed = {effect(mine[last].op)} if last >= 0 else {initial}
        allowed |= {effect(c.op) for c in mine[last + 1:]}
        out[svc] = allowed
    return out


def category(state: str) -> str | None:
    """A settled service state as enabled/disabled; None while it is anything else."""
    return {"started": "enabled", "disabled": "disabled"}.get(state)


def check_admin(commands: Sequence[AdminRecord], final: dict[str, str]) -> list[Finding]:
    """Every acknowledged command is reflected in the final states ({service: state})."""
    found = []
    allowed = expected_states(commands, final)
    for svc, state in sorted(final.items()):
        cat = category(state)
        if cat is not None and cat not in allowed[svc]:
            cmds = "; ".join(f"t={c.at:.1f} {c.op}{' --to ' + c.to if c.to else ''} via "
                             f"{c.via} -> exit {c.exit_code}"
                             for c in commands if c.service == svc)
            found.append(Finding("admin", f"{svc} is {state} but the acknowledged commands "
                                          f"leave it {'/'.join(sorted(allowed[svc]))} ({cmds})"))
    return found


def check_recovery(recovery_time: float | None, bound: float, last_seen: str) -> list[Finding]:
    """Every enabled service ran (and every disabled one was off) within ``bound`` seconds
    of the last fault healing; ``recovery_time`` None means it never did."""
    if recovery_time is not None and recovery_time <= bound:
        return []
    took = "never" if recovery_time is None else f"after {recovery_time:.1f} s"
    return [Finding("recovery", f"not recovered within {bound:g} s ({took}): {last_seen}")]


def pause_windows(applied: Sequence[dict[str, Any]], healed: float, loss_timeout: float,
                  grace: float) -> list[tuple[str, float, float]]:
    """(node, from, to) episode times of the window DESIGN.md names for clusters without
    fencing: a node paused or frozen long enough to be declared lost (at least
    ``loss_timeout``), from the moment it could be, until ``grace`` after it woke. A shorter
    pause opens no window: nobody may take its services over, so a double hold then is a
    plain violation (the campaign once filed a 0.4 s freeze's neighbour under the window)."""
    out = []
    for r in applied:
        if r["kind"] not in ("pause", "freeze") or not r.get("node"):
            continue
        ended = r.get("ended", healed)
        if ended - r["started"] >= loss_timeout:
            out.append((r["node"], r["started"] + loss_timeout, ended + grace))
    return out


def check_s1(violations: Sequence[Any], start_wall: float,
             windows: Sequence[tuple[str, float, float]] = ()) -> list[Finding]:
    """One finding per item held twice (its first sample), marked when inside a window.

    ``violations``: S1 checker Violations (wall, kind, item, nodes); ``start_wall``: the
    episode's time.time() at t=0; ``windows``: (node, from, to) in episode seconds.
    """
    first: dict[tuple[str, str, tuple[str, ...]], tuple[float, bool]] = {}
    last: dict[tuple[str, str, tuple[str, ...]], float] = {}
    for v in sorted(violations, key=lambda v: v.wall):
        at = v.wall - start_wall
        inside = any(node in v.nodes and lo <= at <= hi for node, lo, hi in windows)
        key = (v.kind, v.item, tuple(v.nodes))
        if key not in first or (first[key][1] and not inside):
            first[key] = (at, inside)
        last[key] = at
    return [Finding("s1", f"{kind} {item} held by {', '.join(nodes)} "
                          f"(seen t={at:.1f}..{last[(kind, item, nodes)]:.1f} s)",
                    round(at, 2), nodes, inside)
            for (kind, item, nodes), (at, inside) in first.items()]


def check_daemon_logs(new_lines: dict[str, list[str]], killed: dict[str, int]) -> list[Finding]:
    """No daemon died but those the campaign killed (``killed``: node -> kill -9 count),
    and no daemon logged a traceback. ``new_lines``: node -> log lines of this episode."""
    found = []
    for node, lines in sorted(new_lines.items()):
        deaths = [m.group(2) for m in map(DIED.search, lines) if m]
        expected = killed.get(node, 0)
        unexpected = [d for d in deaths if d != "signal 9"]
        nine = len(deaths) - len(unexpected)
        if unexpected or nine > expected:
            found.append(Finding("daemon", f"the daemon of {node} died unexpectedly: "
                                           f"{', '.join(deaths)} (killed by the campaign: "
                                           f"{expected})", nodes=(node,)))
        for i, line in enumerate(lines):
            if TRACEBACK.search(line):
                tail = next((ln for ln in lines[i + 1:i + 60]
                             if ln and not ln.startswith((" ", "Traceback"))), "?")
                found.append(Finding("daemon", f"traceback in {node}'s log: {tail.strip()}",
                                     nodes=(node,)))
                break
    return found


def check_running(alive: dict[str, bool]) -> list[Finding]:
    """Every node that is up runs its daemon at the end (``alive``: node -> daemon found)."""
    return [Finding("daemon", f"no daemon runs on {node} at the end of the episode",
                    nodes=(node,)) for node, ok in sorted(alive.items()) if not ok]


def check_leaks(left: dict[str, list[str]]) -> list[Finding]:
    """Nothing the host did not hold at the episode's start (``left``: kind -> items)."""
    return [Finding("leak", f"{kind}: {', '.join(items[:5])}") for kind, items in
            sorted(left.items()) if items]
