"""A clean departure (``hacore node leave``, SIGTERM, systemctl stop): move services first.

``drain_before_leaving`` puts this node in standby through the coordinator, so its services
move to other nodes the way a standby drains them (stopped here, then started there), and
waits until it runs none (bounded; without quorum it does not wait: S2 stops them anyway).
It remembers in the state file that the standby came from a departure, and
``unstandby_after_return`` lifts it once the node is back in a quorate cluster, so a node
that left and came back takes services again (an operator's own standby is left alone).
After the drain, the daemon stops whatever still runs here, tells the cluster it leaves
(``leaving``: the survivors do not fence it) and exits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from hacore.errors import HacoreError
from hacore.policy.snapshot import ACTIVE_STATES

if TYPE_CHECKING:
    from hacore.daemon.node import NodeDaemon

log = logging.getLogger("hacore.daemon")

#: the longest a departure waits for its services to move away before stopping them here
DRAIN_TIMEOUT = 60.0


def _owned_here(daemon: NodeDaemon) -> list[str]:
    """Services the cluster state says are (or may be) active on this node."""
    snap = daemon.cluster_snapshot()
    if snap is None:
        return []
    return sorted(name for name, st in snap.services.items()
                  if st.owner == daemon.node and st.state in ACTIVE_STATES)


def kept_in_maintenance(daemon: NodeDaemon) -> set[str]:
    """Services active or owned here that are in maintenance (all of them while the cluster
    is): a departure neither moves nor stops them, and the node leaves them running."""
    snap = daemon.cluster_snapshot()
    if snap is None or daemon.local is None:
        return set()
    here = set(daemon.local.active) | set(_owned_here(daemon))
    return {name for name in here if snap.unmanaged(name)}


def _left_to_move(daemon: NodeDaemon) -> set[str]:
    """What still has to move away: active here or owned here, except frozen services
    (the coordinator does not move them; the departure stops them here) and services in
    maintenance (left running)."""
    assert daemon.local is not None
    snap = daemon.cluster_snapshot()
    frozen = {n for n, st in snap.services.items() if st.frozen} if snap is not None else set()
    return ((set(daemon.local.active) | set(_owned_here(daemon))) - frozen
            - kept_in_maintenance(daemon))


async def drain_before_leaving(daemon: NodeDaemon, timeout: float = DRAIN_TIMEOUT) -> bool:
    """Move this node's services elsewhere before it leaves; True when it runs none."""
    assert daemon.local is not None
    view = daemon.provider.view()
    if not view.quorate or view.coordinator is None:
        return not daemon.local.active
    if not (set(daemon.local.active) | set(_owned_here(daemon))) - kept_in_maintenance(daemon):
        return True  # nothing, or only services in maintenance (left running)
    snap = daemon.cluster_snapshot()
    if snap is None or daemon.node not in snap.standby:
        daemon.state.unstandby_on_join = True
        daemon.store.save(daemon.state)
        try:
            await asyncio.wait_for(daemon._forward(
                {"what": "node", "op": "standby", "node": daemon.node}), timeout)
        except (HacoreError, TimeoutError) as exc:
            log.warning("%s could not drain before leaving (%s): it stops its services here",
                        daemon.node, exc)
            return False
    log.info("%s is leaving: its services move to other nodes first", daemon.node)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not daemon.provider.view().quorate:
            log.warning("%s lost quorum while draining: it stops its services here", daemon.node)
            return False
        if not _left_to_move(daemon):
            log.info("%s runs no service the cluster can move any more", daemon.node)
            return True
        await asyncio.sleep(0.1)
    log.warning("%s: its services did not move away within %g s; it stops them here",
                daemon.node, timeout)
    return False


async def unstandby_after_return(daemon: NodeDaemon) -> None:
    """Lift the standby a departure put on this node, once it is back (see module doc)."""
    try:
        await daemon._forward({"what": "node", "op": "unstandby", "node": daemon.node})
    except HacoreError as exc:
        log.info("%s will ask again to take services after its return: %s", daemon.node, exc)
        return
    daemon.state.unstandby_on_join = False
    daemon.store.save(daemon.state)
    log.info("%s is back after a clean departure: it takes services again", daemon.node)
