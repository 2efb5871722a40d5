"""One decision round's view of the cluster: load per node, exclusive holders, node choice.

Built once per ``decide`` call in a single pass over the services; choosing a node for a
service is then a scan of its (precomputed) tiers.
"""

from __future__ import annotations

from typing import NamedTuple

from hacore.policy.index import ConfigIndex, ServicePlan
from hacore.policy.snapshot import Snapshot


class Choice(NamedTuple):
    """A node chosen for a service: its tier, and the coordinator it was preferred to.

    ``spared`` names the coordinator when it tied with ``node`` (same tier, same load) and
    config order alone would have picked it: the service went elsewhere so that a crash of
    its owner does not also cost an election.
    """

    node: str
    tier: int
    spared: str | None = None


class Round:
    """Facts derived from one snapshot for one decision; updated as starts are planned."""

    __slots__ = (
        "exclusive_names",
        "exclusive_on",
        "fenced_this_round",
        "ix",
        "load",
        "max_join",
        "members",
        "now",
        "snap",
        "stop_failed_nodes",
    )

    def __init__(self, ix: ConfigIndex, snap: Snapshot, now: float) -> None:
        self.ix = ix
        self.snap = snap
        self.now = now
        self.members = snap.members
        load = dict.fromkeys(ix.node_order, 0)
        exclusive_names = {p.name for p in ix.plans if p.service.exclusive}
        exclusive_on: set[str] = set()
        stop_failed: set[str] = set()
        for name, st in snap.services.items():
            owner = st.owner
            if owner is not None:
                load[owner] = load.get(owner, 0) + 1
                if name in exclusive_names:
                    exclusive_on.add(owner)
            if st.stop_failed_on is not None:
                stop_failed.add(st.stop_failed_on)
        for name, by_node in snap.reports.items():  # copies seen where they are not owned
            owner = snap.services[name].owner if name in snap.services else None
            for node, report in by_node.items():
                if report.status != "stopped" and node != owner:
                    load[node] = load.get(node, 0) + 1
                    if name in exclusive_names:
                        exclusive_on.add(node)
        self.load = load
        self.exclusive_on = exclusive_on
        self.exclusive_names = exclusive_names
        self.stop_failed_nodes = stop_failed
        self.max_join = max(snap.members.values(), default=0)
        self.fenced_this_round: set[str] = set()

    def running(self, service: str) -> bool:
        """Whether a service is started on a current member."""
        st = self.snap.services.get(service)
        return st is not None and st.state == "started" and st.owner in self.members

    def eligible(self, plan: ServicePlan, node: str, *, admin: bool = False) -> bool:
        """Whether ``node`` may take ``plan``'s service now (admin requests override exclusive)."""
        if node not in self.members or node not in plan.rank:
            return False
        if admin:
            return True
        if node in self.snap.standby:
            return False
        if plan.service.exclusive:
            return self.load.get(node, 0) == 0
        return node not in self.exclusive_on

    def choose(self, plan: ServicePlan, exclude: frozenset[str] | set[str] = frozenset(),
               max_tier: int | None = None, joined_after: int | None = None
               ) -> Choice | None:
        """The best eligible node: first tier with one, then fewest services, then (a tie)
        not the coordinator, then config order."""
        load = self.load
        coordinator = self.snap.coordinator
        tiers = plan.tiers if max_tier is None else plan.tiers[:max_tier]
        for t, tier in enumerate(tiers):
            best: str | None = None  # fewest services, then not the coordinator, then order
            best_load = 0
            first: str | None = None  # fewest services, then order: what the tie-break changes
            for node in tier:
                if node in exclude or not self.eligible(plan, node):
                    continue
                if joined_after is not None and self.members[node] <= joined_after:
                    continue
                n_load = load.get(node, 0)
                if best is None or n_load < best_load:
                    best, best_load, first = node, n_load, node
                elif n_load == best_load and best == coordinator:
                    best = node  # the first node tying with the coordinator
            if best is not None:
                return Choice(best, t, first if first != best else None)
        return None

    def planned_start(self, plan: ServicePlan, node: str) -> None:
        """Count a start planned in this round so later choices spread and respect exclusive."""
        self.load[node] = self.load.get(node, 0) + 1
        if plan.service.exclusive:
            self.exclusive_on.add(node)


def explain_choice(plan: ServicePlan, node: str, tier: int, spared: str | None = None) -> str:
    """Why this node: its place in the failover domain, or the load (and, on a tie, that the
    coordinator ``spared`` was passed over)."""
    return _explain_tier(plan, node, tier) + (
        f" ({spared} ties with it but coordinates the cluster: should {node} crash, the "
        f"coordinator survives and no election delays the recovery)" if spared else "")


def _explain_tier(plan: ServicePlan, node: str, tier: int) -> str:
    domain = plan.domain
    if domain is None:
        return f"{node} is the eligible node running the fewest services"
    if tier >= plan.member_tiers:
        return (f"no member of domain {domain.name} is available, so it runs outside the domain "
                f"on {node}, the eligible node running the fewest services")
    if domain.ordered:
        prio = next((m.priority for m in domain.members if m.node == node), None)
        return (f"{node} is the most preferred available member of ordered domain "
                f"{domain.name} (priority {prio})")
    kind = "restricted domain" if domain.restricted else "domain"
    return f"{node} is the available member of {kind} {domain.name} running the fewest services"


def explain_no_node(rnd: Round, plan: ServicePlan, exclude: frozenset[str] | set[str]) -> str:
    """Why no node can take the service, in one phrase."""
    allowed = [n for tier in plan.tiers for n in tier]
    up = [n for n in allowed if n in rnd.members and n not in exclude]
    domain = plan.domain
    if not up:
        if domain is not None and domain.restricted:
            names = ", ".join(m.node for m in domain.members)
            return f"no member of restricted domain {domain.name} ({names}) is available"
        return "no node that may run it is available"
    free = [n for n in up if n not in rnd.snap.standby]
    if not free:
        return f"every node that may run it is in standby ({', '.join(up)})"
    if plan.service.exclusive:
        return "it is exclusive and every available node already runs a service"
    return f"every available node runs an exclusive service ({', '.join(free)})"
