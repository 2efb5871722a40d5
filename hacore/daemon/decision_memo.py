"""When the coordinator's round may skip ``decide`` (issue 9: an idle cluster re-decided
every service five times a second).

``decide(config, snapshot, now)`` is pure, and ``stable_until`` says until when its answer
holds for that snapshot. The coordinator keeps what its last round decided from; a round
whose inputs are equal to those, and whose time lies in ``[then, until)``, would get the very
same answer, so it is skipped when that answer acted on nothing. Change detection is by
value, not by a counter somebody must remember to bump: the decision snapshot (state,
statuses turned into reports, silent members as standby, membership, lost nodes, admin
intents, maintenance, cluster stop: everything ``decide`` reads) is compared with ``==``,
the config by identity (a new config is a new object), and the set of services the round
leaves alone (ops in flight, probe rounds) by value. Snapshots are immutable values that
share unchanged parts, so an equal one usually compares by identity and costs microseconds.

The round's own time-dependent steps stay outside the skip: ``ready()`` (post_join_delay) is
checked before it, and an answer with a ``fence`` action (retries, settle and two-node
delays are the coordinator's clocks) is never reused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hacore.config.model import ClusterConfig
from hacore.policy import Action, Snapshot, stable_until


class DecisionMemo:
    """The inputs of the last round whose answer acted on nothing, and until when it holds."""

    def __init__(self) -> None:
        self._config: ClusterConfig | None = None
        self._seen: Snapshot | None = None
        self._busy: frozenset[str] = frozenset()
        self._since = math.inf
        self._until = -math.inf
        #: rounds skipped since the coordinator started (for tests and curiosity)
        self.skipped = 0

    def forget(self) -> None:
        """The next round decides (a new term, a step down)."""
        self._seen = None
        self._config = None

    def same_answer(self, config: ClusterConfig, seen: Snapshot, busy: frozenset[str],
                    now: float) -> bool:
        """Whether ``decide(config, seen, now)`` would give the last remembered answer, one
        that acted on nothing; counts the round as skipped when so."""
        if (self._seen is None or config is not self._config
                or not self._since <= now < self._until  # a clock stepping back decides too
                or busy != self._busy or seen != self._seen):
            return False
        self.skipped += 1
        return True

    def remember(self, config: ClusterConfig, seen: Snapshot, busy: frozenset[str], now: float,
                 answer: Sequence[Action], acted: Sequence[Action]) -> None:
        """Keep this round's inputs when its answer acted on nothing and holds a while
        (``stable_until``; no fence in it: those are timed by the coordinator)."""
        if acted or any(a.kind == "fence" for a in answer):
            self.forget()
            return
        until = stable_until(config, seen, now)
        if until <= now:
            self.forget()
            return
        self._config, self._seen, self._busy = config, seen, busy
        self._since, self._until = now, until
