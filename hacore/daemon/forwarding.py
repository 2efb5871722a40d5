"""Requests a node forwards to the coordinator (admin intents, configuration pushes, node
changes): one id per request, resent to whoever coordinates now until the answer comes back
or the deadline passes (``ask_coordinator``). The coordinator serves each id once
(``ServedRequests``): a copy that arrives while it runs is dropped, a later one gets the same
reply again, so a retry never does anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hacore.errors import HacoreError, InputError, OperationFailed

if TYPE_CHECKING:
    from hacore.daemon.node import NodeDaemon

RESEND = 1.0  # seconds between copies of an unanswered request
_ids = itertools.count(1)


async def ask_coordinator(daemon: NodeDaemon, kind: str, body: dict[str, Any],
                          waiters: dict[str, asyncio.Future[dict[str, Any]]], *,
                          timeout: float, late: str) -> dict[str, Any]:
    """Send ``body`` as a ``kind`` message to the coordinator until its reply (a dict the
    handler of the reply kind puts into ``waiters[id]``) arrives; raises OperationFailed
    with ``late`` after ``timeout`` seconds."""
    req_id = f"{daemon.node}.{time.time_ns()}.{next(_ids)}"
    waiter = asyncio.get_running_loop().create_future()
    waiters[req_id] = waiter
    deadline = time.monotonic() + timeout
    try:
        while not waiter.done():
            if time.monotonic() > deadline:
                raise OperationFailed(late)
            target = daemon.provider.view().coordinator
            if target is not None:
                daemon.send(target, kind, {**body, "id": req_id})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter), RESEND)
        return waiter.result()
    finally:
        waiters.pop(req_id, None)


def refusal(reply: dict[str, Any]) -> HacoreError | None:
    """The error a ``{"ok": false, "message", "exit_code"}`` reply stands for, or None."""
    if reply.get("ok"):
        return None
    error = InputError if reply.get("exit_code") == 2 else OperationFailed
    return error(str(reply.get("message")))


class ServedRequests:
    """The coordinator's side: runs each forwarded request id once and answers it with a
    ``reply_kind`` message (the last ``KEEP`` replies are kept for resent copies)."""

    KEEP = 100

    def __init__(self, daemon: NodeDaemon, reply_kind: str) -> None:
        self.daemon = daemon
        self.reply_kind = reply_kind
        self.served: dict[str, dict[str, Any]] = {}
        self.serving: set[str] = set()

    async def serve(self, sender: str, body: dict[str, Any],
                    run: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Answer ``body`` (with its ``id``) from ``sender`` with ``run()``'s reply; a
        HacoreError becomes ``{"ok": false, "message", "exit_code"}``."""
        req_id = str(body.get("id"))
        if req_id in self.served:
            self.daemon.send(sender, self.reply_kind, self.served[req_id])
            return
        if req_id in self.serving:
            return
        self.serving.add(req_id)
        try:
            reply = await run()
        except HacoreError as exc:
            reply = {"ok": False, "message": str(exc), "exit_code": exc.exit_code}
        finally:
            self.serving.discard(req_id)
        reply["id"] = req_id
        self.served[req_id] = reply
        if len(self.served) > self.KEEP:
            self.served.pop(next(iter(self.served)))
        self.daemon.send(sender, self.reply_kind, reply)


def still_coordinating(daemon: NodeDaemon) -> None:
    """Raises when the view no longer names this node coordinator (the asker retries)."""
    if daemon.provider.view().coordinator != daemon.node:
        raise OperationFailed("the node asked is no longer the coordinator; retry")
