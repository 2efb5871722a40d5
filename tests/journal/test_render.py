"""Events as prose: --since values, one line per event, incident timelines."""

import pytest

from hacore.errors import InputError
from hacore.journal import Event
from hacore.journal.render import format_event, incident_timeline, parse_since


def test_parse_since_accepts_durations_iso_and_epoch():
    """10m is 600 s before now; epoch seconds pass through; an ISO time with Z is UTC."""
    assert parse_since("10m", 1000.0) == 400.0
    assert parse_since("2h", 10000.0) == 2800.0
    assert parse_since("1234.5", 0) == 1234.5
    assert parse_since("1970-01-01T00:01:00Z", 0) == 60.0


def test_parse_since_refuses_nonsense():
    """A value that is no time is an InputError listing the forms."""
    with pytest.raises(InputError, match="10m"):
        parse_since("yesterday-ish", 0)


def test_a_fault_line_names_its_incident_and_others_do_not():
    """Only the event that opens an incident shows the id, after the sentence."""
    fault = Event(1, 0.0, "n1", "membership", "n2 left the membership", None, "I1",
                  {"change": "lost"})
    follow = Event(2, 1.0, "n1", "fence", "n2 was fenced", None, "I1", {"ok": True})
    assert format_event(fault).endswith("n2 left the membership  [incident I1]")
    assert "incident" not in format_event(follow)


def test_incident_timeline_reads_from_detection_to_recovery():
    """The heading quotes the fault, each event has its offset, the last line the total."""
    events = [
        Event(1, 100.0, "n1", "membership", "n2 left the membership", None, "I1",
              {"change": "lost"}),
        Event(9, 100.5, "n1", "admin", "unrelated", None, None, {}),
        Event(2, 102.25, "n1", "fence", "n2 was fenced", None, "I1", {"ok": True}),
        Event(1, 104.0, "n3", "service", "web started on n3 (was on n2)", "web", "I1",
              {"change": "started"}),
    ]
    lines = incident_timeline(events, "I1")
    assert lines[0].startswith("Incident I1, ") and lines[0].endswith("n2 left the membership")
    assert "+2.25 s  n1  n2 was fenced" in lines[2]
    assert "unrelated" not in "\n".join(lines)
    assert lines[-1] == "From detection to recovery: 4.00 s (3 events on 2 nodes)"
