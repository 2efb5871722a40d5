"""Actions: what the policy engine asks the executor to do, each with a reason for people.

An action is a small named tuple (cheap to build by the thousand). Its reason text is built
only when read: ``why`` holds a function and its arguments, ``reason`` calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

# fence a node; start/stop/restart a service on a node (resources in the order to act on);
# set-state records a decision without running anything; stop-subtree/restart-subtree act on
# one independent or non-critical subtree; freeze stops checking (no-quorum policy freeze);
# probe asks every member (node None) to probe a service that left maintenance.
KINDS = ("fence", "start", "stop", "restart", "set-state", "stop-subtree", "restart-subtree",
         "start-subtree", "freeze", "probe")


def _plain(text: str) -> str:
    return text


class Action(NamedTuple):
    """One step for the executor.

    ``state`` is the service state once the action succeeds (for stop and set-state);
    ``intent``/``target`` carry a multi-step plan across rounds (stop here, then start
    there); ``owner`` for set-state says where the service now is (adoption).
    """

    kind: str
    service: str | None
    node: str | None
    resources: tuple[str, ...] = ()
    state: str | None = None
    intent: str | None = None
    target: str | None = None
    why: tuple[Any, ...] = (_plain, "")

    @property
    def reason(self) -> str:
        """The sentence saying why, e.g. 'start web on n1: n2 left ... and was fenced'."""
        fn: Callable[..., str] = self.why[0]
        return fn(*self.why[1:])

    def summary(self) -> str:
        """'start web on n1', 'fence n2', 'set web to disabled' — the verb phrase."""
        if self.kind == "fence":
            return f"fence {self.node}"
        if self.kind == "set-state":
            return f"mark {self.service} {self.state}"
        if self.kind == "probe" and self.node is None:
            return f"probe {self.service} on every member"
        if self.kind in ("stop-subtree", "restart-subtree", "start-subtree"):
            verb = self.kind.split("-")[0]
            return f"{verb} {', '.join(self.resources)} of {self.service} on {self.node}"
        return f"{self.kind} {self.service} on {self.node}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``hacore simulate --json``."""
        return {"action": self.kind, "service": self.service, "node": self.node,
                "reason": self.reason}

    def describe(self) -> tuple[Any, ...]:
        """Everything that defines the action, reason text included (for comparisons)."""
        return (self.kind, self.service, self.node, self.resources, self.state, self.intent,
                self.target, self.reason)
