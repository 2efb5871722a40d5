"""Incident ids: a fault opens an incident, and the events of its recovery carry its id.

A fault is a node lost (``membership`` with change ``lost``) or a service failed
(``service`` with change ``failed``). The incident stays open for:

- the services the fault touched (the failed service; for a lost node, the services it ran,
  given in the fault's ``fields["services"]``) until each is running again, disabled or
  stopped for good (a ``service`` event with change started, recovered, disabled, stopped);
- the lost node (events whose ``fields["subject"]`` is that node: its fence, its return)
  until it joins again or every service of the incident is settled (a lost node that ran
  nothing keeps its incident until it joins).

An event that names its incident explicitly keeps it: the coordinator hands the id to the
nodes that carry out the recovery, so their journals carry it too. The tracker is in memory:
after a restart of the daemon the next fault opens a new incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SETTLED = frozenset({"started", "recovered", "disabled", "stopped"})


@dataclass
class _Open:
    id: str
    services: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)


class IncidentTracker:
    """Which incident an event belongs to, given the events before it (in order)."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._by_service: dict[str, _Open] = {}
        self._by_node: dict[str, _Open] = {}

    def open_incidents(self) -> list[str]:
        """The ids still open, oldest first."""
        seen: dict[str, None] = {}
        for inc in [*self._by_service.values(), *self._by_node.values()]:
            seen.setdefault(inc.id)
        return list(seen)

    def assign(self, *, seq: int, time: float, kind: str, service: str | None,
               fields: dict, incident: str | None) -> str | None:
        """The incident id for a new event (opening one for a fault), and update the state."""
        change = fields.get("change")
        subject = fields.get("subject")
        fault = (kind == "membership" and change == "lost") or (
            kind == "service" and change == "failed")
        if fault and incident is None:
            current = self._by_service.get(service) if service else None
            if current is not None and kind == "service":
                incident = current.id  # a failure during a recovery belongs to it
            else:
                incident = make_incident_id(self.node, seq, time)
        if incident is None:
            incident = self._lookup(service, subject)
        if incident is None:
            return None
        inc = self._find(incident)
        if fault:
            if kind == "service" and service:
                inc.services.add(service)
            if kind == "membership" and isinstance(subject, str):
                inc.nodes.add(subject)
                inc.services.update(s for s in fields.get("services", ()) if isinstance(s, str))
            self._index(inc)
        self._settle(inc, kind, service, change, subject)
        return incident

    def _lookup(self, service: str | None, subject: object) -> str | None:
        if service and service in self._by_service:
            return self._by_service[service].id
        if isinstance(subject, str) and subject in self._by_node:
            return self._by_node[subject].id
        return None

    def _find(self, incident: str) -> _Open:
        for inc in [*self._by_service.values(), *self._by_node.values()]:
            if inc.id == incident:
                return inc
        return _Open(incident)

    def _index(self, inc: _Open) -> None:
        for s in inc.services:
            self._by_service[s] = inc
        for n in inc.nodes:
            self._by_node[n] = inc

    def _settle(self, inc: _Open, kind: str, service: str | None, change: object,
                subject: object) -> None:
        settled = kind == "service" and service in inc.services and change in SETTLED
        if settled:
            inc.services.discard(service)  # type: ignore[arg-type]
            self._by_service.pop(service, None)  # type: ignore[arg-type]
        if kind == "membership" and change == "joined" and subject in inc.nodes:
            inc.nodes.discard(subject)  # type: ignore[arg-type]
            self._by_node.pop(subject, None)  # type: ignore[arg-type]
        if settled and not inc.services:
            for n in inc.nodes:
                self._by_node.pop(n, None)
            inc.nodes.clear()


def make_incident_id(node: str, seq: int, time: float) -> str:
    """A cluster-wide unique, sortable id: the fault's UTC time, node and sequence number."""
    import time as clock

    stamp = clock.strftime("%Y%m%d-%H%M%S", clock.gmtime(time))
    return f"{stamp}-{node}-{seq}"
