"""The events the daemon records, each as the keyword arguments of ``Journal.append``.

One function per kind of fact, so every node words the same fact the same way and the
fields a program reads (and the alert hooks match on) are always present::

    journal.append(**compose.node_lost("n2", silent_for=3.1, services=["web"]))
"""

from __future__ import annotations

from typing import Any

Draft = dict[str, Any]


def _secs(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def node_lost(subject: str, *, silent_for: float, services: list[str]) -> Draft:
    """``subject`` left the membership after ``silent_for`` seconds of silence."""
    ran = f"; it ran {', '.join(services)}" if services else "; it ran no service"
    return {"kind": "membership",
            "message": f"{subject} left the membership (silent for {_secs(silent_for)}){ran}",
            "fields": {"change": "lost", "subject": subject, "silent_for": silent_for,
                       "services": list(services)}}


def node_joined(subject: str, *, incarnation: int | None = None) -> Draft:
    """``subject`` joined the membership."""
    return {"kind": "membership", "message": f"{subject} joined the membership",
            "fields": {"change": "joined", "subject": subject, "incarnation": incarnation}}


def quorum_changed(*, quorate: bool, votes: int, needed: int, reason: str = "") -> Draft:
    """The partition this node is in gained or lost quorum (``reason``: why not, from the
    membership provider, e.g. the votes are here but no coordinator holds a lease yet)."""
    state = "quorate" if quorate else "NOT quorate: nothing starts or moves"
    if not quorate and reason:
        state += f" ({reason})"
    return {"kind": "quorum", "message": f"the partition has {votes} votes, {needed} needed: "
            f"{state}", "fields": {"quorate": quorate, "votes": votes, "needed": needed,
                                   **({"reason": reason} if reason and not quorate else {})}}


def decision(action: str, *, service: str | None, target: str | None, reason: str) -> Draft:
    """The policy engine chose ``action`` (start web on n2 ...), with its reason."""
    what = " ".join(x for x in (action, service, "on" if target and service else "", target)
                    if x)
    return {"kind": "decision", "service": service, "message": f"decided to {what}: {reason}",
            "fields": {"action": action, "target": target, "reason": reason,
                       **({"subject": target} if service is None and target else {})}}


def operation(action: str, *, service: str, resource: str, result: str, duration: float,
              reason: str = "") -> Draft:
    """An agent operation ended: ``result`` is succeeded, failed or timeout."""
    verb = {"succeeded": "succeeded in", "failed": "FAILED after",
            "timeout": "TIMED OUT after"}.get(result, f"{result} after")
    tail = f": {reason}" if reason and result != "succeeded" else ""
    return {"kind": "operation", "service": service,
            "message": f"{action} of {service}/{resource} {verb} {_secs(duration)}{tail}",
            "fields": {"action": action, "resource": resource, "result": result,
                       "duration": duration, "reason": reason}}


def fence(subject: str, *, ok: bool, method: str | None, duration: float,
          detail: str = "") -> Draft:
    """A fence action against ``subject`` ended."""
    if ok:
        message = f"{subject} was fenced (method {method}) in {_secs(duration)}"
    else:
        message = f"fencing {subject} FAILED after {_secs(duration)}"
    if detail:
        message += f": {detail}"
    return {"kind": "fence", "message": message,
            "fields": {"subject": subject, "ok": ok, "method": method, "duration": duration}}


def service_changed(service: str, *, change: str, owner: str | None,
                    previous_owner: str | None = None, reason: str = "") -> Draft:
    """A service's state changed: started, failed, stopped, disabled, recovered ...

    A start on another node than ``previous_owner`` after a fault is a failover.
    """
    where = f" on {owner}" if owner else ""
    moved = previous_owner is not None and owner is not None and previous_owner != owner
    text = f"{service} {change.upper() if change == 'failed' else change}{where}"
    if moved and change in ("started", "recovered"):
        text += f" (was on {previous_owner})"
    if reason:
        text += f": {reason}"
    return {"kind": "service", "service": service, "message": text,
            "fields": {"change": change, "owner": owner, "previous_owner": previous_owner,
                       "failover": moved and change in ("started", "recovered"),
                       "reason": reason}}


def admin(command: str, *, user: str = "root", service: str | None = None) -> Draft:
    """An administrator's command was accepted (``hacore service relocate web --to n3``)."""
    return {"kind": "admin", "service": service,
            "message": f"an administrator ({user}) ran: {command}",
            "fields": {"command": command, "user": user}}


def alert_result(hook: str, *, topic: str, seq_of: int, ok: bool, detail: str = "") -> Draft:
    """An alert hook ran for the event ``seq_of`` (or was dropped)."""
    state = "delivered" if ok else "FAILED"
    tail = f": {detail}" if detail else ""
    return {"kind": "alert", "message": f"alert {hook} for {topic} (event {seq_of}) {state}{tail}",
            "fields": {"hook": hook, "topic": topic, "seq_of": seq_of, "ok": ok}}
