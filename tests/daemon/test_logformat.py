"""Daemon log lines: one line per record, sd-daemon <N> priorities under systemd."""

from __future__ import annotations

import io
import logging
import os

from hacore.daemon.logformat import HacoreFormatter, priority, setup_logging, under_journal


def _record(level: int, msg: str, *args, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException as raised:  # noqa: BLE001 - to get a real traceback
            exc_info = (type(raised), raised, raised.__traceback__)
    return logging.LogRecord("hacore.daemon", level, "node.py", 12, msg, args, exc_info)


def test_journal_lines_carry_the_priority_and_no_timestamp():
    """Under systemd: '<4>n1 daemon: ...' for a warning, <3> error, <6> info, <7> debug."""
    fmt = HacoreFormatter("n1", journal=True)
    assert fmt.format(_record(logging.WARNING, "n2 is %s", "late")) == "<4>n1 daemon: n2 is late"
    assert fmt.format(_record(logging.ERROR, "x")).startswith("<3>n1 daemon: ")
    assert fmt.format(_record(logging.INFO, "x")).startswith("<6>")
    assert [priority(lv) for lv in (5, 10, 20, 30, 40, 50)] == [7, 7, 6, 4, 3, 2]


def test_terminal_lines_have_time_node_component_and_level():
    """Elsewhere: 'YYYY-MM-DD HH:MM:SS,mmm n1 daemon INFO: message'."""
    line = HacoreFormatter("n1", journal=False).format(_record(logging.INFO, "started"))
    date, clock, rest = line.split(" ", 2)
    assert len(date) == 10 and "," in clock
    assert rest == "n1 daemon INFO: started"


def test_an_exception_and_a_multiline_message_stay_on_one_line():
    """A traceback becomes 'Type: text | at file:line in func'; newlines become ' | '."""
    fmt = HacoreFormatter("n1", journal=True)
    line = fmt.format(_record(logging.ERROR, "tick failed\nsecond line",
                              exc=ValueError("bad\nvalue")))
    assert "\n" not in line
    assert line.startswith("<3>n1 daemon: tick failed | second line | ValueError: bad value")
    assert "| at test_logformat.py:" in line and "in _record" in line


def test_under_journal_compares_the_stream_with_journal_stream(tmp_path):
    """JOURNAL_STREAM must name the very file stderr is; anything else is not the journal."""
    with open(tmp_path / "log", "w") as stream:
        st = os.fstat(stream.fileno())
        assert under_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not under_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not under_journal(stream, {"JOURNAL_STREAM": "garbage"})
        assert not under_journal(stream, {})
    assert not under_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"})


def test_setup_logging_writes_one_line_per_record(tmp_path, monkeypatch):
    """setup_logging on a stream systemd named: records come out as <N> lines."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    with open(tmp_path / "log", "w+") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        try:
            setup_logging("n2", stream=stream)
            logging.getLogger("hacore.supervisor").error("the daemon died\n(signal 9)")
        finally:
            for h in list(root.handlers):
                root.removeHandler(h)
            for h in saved[0]:
                root.addHandler(h)
            root.setLevel(saved[1])
        stream.seek(0)
        assert stream.read() == "<3>n2 supervisor: the daemon died | (signal 9)\n"
