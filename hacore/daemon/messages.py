"""Daemon messages between nodes, carried by the TLS message channel (hacore.daemon.channel).

Each message is one compact JSON object, zlib-compressed, with ``t`` naming its kind. Every
message is idempotent: a copy sent again (the senders resend until answered) never starts
anything twice:

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
- ``config`` / ``config-ack`` / ``config-offer`` / ``config-push`` / ``config-pushed``:
  configuration distribution (``hacore.daemon.configsync``): a pushed configuration sent by
  the coordinator and acknowledged once stored, a node's config_version offered to the
  members (the newest wins), a push forwarded to the coordinator and its answer;
- ``journal-req`` / ``journal-part``: one page of a member's event journal, asked by a node
  that shows the cluster-wide timeline (``hacore.daemon.journal_requests``);
- ``cluster-exit`` (the node serving ``hacore cluster stop`` -> every other member, once
  every service is stopped): exit cleanly (``hacore.daemon.cluster_stop``);
- ``boot-req`` / ``boot-reply``: a node change (``hacore cluster join`` or ``remove``)
  asked of a node that does not coordinate, forwarded to the coordinator and its answer
  (``hacore.bootstrap.endpoint``).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

KINDS = frozenset({"op", "result", "status", "admin", "admin-reply", "state", "state-ack",
                   "state-req", "leaving", "config", "config-ack", "config-offer",
                   "config-push", "config-pushed", "journal-req", "journal-part",
                   "boot-req", "boot-reply", "cluster-exit"})

#: the most a message may inflate to (a pushed configuration is at most 4 MiB of text)
MAX_DECODED = 64 * 1024 * 1024


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
        inflate = zlib.decompressobj()
        text = inflate.decompress(payload, MAX_DECODED)
        if inflate.unconsumed_tail:
            raise BadMessage(f"not a daemon message: larger than {MAX_DECODED} bytes")
        raw = json.loads(text)
    except (zlib.error, ValueError) as exc:
        raise BadMessage(f"not a daemon message: {exc}") from None
    if not isinstance(raw, dict) or raw.get("t") not in KINDS:
        raise BadMessage("not a daemon message: no known kind")
    return raw
