"""One journal event: what happened, on which node, in which order, and to which incident.

An event is one JSON object on one line of a node's journal. ``seq`` grows by one per event
on a node and never repeats (it survives restarts and rotation); ``time`` is the node's wall
clock (seconds since the epoch). ``kind`` says what sort of fact it is (see ``KINDS``),
``message`` is one sentence a person reads, ``fields`` holds the same facts for programs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hacore.errors import InputError

#: what an event may be about
KINDS = (
    "membership",  # a node joined or was lost (fields: change = joined|lost, subject)
    "quorum",      # quorum gained or lost (fields: quorate, votes, needed)
    "decision",    # the policy engine chose an action (fields: action, target; reason)
    "operation",   # an agent operation ended (fields: action, resource, result, duration)
    "fence",       # a fence action ended (fields: subject, ok, method, duration)
    "service",     # a service changed state (fields: change, owner, previous_owner)
    "admin",       # an administrator's command (fields: command, user)
    "alert",       # an alert hook ran or was dropped (fields: hook, ok, seq_of)
)
#: kinds whose events are fsynced at once: losing them in a crash would hide the story
DURABLE_KINDS = frozenset({"membership", "quorum", "fence", "admin", "service"})
#: the longest message and fields text kept; longer ones are cut (a line stays bounded)
MAX_TEXT = 4096
MAX_LINE = 16384


@dataclass(frozen=True)
class Event:
    """One thing that happened on ``node``, as stored in its journal."""

    seq: int
    time: float
    node: str
    kind: str
    message: str
    service: str | None = None
    incident: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (also the ``--json`` output of ``hacore events``)."""
        return {"seq": self.seq, "time": round(self.time, 6), "node": self.node,
                "kind": self.kind, "service": self.service, "incident": self.incident,
                "message": self.message, "fields": self.fields}

    def to_line(self) -> bytes:
        """One line of JSON ending in a newline, at most MAX_LINE bytes."""
        data = self.to_dict()
        data["message"] = _cut(self.message)
        text = json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False)
        if len(text.encode()) > MAX_LINE:
            data["fields"] = {"truncated": True}
            text = json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False)
        return text.encode() + b"\n"

    @property
    def severity(self) -> str:
        """"fault" for the events that open an incident, "error" for failures, else "info"."""
        f = self.fields
        if is_fault(self):
            return "fault"
        if f.get("ok") is False or f.get("result") in ("failed", "timeout"):
            return "error"
        if self.kind == "quorum" and f.get("quorate") is False:
            return "error"
        return "info"


def is_fault(event: Event) -> bool:
    """A fault starts an incident: a node lost, a service failed (monitor or operation)."""
    change = event.fields.get("change")
    return ((event.kind == "membership" and change == "lost")
            or (event.kind == "service" and change == "failed"))


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def event_from_dict(data: Any) -> Event:
    """Rebuild an event from its JSON form; InputError naming the bad key."""
    if not isinstance(data, dict):
        raise InputError("a journal event must be a JSON object")
    try:
        seq, time_, node, kind = data["seq"], data["time"], data["node"], data["kind"]
    except KeyError as exc:
        raise InputError(f"journal event without {exc.args[0]!r}") from None
    if not isinstance(seq, int) or not isinstance(time_, (int, float)) or not isinstance(node, str):
        raise InputError("journal event with a bad seq, time or node")
    fields = data.get("fields") or {}
    return Event(seq=seq, time=float(time_), node=node, kind=str(kind),
                 message=str(data.get("message", "")), service=data.get("service"),
                 incident=data.get("incident"),
                 fields=fields if isinstance(fields, dict) else {})
