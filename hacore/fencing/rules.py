"""When to fence: pure rules, no I/O, no clock (the time is an argument).

The policy engine (``hacore.policy.decide``, ``initial_snapshot``) and the daemon call these,
so each rule exists once:

- S3 ``must_fence_lost``: a lost node with a fence method is fenced; ``recovery_clearance``:
  its services are recovered elsewhere only once it is fenced, or (no fence method) its
  self-stop deadline has passed, never by deadline after a stop failed there.
- S4 ``stop_failure_response``: a failed stop gets the node fenced, or without a fence
  method the service marked failed.
- startup fencing: ``startup_fence_targets`` (configured nodes absent when the cluster first
  became quorate, unless ``timing.startup_fencing = false``), ``startup_fence_due`` (after
  ``post_join_delay``), and ``startup_fence_pending``: a service that has never been placed
  waits while a node it could run on is such a node and not yet fenced.
- two-node races: ``two_node_fence_delay``: the side about to fence the favoured node (by
  default the one running more services) waits, so the favoured node wins the race.
- no fence loop: ``fencing_allowed``: only a quorate partition fences; with ``wait_for_all``
  (implied by two_node) a node that comes back and cannot see its peer is not quorate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from hacore.config.model import ClusterConfig

if TYPE_CHECKING:
    from hacore.policy.snapshot import LostNode, ServiceStatus

Clearance = Literal["fenced", "deadline"]
StopFailureResponse = Literal["fence", "mark-failed"]
_ACTIVE = frozenset({"starting", "started", "stopping", "recovering"})


def can_fence(config: ClusterConfig, node: str) -> bool:
    """Whether ``node`` has at least one fence method configured."""
    return config.has_fencing(node)


def fencing_allowed(config: ClusterConfig, members: Iterable[str], *, seen_all: bool) -> bool:
    """A partition may fence only while it is quorate (S2 applies to fencing too).

    ``seen_all``: every configured node has been a member at once since this node started.
    With wait_for_all (and two_node, which implies it) a node that was fenced, boots, and
    still cannot see its peer is not quorate, so it does not fence back: no fence loop.
    """
    from hacore.policy.quorum import is_quorate  # lazy: the policy package imports this module

    return is_quorate(config, members, seen_all=seen_all)


def must_fence_lost(config: ClusterConfig, node: str, lost: LostNode | None,
                    members: Iterable[str] | Mapping[str, int]) -> bool:
    """S3: a node that left the membership, is not fenced yet and has a fence method."""
    return (lost is not None and not lost.fenced and node not in members
            and can_fence(config, node))


def recovery_clearance(lost: LostNode | None, now: float, *, stop_failed: bool) -> Clearance | None:
    """S3: why a lost node's services may start elsewhere now, or None (not yet).

    "fenced": a fence action confirmed it. "deadline": its self-stop deadline has passed;
    never when a stop had failed there (``stop_failed``), since it may not be able to stop.
    """
    if lost is None:
        return None
    if lost.fenced:
        return "fenced"
    if not stop_failed and lost.deadline_passed(now):
        return "deadline"
    return None


def stop_failure_response(config: ClusterConfig, node: str) -> StopFailureResponse:
    """S4: a stop failed (or timed out) on ``node``: fence it, or mark the service failed."""
    return "fence" if can_fence(config, node) else "mark-failed"


def startup_fence_targets(config: ClusterConfig, members_at_formation: Iterable[str]
                          ) -> tuple[str, ...]:
    """Configured nodes absent when the cluster first became quorate, in config order; none
    when the operator set ``timing.startup_fencing = false`` (rgmanager's clean_start)."""
    if not config.timing.startup_fencing:
        return ()
    present = set(members_at_formation)
    return tuple(n.name for n in config.nodes if n.name not in present)


def startup_fence_due(config: ClusterConfig, quorate_since: float, now: float) -> bool:
    """Startup fencing waits ``post_join_delay`` after first quorum for late nodes to join."""
    return now >= quorate_since + config.timing.post_join_delay


def startup_fence_pending(config: ClusterConfig, lost: Mapping[str, LostNode],
                          could_run_on: Iterable[str]) -> tuple[str, ...]:
    """Nodes that keep a never-placed service waiting: among ``could_run_on``, those lost,
    not fenced, and fenceable. The service may still run there from before the cluster
    formed, so it starts elsewhere only once they are fenced."""
    return tuple(n for n in could_run_on
                 if n in lost and not lost[n].fenced and can_fence(config, n))


def services_held(services: Mapping[str, ServiceStatus]) -> dict[str, int]:
    """How many services each node holds (started, or on the way in or out)."""
    held: dict[str, int] = {}
    for st in services.values():
        if st.owner is not None and st.state in _ACTIVE:
            held[st.owner] = held.get(st.owner, 0) + 1
    return held


def favoured_node(config: ClusterConfig, held: Mapping[str, int],
                  favour: str | None = None) -> str | None:
    """The node of a two-node cluster that should win a fence race.

    ``favour`` names it explicitly; otherwise the node holding more services, and on a tie
    the first node of the configuration (lowest id wins, like auto_tie_breaker). None when
    the cluster does not have exactly two nodes.
    """
    if len(config.nodes) != 2:
        return None
    names = [n.name for n in sorted(config.nodes, key=lambda n: n.id)]
    if favour is not None and favour in names:
        return favour
    a, b = names
    return b if held.get(b, 0) > held.get(a, 0) else a


def two_node_fence_delay(config: ClusterConfig, target: str, held: Mapping[str, int],
                         favour: str | None = None) -> float:
    """Seconds to wait before fencing ``target`` after losing sight of it.

    Only in an active two-node cluster (both halves keep quorum, so both try to fence):
    fencing of the favoured node is delayed by ``timing.two_node_fence_delay``, fencing of
    the other is not, so the favoured node fences first and survives.
    """
    from hacore.policy.quorum import two_node_active

    if not two_node_active(config) or config.timing.two_node_fence_delay <= 0:
        return 0.0
    if favoured_node(config, held, favour) != target:
        return 0.0
    return config.timing.two_node_fence_delay
