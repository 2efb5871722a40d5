"""EventLog: the daemon's side of the event journal (``hacore.journal``).

Every fact is worded by ``hacore.journal.compose`` and appended to this node's journal
(``<state-dir>/journal``). A journal that cannot be opened or written is logged and the
daemon goes on: the journal tells the story, it never stops the recovery it records.
Each event goes on to ``listeners`` (the node's alerts and metrics, ``daemon.alerting``);
one that could not be written still does, with seq 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from hacore.journal import Event, Journal, compose
from hacore.policy import Action

log = logging.getLogger("hacore.daemon")

#: OperationResult labels that mean the operation ran out of time
TIMEOUT_LABELS = frozenset({"timeout", "timed-out"})


class EventLog:
    """Appends composed events to a node's journal; never raises."""

    def __init__(self, directory: str | None, node: str) -> None:
        self.node = node
        self.directory = directory
        self.journal: Journal | None = None
        #: called with each event written (alerts, metrics); a failing listener is logged
        self.listeners: list[Callable[[Event], None]] = []
        if directory is None:
            return
        try:
            self.journal = Journal(directory, node)
        except Exception as exc:  # noqa: BLE001 - no journal is a logged loss, not a crash
            log.error("%s: cannot open the event journal %s: %s; events are only logged",
                      node, directory, exc)

    def record(self, draft: dict[str, Any], incident: str | None = None) -> Event | None:
        """Append one composed event (``compose.<fact>(...)``); None when it was not written."""
        event: Event | None = None
        if self.journal is not None:
            try:
                event = self.journal.append(**draft, incident=incident)
            except Exception as exc:  # noqa: BLE001 - see the module docstring
                log.error("%s: journal write failed (%s); going on", self.node, exc)
        if event is None:  # alerts and metrics still hear of it, with seq 0: not journaled
            self._listen(Event(0, time.time(), self.node, draft["kind"], draft["message"],
                               draft.get("service"), incident, dict(draft.get("fields") or {})))
            return None
        self._listen(event)
        return event

    def _listen(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("%s: an event listener failed on event %d; going on",
                              self.node, event.seq)

    def incident_of(self, draft: dict[str, Any], incident: str | None = None) -> str | None:
        """``record`` and return the incident id the event was given."""
        event = self.record(draft, incident)
        return event.incident if event is not None else incident

    def decision(self, action: Action, level: int = logging.INFO) -> str | None:
        """Log the action's reason and journal the decision; returns its incident id."""
        log.log(level, "%s", action.reason)
        return self.incident_of(compose.decision(action.kind, service=action.service,
                                                 target=action.node, reason=action.reason))

    def steps(self, service: str, steps: tuple[tuple[str, str, str, float], ...],
              failed_resource: str | None, detail: str, incident: str | None) -> None:
        """One ``operation`` event per resource step of a start/stop on this node."""
        for resource, action, label, duration in steps:
            if label in TIMEOUT_LABELS:
                result = "timeout"
            elif label not in ("success", "not-running") or (
                    resource == failed_resource and action == "start"):
                result = "failed"
            else:
                result = "succeeded"
            self.record(compose.operation(action, service=service, resource=resource,
                                          result=result, duration=float(duration),
                                          reason=detail if result != "succeeded" else ""),
                        incident)

    def close(self) -> None:
        if self.journal is not None:
            try:
                self.journal.close()
            except Exception as exc:  # noqa: BLE001
                log.error("%s: closing the event journal failed: %s", self.node, exc)
            self.journal = None
