"""Admin requests on the coordinator (a base class of ``Coordinator``): service requests,
standby/unstandby of a node, and ``fence ack`` of a node fenced by hand.

Each request is recorded in the cluster state once its service is idle, journalled, and
acknowledged only once a quorum of nodes holds the state version that has it (S5).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.cluster_stop import OPS as CLUSTER_STOP_OPS
from hacore.daemon.cluster_stop import record_cluster_stop
from hacore.daemon.events import EventLog
from hacore.errors import OperationFailed
from hacore.journal import compose
from hacore.membership.contract import MembershipView
from hacore.policy import Action, AdminRequest, RequestRefused, Snapshot, apply, record_request
from hacore.policy.quorum import is_quorate

log = logging.getLogger("hacore.daemon")

NODE_OPS = ("standby", "unstandby", "fence-ack")


class AdminIntents:
    """The coordinator's admin-request steps (see the module docstring)."""

    config: ClusterConfig
    node: str
    active: bool
    snap: Snapshot | None
    view: MembershipView | None
    events: EventLog
    inflight: dict[str, Any]
    acks: dict[str, int]
    fencing: dict[str, float]
    _gathering: bool
    clock: Callable[[], float]
    wake: Callable[[], None]

    def _publish(self) -> int:
        raise NotImplementedError

    async def admin(self, request: AdminRequest | tuple[str, str], timeout: float = 60.0) -> int:
        """Record an admin request once its service is idle; return the state version once a
        quorum of nodes holds it. ``request`` is an AdminRequest or (op, node) with op in
        NODE_OPS. Raises RequestRefused/InputError/OperationFailed."""
        deadline = self.clock() + timeout
        service = request.service if isinstance(request, AdminRequest) else None
        while True:
            if not self.active or self._gathering or self.snap is None:
                raise OperationFailed(f"{self.node} is not (yet) the coordinator; try again")
            if service is None or all(inf.action.service != service
                                      for inf in self.inflight.values()):
                break
            if self.clock() > deadline:
                raise OperationFailed(f"service {service!r} is still busy with an operation")
            await asyncio.sleep(0.05)
        if isinstance(request, AdminRequest):
            self.snap = record_request(self.config, self.snap, request)
            op = request.op.replace("maintenance-", "maintenance ")  # the CLI's words
            command = f"hacore service {op} {request.service}" + (
                f" --to {request.node}" if request.node else "")
            self.events.record(compose.admin(command, service=request.service))
            log.info("recorded the request to %s %s%s", request.op, request.service,
                     f" on {request.node}" if request.node else "")
        elif request[0] == "fence-ack":
            self._fence_ack(request[1])
        elif request[0] in CLUSTER_STOP_OPS:
            record_cluster_stop(self, request[0])  # type: ignore[arg-type]
        else:
            op, node = request
            standby = (self.snap.standby | {node} if op == "standby"
                       else self.snap.standby - {node})
            self.snap = replace(self.snap, standby=standby)
            self.events.record(compose.admin(f"hacore node {op} {node}"))
            log.info("recorded: %s %s", op, node)
        return await self._published_to_quorum(deadline)

    async def _published_to_quorum(self, deadline: float) -> int:
        """Publish the state and return its version once a quorum of nodes holds it (the
        acknowledgement of every admin intent, S5); raises OperationFailed at ``deadline``."""
        version = self._publish()
        self.wake()
        while self.clock() < deadline:
            held = [n for n, v in self.acks.items() if v >= version] + [self.node]
            if is_quorate(self.config, set(held)):
                return version
            await asyncio.sleep(0.02)
        raise OperationFailed("the request was recorded but a quorum of nodes did not "
                              "confirm it in time; check `hacore status`")

    def _fence_ack(self, node: str) -> None:
        """An operator confirms ``node`` was fenced by hand: refused while it is a member;
        otherwise it counts as fenced (S3), so its services are recovered elsewhere."""
        assert self.snap is not None and self.view is not None
        if node in self.view.member_names() or node in self.snap.members:
            raise RequestRefused(f"{node} is a member of the cluster (Online): it was not "
                                 "fenced, and fence ack is only for a node that is down; "
                                 f"to fence it, run `hacore fence {node}`")
        self.events.record(compose.admin(f"hacore fence ack {node}"))
        self.events.record(compose.fence(node, ok=True, method="manual (fence ack)",
                                         duration=0.0,
                                         detail="an administrator confirmed it is down"))
        action = Action("fence", None, node)
        self.snap = apply(self.config, self.snap, [action], [True], now=self.clock())
        if self.fencing.get(node, 0.0) >= 0:  # a running attempt keeps its marker
            self.fencing.pop(node, None)
        log.warning("%s was acknowledged as fenced by an administrator: its services are "
                    "recovered elsewhere (S3)", node)
