"""Daemon messages between nodes, carried by the membership provider's authenticated send.

Each message is one compact JSON object, zlib-compressed (the built-in provider's datagrams
hold at most 8 KiB), with ``t`` naming its kind:

- ``op`` (coordinator -> node): run an action; ``id`` is unique per coordinator incarnation,
  so a retried message is recognised and never runs twice; ``incident`` (or null) is the
  journal incident the op belongs to, so the node's operation events carry it too;
- ``result`` (node -> coordinator): the outcome of an op, resent for a retried id;
- ``status`` (node -> coordinator, every second and on every change): what runs or failed
  on the node, with ``seq`` so a status older than a result is ignored;
- ``admin`` / ``admin-reply``: an administrator request forwarded to the coordinator;
- ``state`` / ``state-ack`` / ``state-req``: the coordinator's cluster state, replicated to
  every node and acknowledged with its version; a new coordinator asks for it;
- ``leaving`` (node -> every member): this incarnation stopped every service it ran and is
  leaving; the survivors do not fence it for that departure;
- ``journal-req`` / ``journal-part``: one page of a member's event journal, asked by a node
  that shows the cluster-wide timeline (``hacore.daemon.journal_requests``).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

KINDS = frozenset({"op", "result", "status", "admin", "admin-reply", "state", "state-ack",
                   "state-req", "leaving", "journal-req", "journal-part"})


class BadMessage(ValueError):
    """A payload that is not a daemon message (logged and dropped)."""


def encode(kind: str, body: dict[str, Any]) -> bytes:
    """The payload for ``provider.send``."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    return zlib.compress(json.dumps({**body, "t": kind}, separators=(",", ":")).encode(), 6)


def decode(payload: bytes) -> dict[str, Any]:
    """The message dict; raises BadMessage for anything else."""
    try:
        raw = json.loads(zlib.decompress(payload, bufsize=1 << 16))
    except (zlib.error, ValueError) as exc:
        raise BadMessage(f"not a daemon message: {exc}") from None
    if not isinstance(raw, dict) or raw.get("t") not in KINDS:
        raise BadMessage("not a daemon message: no known kind")
    return raw
