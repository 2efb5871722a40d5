"""``hacore cluster stop``: stop every service in order, then every daemon.

1. The node the CLI asks (``serve_cluster_stop``) refuses without quorum or with a failed
   service, then asks the coordinator to record the stop (``record_cluster_stop``): the
   cluster state gets ``cluster_stop`` = the members' incarnations, acknowledged once a
   quorum holds it. From then on the policy stops every service where it runs, in the
   reverse of the start order, and starts nothing anywhere (hacore.policy.cluster_stop),
   whichever node coordinates, joins or comes back meanwhile.
2. That node waits until the replicated state shows every service stopped (each stop
   confirmed by its owner). A stop that fails leaves the service failed: the request ends
   with an error naming the service and node, and every daemon stays up.
3. Then it tells every other member to exit (``cluster-exit``, resent until each has left
   the membership); each stops what still runs (nothing), tells the cluster it leaves (so
   nobody fences it) and its daemon exits 0, so the supervisor exits 0 and is not restarted
   (systemd: Restart=on-failure). Last, the asked node answers the CLI and exits the same way.

The stop marker ends by itself when none of the daemons it names is a member any more: the
next cluster start (``end_after_restart``) runs the enabled services again and keeps the
disabled ones disabled (S5). ``hacore cluster stop --cancel`` ends it by hand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hacore.errors import OperationFailed
from hacore.journal import compose
from hacore.membership.contract import MembershipView
from hacore.policy import RequestRefused, Snapshot
from hacore.policy.cluster_stop import stop_outcome

if TYPE_CHECKING:
    from hacore.daemon.coordinator import Coordinator
    from hacore.daemon.node import NodeDaemon

log = logging.getLogger("hacore.daemon")

#: the coordinator's admin operations (``Coordinator.admin(("cluster-stop", ""))``)
OPS = ("cluster-stop", "cluster-stop-cancel")
#: how long the asked node waits for the other daemons to leave once everything stopped
EXIT_WAIT = 30.0
RESEND = 0.5


def record_cluster_stop(coord: Coordinator, op: str) -> None:
    """On the coordinator: record (or, for ``cluster-stop-cancel``, end) the cluster stop.
    Refused while a service is failed (its node may still hold it: the administrator
    checks it and disables the service first)."""
    assert coord.snap is not None and coord.view is not None
    if op == "cluster-stop-cancel":
        if coord.snap.cluster_stop:
            coord.snap = replace(coord.snap, cluster_stop={})
            coord.events.record(compose.admin("hacore cluster stop --cancel"))
            log.warning("the cluster stop was cancelled: services start again as the "
                        "configuration says")
        return
    refuse_failed(coord.config, coord.snap)
    daemons = {m.name: m.incarnation for m in coord.view.members}
    coord.snap = replace(coord.snap, cluster_stop={**coord.snap.cluster_stop, **daemons})
    coord.events.record(compose.admin("hacore cluster stop"))
    log.warning("the cluster is stopping (hacore cluster stop): every service is stopped "
                "where it runs, nothing is started, then every daemon exits")


def refuse_failed(config: Any, snap: Snapshot) -> None:
    """RequestRefused naming the failed services, if any."""
    failed, _ = stop_outcome(config, snap)
    if failed:
        names = "; ".join(f"{s} on {n}" for s, n in failed)
        first = failed[0][0]
        raise RequestRefused(f"the cluster cannot stop cleanly: service {names} is failed "
                             f"(a stop failed there and it may still hold its resources); "
                             f"check the node, run `hacore service disable {first}`, then "
                             "`hacore cluster stop` again")


def end_after_restart(snap: Snapshot, view: MembershipView) -> Snapshot:
    """On takeover: a cluster stop none of whose daemons is a member any more is over
    (every daemon exited and was started again): the cluster runs its services again."""
    if not snap.cluster_stop:
        return snap
    alive = {(m.name, m.incarnation) for m in view.members}
    if any(item in alive for item in snap.cluster_stop.items()):
        log.info("a cluster stop is under way (hacore cluster stop): it goes on")
        return snap
    log.info("the cluster starts again after `hacore cluster stop`: enabled services start, "
             "disabled ones stay disabled")
    return replace(snap, cluster_stop={})


async def serve_cluster_stop(daemon: NodeDaemon, timeout: float,
                             cancel: bool = False) -> dict[str, Any]:
    """The API request ``cluster_stop`` (see the module docstring); returns once every
    other daemon left, and schedules this daemon's own exit right after the answer."""
    view = daemon.provider.view()
    if not view.quorate or view.coordinator is None:
        why = view.quorum.reason or "too few votes"
        raise OperationFailed(f"the cluster cannot be stopped from {daemon.node}: this "
                              f"partition is not quorate ({why}); a cluster stop needs quorum "
                              "so that no partition starts what the other stops (S2)")
    if cancel:
        await daemon._forward({"what": "cluster", "op": "cluster-stop-cancel"})
        return {"ok": True, "cancelled": True}
    snap = daemon.cluster_snapshot()
    running: list[str] = []
    if snap is not None:
        refuse_failed(daemon.config, snap)
        running = [name for name, _owner in stop_outcome(daemon.config, snap)[1]]
    await daemon._forward({"what": "cluster", "op": "cluster-stop"})
    deadline = time.monotonic() + timeout
    stopped = await _services_stopped(daemon, deadline, running)
    nodes = await _others_exit(daemon, deadline)
    log.warning("%s: every service is stopped and %s exited; %s answers and exits",
                daemon.node, ", ".join(nodes) or "no other daemon", daemon.node)
    daemon.exit_after_cluster_stop()
    return {"ok": True, "stopped": stopped, "exited": nodes + [daemon.node]}


async def _services_stopped(daemon: NodeDaemon, deadline: float,
                            running: list[str]) -> list[str]:
    """Wait until the cluster state shows every service stopped; ``running`` plus the
    services seen active meanwhile. Raises OperationFailed on a failed stop."""
    while True:
        snap = daemon.cluster_snapshot()
        if snap is not None and snap.cluster_stop:
            failed, left = stop_outcome(daemon.config, snap)
            for name, _owner in left:
                if name not in running:
                    running.append(name)
            if failed:
                name, node = failed[0]
                raise OperationFailed(
                    f"stopping service {name} failed on {node}: {name} is failed there and "
                    "may still hold its resources; every daemon stays up. Check "
                    f"{node} (`hacore events --service {name}`), run `hacore service disable "
                    f"{name}`, then `hacore cluster stop` again (or `hacore cluster stop "
                    "--cancel` to run the services again)")
            if not left and not (daemon.local is not None and daemon.local.active):
                return running
            what = ", ".join(f"{n} on {o}" for n, o in left) or "this node's services"
        else:
            what = "the cluster state with the stop"
        if time.monotonic() > deadline:
            raise OperationFailed(f"not every service stopped in time (still waiting for "
                                  f"{what}); the stop goes on and nothing is started: run "
                                  "`hacore cluster stop` again to wait, or `hacore cluster "
                                  "stop --cancel`")
        await asyncio.sleep(0.1)


async def _others_exit(daemon: NodeDaemon, deadline: float) -> list[str]:
    """Tell every other member to exit until none is a member; the nodes that left."""
    asked: set[str] = set()
    until = max(deadline, time.monotonic() + EXIT_WAIT)
    while True:
        others = [n for n in daemon.provider.view().member_names() if n != daemon.node]
        if not others:
            return sorted(asked)
        if time.monotonic() > until:
            raise OperationFailed(f"every service is stopped, but the daemons of "
                                  f"{', '.join(others)} did not exit; see their logs")
        for name in others:
            daemon.send(name, "cluster-exit", {})
            asked.add(name)
        await asyncio.sleep(RESEND)


def on_cluster_exit(daemon: NodeDaemon, sender: str) -> None:
    """A member says the cluster stop is complete: exit cleanly if this node agrees (the
    state it holds shows the stop and no service active, and it runs nothing)."""
    snap = daemon.cluster_snapshot()
    active = daemon.local.active if daemon.local is not None else {}
    if snap is None or not snap.cluster_stop:
        log.warning("%s ignored an exit request from %s: no cluster stop is recorded here",
                    daemon.node, sender)
        return
    failed, left = stop_outcome(daemon.config, snap)
    if failed or left or active:
        log.warning("%s ignored an exit request from %s: services are not all stopped yet",
                    daemon.node, sender)
        return
    if not daemon.exiting:
        log.warning("%s: the cluster stop is complete (asked by %s); this daemon exits",
                    daemon.node, sender)
        daemon.exit_after_cluster_stop()
