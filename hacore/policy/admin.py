"""Administrator requests (clusvcadm's verbs): checked, then recorded as intents.

``check_admin_request`` refuses what rgmanager refuses, with a message that names the
service and says what would work. ``record_request`` returns the snapshot with the request
recorded; ``decide`` then carries it out. A relocation is one-shot: once the service runs
on its new node nothing is left behind to pin it there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hacore.config.model import ClusterConfig
from hacore.errors import HacoreError, InputError
from hacore.policy.maintenance import set_cluster_maintenance, set_service_maintenance
from hacore.policy.snapshot import ServiceStatus, Snapshot

OPERATIONS = ("enable", "disable", "relocate", "restart", "freeze", "unfreeze",
              "maintenance-on", "maintenance-off")
#: the requests that would start, stop or move a service: refused while it is unmanaged
MANAGING = ("enable", "disable", "relocate", "restart")


@dataclass(frozen=True)
class AdminRequest:
    """``op`` one of OPERATIONS; ``node`` is the target for enable/relocate (optional)."""

    op: str
    service: str
    node: str | None = None


class RequestRefused(HacoreError):
    """The cluster cannot do what was asked now (exit 1); the message says why."""


def check_admin_request(config: ClusterConfig, snapshot: Snapshot,
                        request: AdminRequest) -> None:
    """Raise InputError (bad name or op) or RequestRefused (not now) with the reason."""
    op, name, node = request.op, request.service, request.node
    if op not in OPERATIONS:
        raise InputError(f"unknown service operation {op!r} (valid: {', '.join(OPERATIONS)})")
    svc = config.service(name)
    if svc is None:
        known = ", ".join(s.name for s in config.services) or "none"
        raise InputError(f"no service named {name!r} (services: {known})")
    if node is not None:
        if config.node(node) is None:
            known = ", ".join(n.name for n in config.nodes)
            raise InputError(f"no node named {node!r} (nodes: {known})")
        if op not in ("enable", "relocate"):
            raise InputError(f"a target node only applies to enable and relocate, not {op}")
    if not snapshot.quorate:
        raise RequestRefused(f"service {name!r} cannot be changed: this partition is not "
                             "quorate (the request requires quorum)")
    st = snapshot.status(name)
    if op in ("freeze", "unfreeze", "maintenance-on", "maintenance-off"):
        return
    if op in MANAGING:
        _refuse_unmanaged(snapshot, name, op)
    if st.state == "failed" and op != "disable":
        raise RequestRefused(
            f"service {name!r} is failed (a stop failed on {st.stop_failed_on or st.owner}); "
            f"only disable is accepted: verify the node is clean, then disable it")
    if st.frozen:
        raise RequestRefused(f"service {name!r} is frozen; unfreeze it first")
    if op == "restart" and st.state != "started":
        raise RequestRefused(f"service {name!r} is {st.state}, not running; use enable")
    if op == "relocate" and st.state != "started":
        raise RequestRefused(f"service {name!r} is {st.state}, not running; use enable "
                             f"{'with a target node ' if node else ''}to start it")
    if node is not None:
        domain = config.domain(svc.domain)
        if domain is not None and domain.restricted and node not in {m.node for m in domain.members}:
            members = ", ".join(m.node for m in domain.members)
            raise RequestRefused(f"service {name!r} cannot move to {node}: {node} is not in "
                                 f"failover domain {domain.name!r} (members: {members})")
        if node not in snapshot.members:
            raise RequestRefused(f"service {name!r} cannot move to {node}: {node} is not a "
                                 "member of the cluster now (target node dead or nonexistent)")


def _refuse_unmanaged(snapshot: Snapshot, name: str, op: str) -> None:
    """Maintenance: hacore neither starts nor stops the service, so nothing that would."""
    st = snapshot.status(name)
    if st.maintenance:
        raise RequestRefused(f"service {name!r} is in maintenance: hacore neither starts nor "
                             f"stops it, so it cannot {op} it; run `hacore service maintenance "
                             f"off {name}` first")
    if snapshot.maintenance:
        raise RequestRefused(f"the cluster is in maintenance: hacore neither starts nor stops "
                             f"any service, so it cannot {op} {name!r}; run `hacore cluster "
                             "maintenance off` first")
    if st.reprobe:
        raise RequestRefused(f"service {name!r} is leaving maintenance: every member probes it "
                             "first; try again in a few seconds")


def record_cluster_maintenance(snapshot: Snapshot, on: bool) -> Snapshot:
    """The whole cluster in maintenance (``on``) or out of it; refused without quorum."""
    if not snapshot.quorate:
        raise RequestRefused("the cluster's maintenance mode cannot be changed: this partition "
                             "is not quorate (the request requires quorum)")
    return set_cluster_maintenance(snapshot, on)


def record_request(config: ClusterConfig, snapshot: Snapshot,
                   request: AdminRequest) -> Snapshot:
    """Check the request, then return the snapshot with it recorded as an intent."""
    check_admin_request(config, snapshot, request)
    name, op, node = request.service, request.op, request.node
    st = snapshot.status(name)
    new: ServiceStatus
    if op in ("maintenance-on", "maintenance-off"):
        return set_service_maintenance(snapshot, name, op == "maintenance-on")
    if op == "freeze":
        new = replace(st, frozen=True)
    elif op == "unfreeze":
        new = replace(st, frozen=False)
    elif op == "disable":
        if st.state == "failed" and st.owner not in (None, st.stop_failed_on):
            # the operator vouches for the node where the stop failed; the owner's own copy
            # still runs and is stopped the usual way
            new = replace(st, state="started", stop_failed_on=None, intent="disable")
        elif st.state == "failed":  # the operator vouches that the node is clean
            new = replace(st, state="disabled", owner=None, last_owner=st.owner or st.last_owner,
                          stop_failed_on=None, intent=None, target=None)
        elif st.state in ("stopped", "disabled") and st.owner is None:
            new = replace(st, state="disabled", intent=None, target=None)
        else:
            new = replace(st, intent="disable", target=None)
    elif op == "enable":
        if st.state == "started":
            if not st.stopped_subtrees:
                return snapshot  # already running: nothing to do
            new = replace(st, intent="enable")  # convalesce: start its stopped subtrees
        new = replace(st, state="stopped" if st.owner is None else st.state, intent="enable",
                      target=node, avoid=frozenset(), restarts=(), subtree_restarts={})
    elif op == "relocate":
        if node is not None and node == st.owner:
            return snapshot
        new = replace(st, intent="relocate", target=node, avoid=frozenset())
    else:  # restart
        new = replace(st, intent="restart")
    services = dict(snapshot.services)
    services[name] = new
    return replace(snapshot, services=services)
