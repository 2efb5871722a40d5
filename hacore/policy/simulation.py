"""Play steps against the policy engine: the pure core of ``hacore simulate`` and the tests.

Each step changes the facts (a node crashes, a monitor fails, an administrator relocates),
then the cluster settles: ``decide`` and ``apply`` alternate until nothing is left to do,
every action succeeding unless a failure was injected for it. Time only moves when the
cluster waits for a lost node's self-stop deadline, or on a ``wait`` step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hacore.config.model import ClusterConfig
from hacore.errors import InputError
from hacore.policy.actions import Action
from hacore.policy.admin import (
    AdminRequest,
    RequestRefused,
    record_cluster_maintenance,
    record_request,
)
from hacore.policy.apply import apply
from hacore.policy.decide import decide
from hacore.policy.facts import node_joined, node_lost, with_report
from hacore.policy.maintenance import node_left_running
from hacore.policy.noquorum import no_quorum_actions
from hacore.policy.quorum import describe_quorum
from hacore.policy.snapshot import ACTIVE_STATES, Report, Snapshot, initial_snapshot

MAX_ROUNDS = 200

# step name -> (argument kinds, optional trailing argument kind, help)
STEPS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "fail": (("node",), None, "NODE crashes (it is fenced if it has a fence method)"),
    "join": (("node",), None, "NODE (re)joins the cluster with nothing running"),
    "svc-fail": (("service",), "resource", "SERVICE's monitor fails where it runs"),
    "disable": (("service",), None, "an administrator disables SERVICE"),
    "enable": (("service",), "node", "an administrator enables SERVICE [on NODE]"),
    "relocate": (("service",), "node", "an administrator relocates SERVICE [to NODE]"),
    "restart": (("service",), None, "an administrator restarts SERVICE in place"),
    "freeze": (("service",), None, "an administrator freezes SERVICE"),
    "unfreeze": (("service",), None, "an administrator unfreezes SERVICE"),
    "standby": (("node",), None, "NODE is put in standby (drained)"),
    "unstandby": (("node",), None, "NODE leaves standby"),
    "start-fails": (("service", "node"), None, "the next start of SERVICE on NODE fails"),
    "stop-fails": (("service", "node"), None, "the next stop of SERVICE on NODE fails"),
    "fence-fails": (("node",), None, "the next fence of NODE fails"),
    "running": (("service", "node"), None, "NODE reports SERVICE running (started by hand)"),
    "wait": (("seconds",), None, "time passes"),
    "maintenance-on": (("service",), None, "an administrator puts SERVICE in maintenance"),
    "maintenance-off": (("service",), None, "an administrator takes SERVICE out of maintenance"),
    "cluster-maintenance-on": ((), None, "an administrator puts the whole cluster in maintenance"),
    "cluster-maintenance-off": ((), None, "an administrator ends the cluster's maintenance"),
    "leave-running": (("node",), None,
                      "NODE's daemon stops cleanly in maintenance, leaving its services running"),
}


@dataclass(frozen=True)
class Step:
    """A parsed step: its text, kind and arguments (names already checked)."""

    text: str
    kind: str
    args: tuple[str, ...]


def parse_step(config: ClusterConfig, text: str) -> Step:
    """Parse 'kind:ARG[:ARG]'; raise InputError naming the problem and the valid choices."""
    kind, _, rest = text.partition(":")
    if kind not in STEPS:
        raise InputError(f"bad step {text!r}: unknown kind {kind!r} "
                         f"(valid: {', '.join(STEPS)})")
    needed, optional, _ = STEPS[kind]
    args = tuple(rest.split(":")) if rest else ()
    if not (len(needed) <= len(args) <= len(needed) + (optional is not None)):
        shape = ":".join([kind, *(a.upper() for a in needed)]) + (
            f"[:{optional.upper()}]" if optional else "")
        raise InputError(f"bad step {text!r}: expected {shape}")
    service = None
    for arg, what in zip(args, (*needed, optional)):
        if what == "node" and config.node(arg) is None:
            raise InputError(f"bad step {text!r}: no node named {arg!r} "
                             f"(nodes: {', '.join(n.name for n in config.nodes)})")
        if what == "service":
            service = config.service(arg)
            if service is None:
                raise InputError(f"bad step {text!r}: no service named {arg!r} "
                                 f"(services: {', '.join(s.name for s in config.services)})")
        if what == "resource":
            assert service is not None
            names = [r.name for r in service.walk()]
            if arg not in names:
                raise InputError(f"bad step {text!r}: service {service.name!r} has no resource "
                                 f"{arg!r} (resources: {', '.join(names)})")
        if what == "seconds":
            try:
                if float(arg) < 0:
                    raise ValueError
            except ValueError:
                raise InputError(f"bad step {text!r}: {arg!r} is not a number of seconds") from None
    return Step(text, kind, args)


@dataclass
class StepResult:
    """What happened in one step: notes in prose, then each action and whether it succeeded."""

    step: str
    notes: list[str] = field(default_factory=list)
    actions: list[tuple[Action, bool]] = field(default_factory=list)
    refused: str | None = None


class Simulation:
    """A cluster played forward from a snapshot (default: every node up, nothing placed)."""

    def __init__(self, config: ClusterConfig, snapshot: Snapshot | None = None,
                 now: float = 0.0) -> None:
        self.config = config
        self.snap = snapshot if snapshot is not None else initial_snapshot(config)
        self.now = now
        self.seen_all = len(self.snap.members) == len(config.nodes)
        self.failures: dict[tuple[str, str | None, str | None], int] = {}

    def _outcome(self, action: Action) -> bool:
        kinds = {"start": ("start",), "restart": ("start",), "restart-subtree": ("start",),
                 "start-subtree": ("start",),
                 "stop": ("stop",),
                 "stop-subtree": ("stop",), "fence": ("fence",)}.get(action.kind, ())
        for kind in kinds:
            key = (kind, action.service, action.node)
            if self.failures.get(key):
                self.failures[key] -= 1
                return False
        return True

    def _deadline_wait(self) -> float | None:
        services = self.snap.services.values()
        owners = {st.owner for st in services if st.owner is not None and st.state != "failed"}
        stop_failed = {st.stop_failed_on for st in services}
        waits = [ln.self_stop_deadline for name, ln in self.snap.lost.items()
                 if not ln.fenced and ln.self_stop_deadline is not None and name in owners
                 and name not in stop_failed
                 and ln.self_stop_deadline > self.now]
        return min(waits, default=None)

    def settle(self, result: StepResult) -> None:
        """Decide and apply until the cluster is quiet (bounded)."""
        for _ in range(MAX_ROUNDS):
            if self.snap.quorate:
                actions = decide(self.config, self.snap, self.now)
            else:
                actions = no_quorum_actions(self.config, self.snap)
            if not actions:
                wake = self._deadline_wait() if self.snap.quorate else None
                if wake is None:
                    return
                result.notes.append(f"time passes to {wake:g} s: the self-stop deadline of "
                                    "the lost node has passed")
                self.now = wake
                continue
            outcomes = [self._outcome(a) for a in actions]
            result.actions.extend(zip(actions, outcomes))
            self.snap = apply(self.config, self.snap, actions, outcomes, now=self.now)
        result.notes.append(f"stopped after {MAX_ROUNDS} rounds: the cluster did not settle")

    def _seen(self, members: set[str]) -> bool:
        if len(members) == len(self.config.nodes):
            self.seen_all = True
        return self.seen_all

    def _fail(self, node: str, result: StepResult) -> None:
        if node not in self.snap.members:
            result.notes.append(f"{node} is not a member; nothing happens")
            return
        seen = self._seen(set(self.snap.members) - {node})
        self.snap = node_lost(self.config, self.snap, node, last_heard=self.now, seen_all=seen)
        result.notes.append(f"{node} crashes; the partition left has "
                            f"{describe_quorum(self.config, self.snap.members)} and is "
                            f"{'quorate' if self.snap.quorate else 'NOT quorate'}")

    def _leave_running(self, node: str, result: StepResult) -> None:
        if node not in self.snap.members:
            result.notes.append(f"{node} is not a member; nothing happens")
            return
        seen = self._seen(set(self.snap.members) - {node})
        self.snap = node_left_running(self.config, self.snap, node, seen_all=seen)
        result.notes.append(f"{node}'s daemon stops cleanly and leaves its services running; "
                            f"the partition left has {describe_quorum(self.config, self.snap.members)}")

    def _join(self, node: str, result: StepResult) -> None:
        if node in self.snap.members:
            result.notes.append(f"{node} is already a member; nothing happens")
            return
        seen = self._seen(set(self.snap.members) | {node})
        prior = self.snap.lost.get(node)
        back = (prior is not None and not prior.fenced and not prior.deadline_passed(self.now)
                and any(st.owner == node and st.state in ACTIVE_STATES
                        for st in self.snap.services.values()))
        self.snap = node_joined(self.config, self.snap, node, seen_all=seen, now=self.now)
        how = ("joins with nothing running" if not back else
               "comes back after leaving its services running in maintenance: they count as "
               "still running there" if prior is not None and prior.kept_running else
               "comes back unfenced before its self-stop deadline: what it ran counts as "
               "still running there")
        result.notes.append(f"{node} {how}; the cluster has "
                            f"{describe_quorum(self.config, self.snap.members)} and is "
                            f"{'quorate' if self.snap.quorate else 'NOT quorate'}")

    def step(self, text: str) -> StepResult:
        """Apply one step, then settle; raises InputError for a malformed step."""
        result = self.change(text)
        if result.refused is None:
            self.settle(result)
        return result

    def change(self, text: str) -> StepResult:
        """Apply one step's change to the facts, without deciding anything yet."""
        step = parse_step(self.config, text)
        result = StepResult(step.text)
        kind, args = step.kind, step.args
        if kind == "fail":
            self._fail(args[0], result)
        elif kind == "join":
            self._join(args[0], result)
        elif kind == "svc-fail":
            st = self.snap.status(args[0])
            if st.state != "started" or st.owner is None:
                result.notes.append(f"{args[0]} is {st.state}, not running: nothing to fail")
            else:
                resource = args[1] if len(args) > 1 else None
                self._report(args[0], st.owner, Report("failed", resource))
                what = f"resource {resource} of {args[0]}" if resource else args[0]
                result.notes.append(f"the monitor of {what} fails on {st.owner}")
        elif kind == "running" and args[1] not in self.snap.members:
            result.notes.append(f"{args[1]} is not a member: its reports do not reach the cluster")
        elif kind == "running":
            self._report(args[0], args[1], Report("running"))
            result.notes.append(f"{args[1]} reports {args[0]} running (started outside the "
                                "cluster's control)")
        elif kind in ("standby", "unstandby"):
            standby = (self.snap.standby | {args[0]} if kind == "standby"
                       else self.snap.standby - {args[0]})
            self.snap = replace(self.snap, standby=standby)
            result.notes.append(f"{args[0]} {'enters' if kind == 'standby' else 'leaves'} standby")
        elif kind in ("start-fails", "stop-fails", "fence-fails"):
            key = (kind.split("-")[0], args[0] if kind != "fence-fails" else None, args[-1])
            self.failures[key] = self.failures.get(key, 0) + 1
            what = f"{args[0]} on {args[1]}" if kind != "fence-fails" else args[0]
            result.notes.append(f"the next {kind.split('-')[0]} of {what} will fail")
        elif kind in ("cluster-maintenance-on", "cluster-maintenance-off"):
            on = kind.endswith("-on")
            try:
                self.snap = record_cluster_maintenance(self.snap, on)
            except RequestRefused as exc:
                result.refused = str(exc)
                result.notes.append(f"refused: {exc}")
                return result
            result.notes.append("an administrator " + ("puts the whole cluster in maintenance"
                                                        if on else "ends the cluster's maintenance"))
        elif kind == "leave-running":
            self._leave_running(args[0], result)
        elif kind == "wait":
            self.now += float(args[0])
            result.notes.append(f"{float(args[0]):g} s pass (now {self.now:g} s)")
        else:
            request = AdminRequest(kind, args[0], args[1] if len(args) > 1 else None)
            try:
                self.snap = record_request(self.config, self.snap, request)
            except RequestRefused as exc:
                result.refused = str(exc)
                result.notes.append(f"refused: {exc}")
                return result
            target = f" (target {request.node})" if request.node else ""
            verb = {"maintenance-on": "put", "maintenance-off": "take"}.get(kind)
            if verb is not None:
                where = "in" if kind.endswith("-on") else "out of"
                result.notes.append(f"an administrator asks to {verb} {args[0]} {where} "
                                    "maintenance")
            else:
                result.notes.append(f"an administrator asks to {kind} {args[0]}{target}")
        return result

    def _report(self, service: str, node: str, report: Report) -> None:
        self.snap = with_report(self.snap, service, node, report)
