"""The event journal: every node writes what happened, in order, and ``hacore events``
reads the journals of several nodes back as one timeline grouped by incident.

Public API::

    from hacore.journal import Journal, Retention, read_journal, merge
    journal = Journal("/var/lib/hacore/journal", node="n1")
    journal.append("membership", "n2 left the membership", fields={"change": "lost",
                   "subject": "n2", "services": ["web"]})
"""

from hacore.journal.event import DURABLE_KINDS, KINDS, Event, event_from_dict, is_fault
from hacore.journal.incidents import IncidentTracker, make_incident_id
from hacore.journal.reader import (
    JournalFollower,
    ReadStats,
    event_filter,
    merge,
    parse_line,
    read_journal,
)
from hacore.journal.writer import DEFAULT_DIR, Journal, Retention, segment_paths

__all__ = [
    "DEFAULT_DIR", "DURABLE_KINDS", "KINDS", "Event", "IncidentTracker", "Journal",
    "JournalFollower", "ReadStats", "Retention", "event_filter", "event_from_dict",
    "is_fault", "make_incident_id", "merge", "parse_line", "read_journal", "segment_paths",
]
