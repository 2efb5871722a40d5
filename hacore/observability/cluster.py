"""The metrics a hacore node exports, by name, and how journal events update them.

The daemon makes one ``ClusterMetrics``, calls ``record_event`` for each journal event it
writes (counters and histograms follow from the events), ``set_membership`` on each view
change and ``set_services`` after each decision cycle and ``set_local`` (gauges), and serves
``exposition()``. The names are part of the product: see docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hacore.journal.event import Event
from hacore.observability.metrics import Registry

STATES = ("stopped", "starting", "started", "stopping", "failed", "disabled", "recovering")


class ClusterMetrics:
    """Every metric of a node, registered in ``registry``."""

    def __init__(self, node: str, version: str = "", registry: Registry | None = None) -> None:
        r = self.registry = registry or Registry()
        self.node = node
        self.info = r.gauge("hacore_node_info", "Always 1: this node's name and hacore "
                            "version.", ("node", "version"))
        self.info.set(1, node=node, version=version)
        self.members = r.gauge("hacore_membership_size", "Nodes in this node's membership view.")
        self.configured = r.gauge("hacore_membership_configured_nodes",
                                  "Nodes in the configuration.")
        self.quorate = r.gauge("hacore_quorate", "1 when this node's partition is quorate.")
        self.votes = r.gauge("hacore_quorum_votes", "Votes present in this node's partition.")
        self.needed = r.gauge("hacore_quorum_votes_needed", "Votes needed for quorum.")
        self.services_active = r.gauge("hacore_services_active",
                                       "Services started (active on one node).")
        self.instances = r.gauge("hacore_service_active_instances", "Nodes where the service "
                                 "is active; more than 1 is a one-owner violation (S1): alert "
                                 "on it.", ("service",))
        self.local = r.gauge("hacore_service_active_local", "1 when the service is active on "
                             "this node; summed over nodes, more than 1 is a one-owner "
                             "violation seen from the nodes themselves.", ("service",))
        self.state = r.gauge("hacore_service_state", "1 for the service's current state.",
                             ("service", "state"))
        self.failovers = r.counter("hacore_failovers_total", "Services started on another "
                                   "node than the one they ran on.", ("service",))
        self.failover_seconds = r.histogram("hacore_failover_duration_seconds", "From the "
                                            "fault (incident start) to the service running "
                                            "again.", ("service",))
        self.service_failures = r.counter("hacore_service_failures_total", "Services found "
                                          "failed (monitor, start or stop).", ("service",))
        self.op_seconds = r.histogram("hacore_operation_duration_seconds", "Agent operation "
                                      "durations on this node.", ("action", "resource"))
        self.op_failures = r.counter("hacore_operation_failures_total", "Agent operations "
                                     "that failed or timed out.", ("action", "resource", "result"))
        self.fences = r.counter("hacore_fence_actions_total", "Fence actions by target and "
                                "result.", ("target", "result"))
        self.membership_changes = r.counter("hacore_membership_changes_total", "Nodes lost or "
                                            "joined.", ("change",))
        self.events = r.counter("hacore_journal_events_total", "Events written to the journal.",
                                ("kind",))
        self.alerts = r.counter("hacore_alerts_total", "Alert deliveries by hook and result "
                                "(delivered, failed, dropped).", ("hook", "result"))
        self._incident_start: dict[str, float] = {}

    def record_event(self, event: Event) -> None:
        """Update the counters and histograms that follow from one journal event."""
        f = event.fields
        self.events.inc(kind=event.kind)
        if event.incident and event.incident not in self._incident_start:
            self._incident_start[event.incident] = event.time
            if len(self._incident_start) > 1000:  # bounded: forget the oldest
                self._incident_start.pop(next(iter(self._incident_start)))
        if event.kind == "operation":
            action, resource = str(f.get("action", "")), str(f.get("resource", ""))
            if isinstance(f.get("duration"), (int, float)):
                self.op_seconds.observe(float(f["duration"]), action=action, resource=resource)
            if f.get("result") not in (None, "succeeded"):
                self.op_failures.inc(action=action, resource=resource, result=str(f["result"]))
        elif event.kind == "fence":
            self.fences.inc(target=str(f.get("subject", "")),
                            result="ok" if f.get("ok") else "failed")
        elif event.kind == "membership" and f.get("change") in ("lost", "joined"):
            self.membership_changes.inc(change=str(f["change"]))
        elif event.kind == "service" and event.service:
            if f.get("change") == "failed":
                self.service_failures.inc(service=event.service)
            if f.get("failover"):
                self.failovers.inc(service=event.service)
                start = self._incident_start.get(event.incident or "")
                if start is not None:
                    self.failover_seconds.observe(max(event.time - start, 0.0),
                                                  service=event.service)

    def set_membership(self, *, members: int, configured: int, quorate: bool, votes: int,
                       needed: int) -> None:
        """The gauges of the current membership view."""
        self.members.set(members)
        self.configured.set(configured)
        self.quorate.set(1 if quorate else 0)
        self.votes.set(votes)
        self.needed.set(needed)

    def set_services(self, states: Mapping[str, tuple[str, int]]) -> None:
        """Per service: (state, nodes where it is active). Replaces the previous values."""
        self.instances.clear()
        self.state.clear()
        for service, (state, active) in states.items():
            self.instances.set(active, service=service)
            for s in STATES:
                self.state.set(1 if s == state else 0, service=service, state=s)
        self.services_active.set(sum(1 for st, _ in states.values() if st == "started"))

    def set_local(self, services: Iterable[str], active: Iterable[str]) -> None:
        """1 for each configured service active on this node, 0 for the others."""
        here = set(active)
        self.local.clear()
        for service in services:
            self.local.set(1 if service in here else 0, service=service)

    def record_alert(self, hook: str, result: str, count: int = 1) -> None:
        """Count alert deliveries (``result``: delivered, failed, dropped)."""
        self.alerts.inc(count, hook=hook, result=result)

    def exposition(self) -> str:
        """The text the daemon serves at /metrics."""
        return self.registry.exposition()
