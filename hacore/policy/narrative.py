"""Prose for people: the before/actions/after summary that ``hacore simulate`` prints.

The scenario tests compare this text with golden files, so a change in behaviour or wording
shows up as a diff that reads like prose.
"""

from __future__ import annotations

from hacore.config.model import ClusterConfig
from hacore.policy.quorum import describe_quorum, needed_votes, total_votes
from hacore.policy.simulation import StepResult
from hacore.policy.snapshot import Snapshot
from hacore.policy.why import waiting_reasons


def service_table(config: ClusterConfig, snap: Snapshot) -> list[str]:
    """One line per service: name, state (with flags), where it runs or last ran."""
    rows = []
    width = max((len(s.name) for s in config.services), default=7)
    for svc in config.services:
        st = snap.status(svc.name)
        state = st.state
        flags = [f for f, on in (("frozen", st.frozen), ("partial", st.partial),
                                 ("maintenance", st.maintenance), ("reprobe", st.reprobe)) if on]
        if flags:
            state += "[" + ",".join(flags) + "]"
        if st.owner is not None and st.state not in ("failed",):
            where = f"on {st.owner}"
            if st.owner not in snap.members:
                where += " (lost)"
        elif st.owner is not None:
            where = f"({st.owner})"
        elif st.last_owner is not None:
            where = f"(last on {st.last_owner})"
        else:
            where = ""
        if st.partial:
            where += f"; stopped subtrees: {', '.join(sorted(st.stopped_subtrees))}"
        rows.append(f"  {svc.name:<{width}}  {state:<16} {where}".rstrip())
    return rows


def membership_line(config: ClusterConfig, snap: Snapshot) -> str:
    """'members n1, n3 (n2 lost, fenced); quorate: 2 of 3 votes, 2 needed'."""
    order = [n.name for n in config.nodes]
    members = ", ".join(n for n in order if n in snap.members) or "none"
    extra = []
    for name in order:
        if name in snap.lost:
            ln = snap.lost[name]
            extra.append(f"{name} lost, {'fenced' if ln.fenced else 'not fenced'}"
                         + (", left its services running" if ln.kept_running else ""))
        elif name not in snap.members:
            extra.append(f"{name} down")
    if snap.standby:
        extra.append("standby: " + ", ".join(n for n in order if n in snap.standby))
    tail = f" ({'; '.join(extra)})" if extra else ""
    quorum = "quorate" if snap.quorate else "NOT quorate"
    line = f"members {members}{tail}; {quorum}: {describe_quorum(config, snap.members)}"
    if snap.maintenance:
        line += "; the cluster is in MAINTENANCE"
    if not snap.quorate and total_votes(config, snap.members) >= needed_votes(config, snap.members):
        line += " (wait_for_all: every node must have been seen once)"
    return line


def render_result(result: StepResult, title: str) -> list[str]:
    """A step's title, its notes, then each action with its reason."""
    lines = [title]
    lines += [f"  {note}" for note in result.notes]
    for action, ok in result.actions:
        lines.append(f"  - {action.reason}")
        if not ok:
            lines.append(f"    ... {action.summary()} FAILED")
    if not result.actions and result.refused is None:
        lines.append("  (nothing to do)")
    return lines


def render_session(config: ClusterConfig, before: Snapshot, placing: StepResult,
                   steps: list[StepResult], after: Snapshot, *, from_state: bool,
                   now: float = 0.0) -> str:
    """The whole simulate session as prose."""
    n_nodes, n_svcs = len(config.nodes), len(config.services)
    lines = [(f"Cluster {config.name}: {n_nodes} node{'s' * (n_nodes != 1)}, "
             f"{n_svcs} service{'s' * (n_svcs != 1)}"),
             "", "Before:", f"  {membership_line(config, before)}"]
    lines += service_table(config, before)
    lines.append("")
    lines += render_result(placing, "Settling the saved state:" if from_state
                           else "Placing the services:")
    for i, result in enumerate(steps, 1):
        lines.append("")
        lines += render_result(result, f"Step {i}, {result.step}:")
    lines += ["", "After:", f"  {membership_line(config, after)}"]
    lines += service_table(config, after)
    waiting = waiting_reasons(config, after, now)
    if waiting:
        lines += ["", "Waiting:"]
        lines += [f"  {name}: {why}" for name, why in waiting.items()]
    return "\n".join(lines) + "\n"
