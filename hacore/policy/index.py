"""Facts derived from a configuration once, so that each decision is a cheap pass.

For every service: its placement tiers (groups of nodes from most to least preferred, by
failover domain), the rank of each allowed node, its resources in start and stop order, and
which independent or non-critical subtree each resource belongs to. Cached per config object.
"""

from __future__ import annotations

from dataclasses import dataclass

from hacore.config.model import ClusterConfig, FailoverDomain, Resource, Service


@dataclass(frozen=True, slots=True)
class Subtree:
    """An independent or non-critical subtree: restarted (or stopped) without the rest."""

    root: str
    non_critical: bool
    max_restarts: int
    restart_expire_time: float
    start_resources: tuple[str, ...]
    stop_resources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """Placement and ordering facts for one service.

    ``tiers`` lists allowed nodes grouped from most to least preferred; ``rank`` maps each
    allowed node to its tier; ``member_tiers`` is how many tiers are domain members (in an
    unrestricted domain, the last tier holds every other node).
    """

    name: str
    service: Service
    domain: FailoverDomain | None
    tiers: tuple[tuple[str, ...], ...]
    rank: dict[str, int]
    member_tiers: int
    start_resources: tuple[str, ...]
    stop_resources: tuple[str, ...]
    subtrees: dict[str, Subtree]


@dataclass(frozen=True, slots=True)
class ConfigIndex:
    config: ClusterConfig
    node_order: dict[str, int]
    fenceable: frozenset[str]
    plans: tuple[ServicePlan, ...]
    by_name: dict[str, ServicePlan]


def _domain_tiers(
    domain: FailoverDomain | None, node_names: list[str]
) -> tuple[tuple[tuple[str, ...], ...], int]:
    known = set(node_names)
    if domain is None:
        return (tuple(node_names),), 0
    order = {n: i for i, n in enumerate(node_names)}
    members = [m for m in domain.members if m.node in known]
    tiers: list[tuple[str, ...]] = []
    if domain.ordered:
        for prio in sorted({m.priority for m in members}):
            tiers.append(tuple(sorted((m.node for m in members if m.priority == prio),
                                      key=order.__getitem__)))
    elif members:
        tiers.append(tuple(sorted((m.node for m in members), key=order.__getitem__)))
    member_tiers = len(tiers)
    if not domain.restricted:
        inside = {m.node for m in members}
        rest = tuple(n for n in node_names if n not in inside)
        if rest:
            tiers.append(rest)
    return tuple(tiers), member_tiers


def _ordered(service: Service, names: list[str], stop: bool) -> tuple[str, ...]:
    """Service resources in start (or stop) order, restricted to ``names``."""
    wanted = set(names)
    order = service.stop_order if stop else service.start_order
    if order:
        return tuple(n for n in order if n in wanted)
    return tuple(reversed(names)) if stop else tuple(names)


def _subtrees(service: Service) -> dict[str, Subtree]:
    out: dict[str, Subtree] = {}

    def visit(res: Resource, current: Subtree | None) -> None:
        if current is None and (res.independent or res.non_critical):
            members = [r.name for r in _walk(res)]
            current = Subtree(res.name, res.non_critical, res.max_restarts,
                              res.restart_expire_time, _ordered(service, members, False),
                              _ordered(service, members, True))
        if current is not None:
            out[res.name] = current
        for child in res.children:
            visit(child, current)

    for root in service.resources:
        visit(root, None)
    return out


def _walk(res: Resource) -> list[Resource]:
    out, stack = [], [res]
    while stack:
        r = stack.pop()
        out.append(r)
        stack.extend(reversed(r.children))
    return out


def build_index(config: ClusterConfig) -> ConfigIndex:
    """Precompute the per-service facts for ``config`` (see ``index_for`` for the cache)."""
    node_names = [n.name for n in config.nodes]
    domain_cache: dict[str | None, tuple[tuple[tuple[str, ...], ...], int, dict[str, int]]] = {}
    plans = []
    for svc in config.services:
        if svc.domain not in domain_cache:
            tiers, member_tiers = _domain_tiers(config.domain(svc.domain), node_names)
            rank = {node: i for i, tier in enumerate(tiers) for node in tier}
            domain_cache[svc.domain] = (tiers, member_tiers, rank)
        tiers, member_tiers, rank = domain_cache[svc.domain]  # shared, never mutated
        names = [r.name for r in svc.walk()]
        plans.append(ServicePlan(
            name=svc.name, service=svc, domain=config.domain(svc.domain), tiers=tiers,
            rank=rank, member_tiers=member_tiers,
            start_resources=_ordered(svc, names, False), stop_resources=_ordered(svc, names, True),
            subtrees=_subtrees(svc),
        ))
    return ConfigIndex(
        config=config,
        node_order={n: i for i, n in enumerate(node_names)},
        fenceable=frozenset(n.name for n in config.nodes if n.fence),
        plans=tuple(plans),
        by_name={p.name: p for p in plans},
    )


_CACHE: dict[int, ConfigIndex] = {}
_CACHE_SIZE = 8


def index_for(config: ClusterConfig) -> ConfigIndex:
    """The index of ``config``, built on first use and cached by object identity."""
    found = _CACHE.get(id(config))
    if found is not None and found.config is config:
        return found
    built = build_index(config)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[id(config)] = built
    return built
