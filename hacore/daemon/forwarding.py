"""Requests a node forwards to the coordinator (admin intents, configuration pushes, node
changes): one id per request, resent to whoever coordinates now until the answer comes back
or the deadline passes. The coordinator serves a resent id once (the messages are
idempotent), so a retry never does anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
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
