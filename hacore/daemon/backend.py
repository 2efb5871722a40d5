"""What the NodeDaemon answers through the control API (``hacore.api.handlers.Backend``):
status, nodes, admin requests (forwarded to the coordinator), this node's journal, ``why``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.daemon.coordinator import Coordinator
from hacore.daemon.events import EventLog
from hacore.daemon.local import LocalNode
from hacore.daemon.status import build_nodes, build_status
from hacore.daemon.store import LocalState
from hacore.daemon.why import explain_service
from hacore.errors import HacoreError, InputError, OperationFailed
from hacore.journal import read_journal
from hacore.journal.reader import event_filter
from hacore.membership.contract import MembershipProvider
from hacore.policy import AdminRequest, Snapshot, check_admin_request, snapshot_from_dict
from hacore.policy.admin import OPERATIONS

#: the most events one ``events`` reply carries (the newest ones)
MAX_EVENTS = 5000


class ApiBackend:
    """The API side of ``NodeDaemon`` (a base class of it)."""

    config: ClusterConfig
    node: str
    provider: MembershipProvider
    coordinator: Coordinator
    state: LocalState
    local: LocalNode | None
    events: EventLog
    exiting: bool
    #: what ``hacore node leave`` triggers: the daemon's clean shutdown (drain, stop, exit 0)
    on_leave: Callable[[], None] | None = None

    async def _forward(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def api_config_push(self, text: str, filename: str = "<pushed>") -> dict[str, Any]:
        """``hacore config push``: ``{"version": N}`` once a quorum stored it (configsync)."""
        return await self.configsync.push(text, filename)  # type: ignore[attr-defined]

    def cluster_snapshot(self) -> Snapshot | None:
        """The freshest cluster state this node knows (live on the coordinator)."""
        if self.coordinator.active and self.coordinator.snap is not None:
            return self.coordinator.snap
        if not self.state.cluster:
            return None
        return snapshot_from_dict({"reports": {}, **self.state.cluster})

    def api_status(self) -> dict[str, Any]:
        view = self.provider.view()
        snap = self.cluster_snapshot()
        live = self.coordinator.active and self.coordinator.snap is not None
        version = self.coordinator.version if live else self.state.cluster_version
        out = build_status(self.config, view, snap, time.time(), version)
        assert self.local is not None
        out["local_services"] = sorted(self.local.active)
        return out

    def api_nodes(self) -> dict[str, Any]:
        return build_nodes(self.config, self.provider.view())

    async def api_service(self, op: str, service: str, node: str | None) -> dict[str, Any]:
        if op not in OPERATIONS:
            raise InputError(f"unknown service operation {op!r} (valid: {', '.join(OPERATIONS)})")
        snap = self.cluster_snapshot()
        if snap is not None:  # name errors are answered here, refusals by the coordinator
            try:
                check_admin_request(self.config, snap, AdminRequest(op, service, node))
            except InputError:
                raise
            except HacoreError:
                pass
        reply = await self._forward({"what": "service", "op": op, "service": service,
                                     "node": node})
        return {"ok": True, "version": reply.get("version")}

    async def api_cluster_maintenance(self, on: bool) -> dict[str, Any]:
        """``hacore cluster maintenance on|off``: acknowledged once a quorum holds it."""
        reply = await self._forward({"what": "cluster-maintenance", "on": on})
        return {"ok": True, "version": reply.get("version"), "maintenance": on}

    async def api_node(self, op: str, node: str) -> dict[str, Any]:
        if self.config.node(node) is None:
            names = ", ".join(n.name for n in self.config.nodes)
            raise InputError(f"no node named {node!r} (nodes: {names})")
        if op == "leave":
            return self._leave(node)
        reply = await self._forward({"what": "node", "op": op, "node": node})
        return {"ok": True, "version": reply.get("version")}

    async def api_cluster_stop(self, timeout: float, cancel: bool = False) -> dict[str, Any]:
        """``hacore cluster stop``: every service stopped in order, then every daemon exits
        (this one last, right after answering); see hacore.daemon.cluster_stop."""
        from hacore.daemon.cluster_stop import serve_cluster_stop

        return await serve_cluster_stop(self, timeout, cancel)  # type: ignore[arg-type]

    def exit_after_cluster_stop(self) -> None:
        """Exit cleanly (like ``hacore node leave``; nothing runs here any more) a moment
        from now, so that an answer being written goes out first."""
        self.exiting = True
        if self.on_leave is None:
            return
        asyncio.get_running_loop().call_later(0.3, self.on_leave)

    def _leave(self, node: str) -> dict[str, Any]:
        """``hacore node leave``: this daemon drains, stops and exits (asked on its own
        socket, like cman_tool leave)."""
        if node != self.node:
            raise InputError(f"hacore node leave {node}: ask {node}'s own daemon (its "
                             f"--socket); this socket is {self.node}'s")
        if self.on_leave is None:
            raise OperationFailed(f"{self.node}'s daemon cannot leave on request here")
        asyncio.get_running_loop().call_soon(self.on_leave)
        return {"ok": True, "leaving": node}

    async def api_events(self, since: float | None = None, incident: str | None = None,
                         service: str | None = None, after: int = 0) -> dict[str, Any]:
        """This node's journal: the events after seq ``after`` that pass the filters (the
        newest MAX_EVENTS of them)."""
        directory = self.events.directory
        if directory is None or self.events.journal is None:
            raise OperationFailed(f"{self.node} keeps no event journal (see its log)")
        keep = event_filter(since=since, incident=incident, service=service)

        def read() -> list[dict[str, Any]]:
            return [e.to_dict() for e in read_journal(directory) if e.seq > after and keep(e)]

        found = await asyncio.to_thread(read)
        return {"node": self.node, "events": found[-MAX_EVENTS:],
                "truncated": len(found) > MAX_EVENTS}

    def api_why(self, service: str) -> dict[str, Any]:
        """Where ``service`` runs and why, or why not (``hacore.daemon.why``)."""
        snap = self.cluster_snapshot()
        view = self.provider.view()
        if snap is None:
            if self.config.service(service) is None:
                names = ", ".join(s.name for s in self.config.services) or "none"
                raise InputError(f"no service named {service!r} (services: {names})")
            raise OperationFailed(f"{self.node} knows no cluster state yet: the cluster has "
                                  "not formed (is a quorum of nodes up?)")
        snap = replace(snap, quorate=view.quorate)  # this node's own view is the freshest
        out = explain_service(self.config, snap, service, time.time())
        out["answered_by"] = self.node
        out["coordinator"] = view.coordinator
        return out
