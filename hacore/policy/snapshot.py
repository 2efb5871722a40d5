"""The facts the policy engine decides from: one immutable snapshot of the cluster.

A snapshot holds the membership (who is up since which generation, quorum, the coordinator,
lost nodes and whether they are fenced or past their self-stop deadline, standby nodes), the
status of every service, and what nodes reported about services (sparse: only news, such as
a failed monitor or a service found running where it should not be). Snapshots are values:
``apply`` and the admin requests return new ones. ``to_dict``/``from_dict`` give the JSON
form used by ``hacore simulate --state`` and by the daemon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.errors import InputError

STATES = ("stopped", "starting", "started", "stopping", "failed", "disabled", "recovering")
# started-like: the service is (or may be) active on its owner
ACTIVE_STATES = frozenset({"starting", "started", "stopping", "recovering"})
REPORTS = ("running", "stopped", "failed")
INTENTS = ("enable", "disable", "relocate", "restart", "recover", "failback", "drain")


@dataclass(frozen=True, slots=True)
class Report:
    """What one node observed about a service: running, stopped, or failed (which resource)."""

    status: str
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class LostNode:
    """A node that left the membership: fenced yet, and when its self-stop deadline passes.

    ``self_stop_deadline`` is absolute (the same clock as ``now``): node-loss timeout plus the
    stop timeouts of its services plus a margin after its last message; None = never.
    """

    fenced: bool = False
    self_stop_deadline: float | None = None
    #: it left cleanly during maintenance with its services left running (not fenced while
    #: every service it owns stays in maintenance; see hacore.policy.maintenance)
    kept_running: bool = False

    def deadline_passed(self, now: float) -> bool:
        return self.self_stop_deadline is not None and now >= self.self_stop_deadline


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """One service's state as the cluster knows it.

    ``owner`` is where the service is or may be active; ``intent`` is what is being done to
    it across several actions (an admin relocation, a failback, a drain...), with ``target``
    the wished-for node and ``avoid`` the nodes where a start failed during this attempt.
    ``placed_gen`` is the membership generation when it last started: a node that joined
    later may draw it back (failback); one that was already there does not.
    """

    state: str = "stopped"
    owner: str | None = None
    last_owner: str | None = None
    frozen: bool = False
    restarts: tuple[float, ...] = ()
    subtree_restarts: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    stopped_subtrees: frozenset[str] = frozenset()
    stop_failed_on: str | None = None
    intent: str | None = None
    target: str | None = None
    avoid: frozenset[str] = frozenset()
    placed_gen: int = 0
    #: an administrator put it in maintenance: monitored, never started, stopped or moved
    maintenance: bool = False
    #: maintenance ended: every member probes it before the policy acts on it again
    reprobe: bool = False

    @property
    def partial(self) -> bool:
        """Running with some non-critical subtrees stopped."""
        return bool(self.stopped_subtrees)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Membership, service states and node reports at one moment (see module docstring).

    ``members`` maps each member to the membership generation at which it (re)joined.
    A service missing from ``services`` has never been evaluated (the cluster just formed).
    ``local`` names the node whose view this is, for the no-quorum rule. ``maintenance``:
    the whole cluster is in maintenance (see ``hacore.policy.maintenance``).
    """

    members: Mapping[str, int]
    quorate: bool = True
    generation: int = 0
    coordinator: str | None = None
    lost: Mapping[str, LostNode] = field(default_factory=dict)
    standby: frozenset[str] = frozenset()
    #: ``hacore cluster stop`` in progress: the daemons (node -> incarnation) that exit once
    #: every service is stopped; empty when no cluster stop is under way (cluster_stop.py)
    cluster_stop: Mapping[str, int] = field(default_factory=dict)
    services: Mapping[str, ServiceStatus] = field(default_factory=dict)
    reports: Mapping[str, Mapping[str, Report]] = field(default_factory=dict)
    local: str | None = None
    maintenance: bool = False

    def status(self, service: str) -> ServiceStatus:
        """The service's status; a never-evaluated service reads as stopped."""
        return self.services.get(service) or _NEW

    def unmanaged(self, service: str) -> bool:
        """The policy neither starts, stops nor moves it now: the cluster or the service is
        in maintenance, or it left maintenance and is not re-probed yet."""
        if self.maintenance:
            return True
        st = self.services.get(service)
        return st is not None and (st.maintenance or st.reprobe)

    def placement(self) -> dict[str, str | None]:
        """Where each known service runs (None when it runs nowhere)."""
        return {
            name: (st.owner if st.state == "started" else None) for name, st in self.services.items()
        }


_NEW = ServiceStatus()


def initial_snapshot(config: ClusterConfig, members: list[str] | None = None) -> Snapshot:
    """A freshly formed cluster: the given nodes (default all) up, no service evaluated yet.

    With ``timing.startup_fencing`` (the default) a configured node that is not a member
    when the cluster forms counts as lost and unfenced, so it is fenced (CMAN's startup
    fencing): it might run something from before.
    """
    names = [n.name for n in config.nodes] if members is None else list(members)
    from hacore.policy.quorum import is_quorate

    absent = [n.name for n in config.nodes if n.name not in names]
    from hacore.fencing.rules import startup_fence_targets

    lost = {name: LostNode() for name in startup_fence_targets(config, names)}
    return Snapshot(
        members={name: 0 for name in names},
        quorate=is_quorate(config, names, seen_all=not absent),
        generation=0,
        coordinator=names[0] if names else None,
        lost=lost,
    )


def snapshot_to_dict(snap: Snapshot) -> dict[str, Any]:
    """The JSON form of a snapshot (stable keys, defaults omitted in service entries)."""
    services: dict[str, Any] = {}
    for name, st in snap.services.items():
        entry: dict[str, Any] = {"state": st.state, "owner": st.owner, "last_owner": st.last_owner}
        if st.frozen:
            entry["frozen"] = True
        if st.restarts:
            entry["restarts"] = list(st.restarts)
        if st.subtree_restarts:
            entry["subtree_restarts"] = {k: list(v) for k, v in st.subtree_restarts.items()}
        if st.stopped_subtrees:
            entry["stopped_subtrees"] = sorted(st.stopped_subtrees)
        for key in ("stop_failed_on", "intent", "target"):
            if getattr(st, key) is not None:
                entry[key] = getattr(st, key)
        if st.avoid:
            entry["avoid"] = sorted(st.avoid)
        if st.placed_gen:
            entry["placed_gen"] = st.placed_gen
        if st.maintenance:
            entry["maintenance"] = True
        if st.reprobe:
            entry["reprobe"] = True
        services[name] = entry
    lost: dict[str, Any] = {}
    for name, ln in snap.lost.items():
        lost[name] = {"fenced": ln.fenced, "self_stop_deadline": ln.self_stop_deadline}
        if ln.kept_running:
            lost[name]["kept_running"] = True
    out: dict[str, Any] = {
        "members": dict(snap.members),
        "quorate": snap.quorate,
        "generation": snap.generation,
        "coordinator": snap.coordinator,
        "lost": lost,
        "standby": sorted(snap.standby),
        "services": services,
        "reports": {
            svc: {node: {"status": r.status, "resource": r.resource} for node, r in by_node.items()}
            for svc, by_node in snap.reports.items()
        },
        "local": snap.local,
    }
    if snap.cluster_stop:
        out["cluster_stop"] = dict(snap.cluster_stop)
    if snap.maintenance:
        out["maintenance"] = True
    return out


def _expect(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise InputError(f"snapshot: {where}: {what}")


def _opt_str(value: Any, where: str) -> str | None:
    _expect(value is None or isinstance(value, str), where, f"expected a name or null, got {value!r}")
    return value


def _times(value: Any, where: str) -> tuple[float, ...]:
    _expect(isinstance(value, list), where, f"expected a list of times, got {value!r}")
    out = []
    for t in value:
        _expect(isinstance(t, (int, float)) and not isinstance(t, bool), where, f"bad time {t!r}")
        out.append(float(t))
    return tuple(out)


def _service_from_dict(name: str, raw: Any) -> ServiceStatus:
    where = f"services.{name}"
    _expect(isinstance(raw, dict), where, "expected a table")
    state = raw.get("state", "stopped")
    _expect(state in STATES, f"{where}.state", f"{state!r} is not one of {', '.join(STATES)}")
    intent = raw.get("intent")
    _expect(intent is None or intent in INTENTS, f"{where}.intent",
            f"{intent!r} is not one of {', '.join(INTENTS)}")
    subtree = raw.get("subtree_restarts", {})
    _expect(isinstance(subtree, dict), f"{where}.subtree_restarts", "expected a table")
    return ServiceStatus(
        state=state,
        owner=_opt_str(raw.get("owner"), f"{where}.owner"),
        last_owner=_opt_str(raw.get("last_owner"), f"{where}.last_owner"),
        frozen=bool(raw.get("frozen", False)),
        restarts=_times(raw.get("restarts", []), f"{where}.restarts"),
        subtree_restarts={k: _times(v, f"{where}.subtree_restarts.{k}") for k, v in subtree.items()},
        stopped_subtrees=frozenset(raw.get("stopped_subtrees", [])),
        stop_failed_on=_opt_str(raw.get("stop_failed_on"), f"{where}.stop_failed_on"),
        intent=intent,
        target=_opt_str(raw.get("target"), f"{where}.target"),
        avoid=frozenset(raw.get("avoid", [])),
        placed_gen=int(raw.get("placed_gen", 0)),
        maintenance=bool(raw.get("maintenance", False)),
        reprobe=bool(raw.get("reprobe", False)),
    )


def _cluster_stop_from(raw: Any) -> dict[str, int]:
    _expect(isinstance(raw, dict) and all(isinstance(v, int) for v in raw.values()),
            "cluster_stop", f"expected an object {{node: incarnation}}, got {raw!r}")
    return dict(raw)


def snapshot_from_dict(raw: Any) -> Snapshot:
    """Read the JSON form back; raises InputError naming the bad key and what is valid."""
    _expect(isinstance(raw, dict), "top level", "expected a JSON object")
    members = raw.get("members")
    _expect(isinstance(members, dict), "members", "expected an object {node: join generation}")
    for node, gen in members.items():
        _expect(isinstance(gen, int), f"members.{node}", f"expected an integer, got {gen!r}")
    lost_raw = raw.get("lost", {})
    _expect(isinstance(lost_raw, dict), "lost", "expected an object {node: {...}}")
    lost = {}
    for node, entry in lost_raw.items():
        _expect(isinstance(entry, dict), f"lost.{node}", "expected an object")
        deadline = entry.get("self_stop_deadline")
        _expect(deadline is None or isinstance(deadline, (int, float)),
                f"lost.{node}.self_stop_deadline", "expected a time or null")
        lost[node] = LostNode(bool(entry.get("fenced", False)),
                              None if deadline is None else float(deadline),
                              bool(entry.get("kept_running", False)))
    services_raw = raw.get("services", {})
    _expect(isinstance(services_raw, dict), "services", "expected an object")
    reports: dict[str, dict[str, Report]] = {}
    for svc, by_node in raw.get("reports", {}).items():
        _expect(isinstance(by_node, dict), f"reports.{svc}", "expected an object {node: report}")
        for node, rep in by_node.items():
            status = rep.get("status") if isinstance(rep, dict) else None
            _expect(status in REPORTS, f"reports.{svc}.{node}.status",
                    f"{status!r} is not one of {', '.join(REPORTS)}")
            reports.setdefault(svc, {})[node] = Report(status, rep.get("resource"))
    return Snapshot(
        members=dict(members),
        quorate=bool(raw.get("quorate", True)),
        generation=int(raw.get("generation", 0)),
        coordinator=_opt_str(raw.get("coordinator"), "coordinator"),
        lost=lost,
        standby=frozenset(raw.get("standby", [])),
        cluster_stop=_cluster_stop_from(raw.get("cluster_stop", {})),
        services={name: _service_from_dict(name, s) for name, s in services_raw.items()},
        reports=reports,
        local=_opt_str(raw.get("local"), "local"),
        maintenance=bool(raw.get("maintenance", False)),
    )
