"""Alert topics: the names hooks subscribe to, and which journal event is which topic.

Pure and dependency-free so the configuration loader can check ``events = [...]``.
"""

from __future__ import annotations

from typing import Any

#: every topic an alert hook may ask for, with what it means
TOPICS: dict[str, str] = {
    "failover": "a service started on another node than the one it ran on",
    "service-failed": "a resource of a service failed (monitor, start or stop)",
    "service-started": "a service started (first start, restart, or after an admin request)",
    "service-stopped": "a service stopped or was disabled",
    "operation-failed": "an agent operation failed or timed out",
    "node-lost": "a node left the membership",
    "node-joined": "a node joined the membership",
    "node-fenced": "a node was fenced",
    "fence-failed": "fencing a node failed",
    "quorum-lost": "this node's partition lost quorum",
    "quorum-regained": "this node's partition became quorate",
    "admin": "an administrator's command was accepted",
}


def topic_of(kind: str, fields: dict[str, Any]) -> str | None:
    """The alert topic of a journal event (its ``kind`` and ``fields``), or None."""
    change = fields.get("change")
    if kind == "membership":
        return {"lost": "node-lost", "joined": "node-joined"}.get(str(change))
    if kind == "quorum":
        return "quorum-regained" if fields.get("quorate") else "quorum-lost"
    if kind == "fence":
        return "node-fenced" if fields.get("ok") else "fence-failed"
    if kind == "operation":
        return None if fields.get("result") == "succeeded" else "operation-failed"
    if kind == "admin":
        return "admin"
    if kind == "service":
        if change == "failed":
            return "service-failed"
        if fields.get("failover"):
            return "failover"
        if change in ("started", "recovered"):
            return "service-started"
        if change in ("stopped", "disabled"):
            return "service-stopped"
    return None
