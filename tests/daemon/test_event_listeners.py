"""EventLog hands every event to its listeners (alerts, metrics), journaled or not."""

from __future__ import annotations

import logging

from hacore.daemon.events import EventLog
from hacore.journal import compose


def test_listeners_get_each_journaled_event_with_its_seq(tmp_path):
    """Two events written: the listener sees seqs 1 and 2, the same events record returns."""
    log = EventLog(str(tmp_path / "journal"), "n1")
    seen = []
    log.listeners.append(seen.append)
    first = log.record(compose.node_lost("n2", silent_for=1.0, services=["web"]))
    second = log.record(compose.fence("n2", ok=False, method="power", duration=0.5))
    log.close()
    assert seen == [first, second] and [e.seq for e in seen] == [1, 2]


def test_an_event_that_cannot_be_journaled_still_reaches_the_listeners(tmp_path, caplog):
    """With the journal path taken by a file, a fence failure still reaches the alerts
    (seq 0), and the failure to open the journal is logged."""
    (tmp_path / "journal").write_text("not a directory")
    log = EventLog(str(tmp_path / "journal"), "n1")
    seen = []
    log.listeners.append(seen.append)
    assert log.record(compose.fence("n2", ok=False, method="power", duration=0.5),
                      "inc-1") is None
    assert [(e.seq, e.kind, e.fields["ok"], e.incident, e.node) for e in seen] == \
        [(0, "fence", False, "inc-1", "n1")]
    assert "cannot open the event journal" in caplog.text


def test_a_failing_listener_is_logged_and_the_others_still_run(tmp_path, caplog):
    """The first listener raises: the error is logged, the second listener gets the event."""
    log = EventLog(str(tmp_path / "journal"), "n1")
    seen = []

    def broken(event):
        raise RuntimeError("boom")

    log.listeners += [broken, seen.append]
    with caplog.at_level(logging.ERROR):
        event = log.record(compose.admin("hacore service enable web", service="web"))
    log.close()
    assert seen == [event]
    assert "an event listener failed on event 1" in caplog.text
