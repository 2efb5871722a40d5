"""What each member last said it runs, as the coordinator reads it (``Coordinator``).

Members send their status (services running or failed there, a count ``seq`` and the epoch
of the view they sent it in) to whom they believe coordinates, every second and at once on
a change. A status belongs to the coordinator's term: one sent in a view before the
takeover never decides anything (the member may have stopped the service, or restarted,
under another coordinator since), and statuses are ordered by (epoch, seq), so a member
whose daemon restarted and counts from 1 again is heard.

``reports`` runs every coordinator round (issue 9): its answer is kept and given again while
nothing it reads changed: the same snapshot and config objects (both are replaced, never
changed in place), the same busy set, and no call of a method that changes a status (each
bumps ``changes``; ``bodies``, ``min_seq`` and ``term_epoch`` change only through them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.policy import Report, Snapshot

Body = dict[str, Any]


class MemberStatuses:
    """The newest status of each member, its term filter and the result fences (min_seq)."""

    def __init__(self) -> None:
        self.bodies: dict[str, Body] = {}
        self.term_epoch = 0  # the membership epoch the coordinator took over in
        self.min_seq: dict[str, int] = {}  # a status older than the node's last result is stale
        self.changes = 0  # bumped by every method that changes what ``reports`` reads
        self._kept: tuple[Any, ...] | None = None  # (changes, config, snap, busy, answer)

    def new_term(self, epoch: int) -> None:
        self.changes += 1
        self.term_epoch = epoch
        self.min_seq.clear()
        for name in [n for n in self.bodies if self.of(n) is None]:
            del self.bodies[name]

    def forget(self, node: str) -> None:
        self.changes += 1
        self.bodies.pop(node, None)
        self.min_seq.pop(node, None)

    def of(self, node: str) -> Body | None:
        """The node's status if it was sent in this term's view or a later one. Bodies
        without an epoch come from a release that did not send one: taken as before."""
        body = self.bodies.get(node)
        if body is None or "epoch" not in body:
            return body
        return body if int(body["epoch"]) >= self.term_epoch else None

    def take(self, sender: str, body: Body) -> tuple[bool, Body | None]:
        """Keep ``body`` unless an already kept one is newer. Returns whether it was kept
        and the sender's status of this term before it."""
        before = self.of(sender)
        kept = self.bodies.get(sender)
        if kept is not None and _order(body) < _order(kept):
            return False, before
        self.changes += 1
        self.bodies[sender] = body
        return True, before

    def result_seen(self, node: str, seq: int) -> None:
        self.changes += 1
        self.min_seq[node] = seq

    def reports(self, config: ClusterConfig, snap: Snapshot,
                busy: Iterable[str]) -> tuple[dict[str, dict[str, Report]], set[str]]:
        """The reports ``decide`` reads, and the members not heard from in this term (kept
        out of placement until their first status, unless they own a service). The same
        objects as the last call's while nothing it reads changed (see the module
        docstring); callers do not change them."""
        busy = frozenset(busy)
        kept = self._kept
        if (kept is not None and kept[0] == self.changes and kept[1] is config
                and kept[2] is snap and kept[3] == busy):
            return kept[4]  # type: ignore[no-any-return]
        answer = self._reports(config, snap, busy)
        self._kept = (self.changes, config, snap, busy, answer)
        return answer

    def _reports(self, config: ClusterConfig, snap: Snapshot,
                 busy: frozenset[str]) -> tuple[dict[str, dict[str, Report]], set[str]]:
        reports: dict[str, dict[str, Report]] = {}
        silent = set()
        for node in snap.members:
            body = self.of(node)
            if body is None:
                if not any(st.owner == node for st in snap.services.values()):
                    silent.add(node)  # never draws a service away from where it runs
                continue
            if int(body.get("seq", 0)) < self.min_seq.get(node, 0):
                continue  # older than the result of its last op: wait for a fresh one
            seen = body.get("services", {})
            for name, info in seen.items():
                if name in busy or config.service(name) is None:
                    continue
                st = snap.status(name)
                if st.owner == node and st.state == "started":
                    if info.get("status") == "failed":
                        reports.setdefault(name, {})[node] = Report("failed", info.get("resource"))
                elif st.owner != node or st.state not in ("starting", "stopping", "recovering"):
                    reports.setdefault(name, {})[node] = Report("running")
            for name, st in snap.services.items():
                if st.owner == node and st.state == "started" and name not in seen \
                        and name not in busy:
                    reports.setdefault(name, {})[node] = Report("stopped")
        return reports, silent


def _order(body: Body) -> tuple[int, int]:
    """Statuses of one node in the order it sent them (its view's epoch, then its count)."""
    return int(body.get("epoch", 0)), int(body.get("seq", 0))
