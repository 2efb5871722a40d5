"""Log lines that read well in a terminal and in the systemd journal.

Under systemd (``JOURNAL_STREAM`` names the stream stderr really is), each record is one
line ``<N>NODE COMPONENT: message``: the ``<N>`` prefix (sd-daemon(3)) gives journald the
priority, and there is no timestamp, because the journal keeps its own. Elsewhere a line is
``TIME NODE COMPONENT LEVEL: message``. Either way an exception is told on the same line
(``... | ValueError: bad value | at node.py:120 in step < main.py:44 in run``), so one event
stays one line; the ``hacore.`` prefix of logger names is dropped.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import TextIO

#: logging level -> syslog priority (sd-daemon's <N> prefix)
PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
              (logging.INFO, 6))
DEBUG_PRIORITY = 7
#: the innermost frames named in a one-line traceback
FRAMES_KEPT = 4


def priority(level: int) -> int:
    """The syslog priority of a logging level."""
    for floor, prio in PRIORITIES:
        if level >= floor:
            return prio
    return DEBUG_PRIORITY


def under_journal(stream: TextIO, env: dict[str, str] | None = None) -> bool:
    """Whether ``stream`` is the journal stream systemd gave this process."""
    value = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    dev, sep, ino = value.partition(":")
    if not sep or not dev.isdigit() or not ino.isdigit():
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def one_line_exception(exc_info: tuple) -> str:  # type: ignore[type-arg]
    """``ExcType: text | at file:line in func < ...`` (innermost frame first)."""
    exc_type, exc, tb = exc_info
    text = " ".join(str(exc).split()) if exc is not None else ""
    head = f"{exc_type.__name__}: {text}" if text else exc_type.__name__
    frames = traceback.extract_tb(tb)[-FRAMES_KEPT:][::-1]
    where = " < ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}"
                       for f in frames)
    return f"{head} | at {where}" if where else head


class HacoreFormatter(logging.Formatter):
    """One line per record; ``journal=True``: ``<N>`` prefix and no timestamp."""

    def __init__(self, node: str, journal: bool) -> None:
        super().__init__()
        self.node = node
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        message = " | ".join(line.strip() for line in record.getMessage().splitlines()
                             if line.strip())
        if record.exc_info and record.exc_info[0] is not None:
            message += " | " + one_line_exception(record.exc_info)
        elif record.stack_info:
            message += " | " + " ".join(record.stack_info.split())
        name = record.name.removeprefix("hacore.")
        node = f"{self.node} " if self.node else ""
        if self.journal:
            return f"<{priority(record.levelno)}>{node}{name}: {message}"
        when = self.formatTime(record)
        return f"{when} {node}{name} {record.levelname}: {message}"


def setup_logging(node: str, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record of this process to ``stream`` (stderr) in hacore's format."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HacoreFormatter(node, under_journal(stream)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
