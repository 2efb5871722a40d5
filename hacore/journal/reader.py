"""Read journals back: one node's segments in order, several nodes merged into one timeline.

A line that is not a whole JSON event (the torn last line of a crash, or damage) is skipped
and counted, never fatal. ``merge`` orders events by time while keeping each node's own order
(its ``seq``), so a node whose clock stepped back still reads in the order it wrote.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hacore.errors import InputError
from hacore.journal.event import Event, event_from_dict
from hacore.journal.writer import SEGMENT_RE, segment_paths


def parse_line(line: bytes) -> Event | None:
    """The event on one line, or None when the line is torn or not an event."""
    if not line.endswith(b"\n"):
        return None
    try:
        return event_from_dict(json.loads(line))
    except (ValueError, InputError):
        return None


@dataclass
class ReadStats:
    """What a read skipped: lines that were not whole events."""

    skipped: int = 0
    files: list[str] = field(default_factory=list)


def read_journal(directory: str | Path, stats: ReadStats | None = None,
                 after: int = 0) -> Iterator[Event]:
    """Every event of one node's journal directory, in the order written; ``after``: only
    those with a larger seq (segments that end before it are not read)."""
    stats = stats if stats is not None else ReadStats()
    paths = segment_paths(directory)
    firsts = [_first_seq(p) for p in paths]
    for i, path in enumerate(paths):
        following = firsts[i + 1] if i + 1 < len(firsts) else None
        if after and following is not None and following <= after + 1:
            continue  # every event of this segment is at or before ``after``
        try:
            with open(path, "rb") as handle:
                lines = handle.readlines()
        except FileNotFoundError:
            continue  # removed by retention while we read
        stats.files.append(str(path))
        for line in lines:
            event = parse_line(line)
            if event is None:
                stats.skipped += 1
            elif event.seq > after:
                yield event


def _first_seq(path: Path) -> int | None:
    match = SEGMENT_RE.match(path.name)
    try:
        return int(match.group(1)) if match else None
    except (IndexError, ValueError):
        return None


def merge(streams: Iterable[Iterable[Event]]) -> Iterator[Event]:
    """One timeline from several nodes' streams, each already in its own order."""
    return heapq.merge(*streams, key=lambda e: e.time)


EventFilter = Callable[[Event], bool]


def event_filter(*, since: float | None = None, incident: str | None = None,
                 service: str | None = None) -> EventFilter:
    """A predicate for the usual selections: from a time on, one incident, one service."""
    def keep(event: Event) -> bool:
        return ((since is None or event.time >= since)
                and (incident is None or event.incident == incident)
                and (service is None or event.service == service))
    return keep


class JournalFollower:
    """New events of several journal directories as they are appended (``--follow``).

    ``poll()`` returns the events written since the last call, merged; it follows rotation
    (a new segment) and retention (a removed one) and never returns a torn line: a line
    without its newline yet is read again at the next poll.
    """

    def __init__(self, directories: Iterable[str | Path], *, from_end: bool = True) -> None:
        self.directories = [Path(d) for d in directories]
        self._offsets: dict[Path, int] = {}
        if from_end:
            for d in self.directories:
                for path in segment_paths(d):
                    self._offsets[path] = path.stat().st_size

    def poll(self) -> list[Event]:
        """The events appended since the previous poll, in timeline order."""
        streams = []
        for d in self.directories:
            streams.append(list(self._poll_dir(d)))
        return list(merge(streams))

    def _poll_dir(self, directory: Path) -> Iterator[Event]:
        present = segment_paths(directory)
        for gone in [p for p in self._offsets if p.parent == directory and p not in present]:
            del self._offsets[gone]
        for path in present:
            offset = self._offsets.get(path, 0)
            try:
                size = os.stat(path).st_size
                if size <= offset:
                    continue
                with open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read(size - offset)
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1
            self._offsets[path] = offset + end
            for line in data[:end].splitlines(keepends=True):
                event = parse_line(line)
                if event is not None:
                    yield event


def is_journal_dir(directory: str | Path) -> bool:
    """Whether ``directory`` holds at least one journal segment."""
    return any(SEGMENT_RE.match(p.name) for p in segment_paths(directory))
