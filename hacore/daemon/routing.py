"""How a node daemon routes what arrives: messages from the other daemons, and admin requests.

``MessageRouting`` is a base class of ``NodeDaemon``: ``_on_message`` takes each message of
a current member (configuration, bootstrap, a clean leave, or one for the local node, the
coordinator, the journal or the admin waiters), and ``_forward`` carries an admin request
to the coordinator (or serves it here) and waits for the answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hacore.api.client import ApiError
from hacore.daemon.cluster_stop import on_cluster_exit
from hacore.daemon.configsync import KINDS as CONFIG_KINDS
from hacore.daemon.configsync import ConfigSync
from hacore.daemon.coordinator import Coordinator
from hacore.daemon.forwarding import ServedRequests, ask_coordinator
from hacore.daemon.journal_requests import JournalRequests
from hacore.daemon.local import LocalNode
from hacore.daemon.messages import BadMessage, decode
from hacore.daemon.store import LocalState, LocalStore
from hacore.errors import HacoreError, OperationFailed
from hacore.membership.contract import MembershipProvider, Message
from hacore.policy import AdminRequest

log = logging.getLogger("hacore.daemon")

ADMIN_TIMEOUT = 65.0


class MessageRouting:
    """The message and admin-request routing of ``NodeDaemon`` (a base class of it)."""

    node: str
    provider: MembershipProvider
    coordinator: Coordinator
    local: LocalNode | None
    state: LocalState
    store: LocalStore
    configsync: ConfigSync
    join_endpoint: Any
    journal_requests: JournalRequests
    _admins_served: ServedRequests
    _admin_waiters: dict[str, asyncio.Future[dict[str, Any]]]

    def send(self, node: str, kind: str, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def _on_message(self, msg: Message) -> None:
        if msg.sender != self.node:  # only the current incarnation of a member is heard
            member = self.provider.view().member(msg.sender)
            if member is None or member.incarnation != msg.incarnation:
                log.debug("dropped a message from %s (incarnation %d): not a member",
                          msg.sender, msg.incarnation)
                return
        try:
            body = decode(msg.payload)
        except BadMessage as exc:
            log.warning("dropped a message from %s: %s", msg.sender, exc)
            return
        if body.get("t") in CONFIG_KINDS:
            try:
                self.configsync.on_message(msg.sender, str(body["t"]), body)
            except Exception:
                log.exception("handling %s from %s failed; going on", body["t"], msg.sender)
            return
        if body.get("t") in ("boot-req", "boot-reply") and self.join_endpoint is not None:
            try:
                self.join_endpoint.on_message(msg.sender, str(body["t"]), body)
            except Exception:
                log.exception("handling %s from %s failed; going on", body["t"], msg.sender)
            return
        if body.get("t") == "leaving":  # the provider's incarnation, not the payload's
            if int(body.get("incarnation", -1)) == msg.incarnation:
                self.coordinator.clean_leaves[msg.sender] = msg.incarnation
                kept = body.get("kept")
                if isinstance(kept, list) and kept:  # left running in maintenance
                    self.coordinator.kept_leaves[msg.sender] = [str(k) for k in kept]
            return
        try:
            self._handle(msg.sender, body)
        except Exception:
            log.exception("handling %s from %s failed; going on", body.get("t"), msg.sender)

    def _handle(self, sender: str, body: dict[str, Any]) -> None:
        kind = body["t"]
        coord = self.coordinator
        assert self.local is not None
        if kind == "op":
            self.local.on_op(sender, body)
        elif kind == "result" and coord.active:
            coord.on_result(sender, body)
        elif kind == "status":
            coord.on_status(sender, body)
        elif kind == "state-ack" and coord.active:
            coord.on_ack(sender, int(body.get("version", 0)))
        elif kind == "state-req":
            self.send(sender, "state", {"reply": True, "version": self.state.cluster_version,
                                        "state": self.state.cluster})
        elif kind == "state":
            version, state = int(body.get("version", 0)), body.get("state") or {}
            if body.get("reply"):
                if coord.active:
                    coord.on_state_reply(sender, version, state)
            elif sender == self.provider.view().coordinator:
                self._store_cluster(version, state)
                self.send(sender, "state-ack", {"version": version})
        elif kind in ("journal-req", "journal-part"):
            self.journal_requests.on_message(sender, kind, body)
        elif kind == "admin":
            asyncio.ensure_future(self._serve_admin(sender, body))
        elif kind == "cluster-exit":
            on_cluster_exit(self, sender)
        elif kind == "admin-reply":
            waiter = self._admin_waiters.get(str(body.get("id")))
            if waiter is not None and not waiter.done():
                waiter.set_result(body)

    def _store_cluster(self, version: int, state: dict[str, Any]) -> None:
        """Keep the current coordinator's state (it is authoritative: it started from the
        newest state a quorum held, so its versions only grow past what a quorum saw)."""
        self.state.cluster_version = version
        self.state.cluster = state
        self.store.save(self.state)

    # -- admin requests -------------------------------------------------------------------

    async def _serve_admin(self, sender: str, body: dict[str, Any]) -> None:
        await self._admins_served.serve(sender, body, lambda: self._as_coordinator(body))

    async def _as_coordinator(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            if body.get("what") == "node":
                version = await self.coordinator.admin((body["op"], body["node"]))
            elif body.get("what") == "cluster":  # hacore cluster stop (cluster_stop.py)
                version = await self.coordinator.admin((body["op"], ""))
            elif body.get("what") == "cluster-maintenance":
                version = await self.coordinator.cluster_maintenance(bool(body.get("on")))
            else:
                request = AdminRequest(body["op"], body["service"], body.get("node"))
                version = await self.coordinator.admin(request)
            return {"ok": True, "version": version}
        except HacoreError as exc:
            return {"ok": False, "message": str(exc), "exit_code": exc.exit_code}

    async def _forward(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send an admin request to the coordinator (or serve it here) and wait."""
        view = self.provider.view()
        if not view.quorate or view.coordinator is None:
            raise OperationFailed(f"this partition ({self.node}) is not quorate: the request "
                                  "requires quorum (S2)")
        if view.coordinator == self.node:
            reply = await self._as_coordinator(body)
        else:
            reply = await ask_coordinator(self, "admin", body, self._admin_waiters,
                                          timeout=ADMIN_TIMEOUT,
                                          late="the coordinator did not answer the request")
        if not reply.get("ok"):
            raise ApiError(str(reply.get("message")), int(reply.get("exit_code", 1)))
        return reply
