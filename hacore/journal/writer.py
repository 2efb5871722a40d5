"""A node's journal on disk: append-only JSON-lines segments with bounded size and age.

Layout: ``DIR/events-<first seq, 12 digits>.jsonl``, oldest first. Each event is written
with one ``write`` to a file opened with O_APPEND, so a line is either whole or the torn last
line of a crash; events of the kinds in ``DURABLE_KINDS`` (and every fault) are fsynced at
once, the others at the next durable event or rotation. On open, a torn last line is cut off
so the next event starts on a line of its own; ``seq`` continues from the last whole event.

Retention: a segment is closed once it holds ``segment_bytes``; then the oldest segments are
removed while the journal holds more than ``max_bytes`` or they are older than ``max_age``
(the active segment is never removed), so that the closed segments and a full active one
fit in ``max_bytes``: the directory never holds more than ``max_bytes``. Pruning runs at
every rotation and when the journal is opened.
"""

from __future__ import annotations

import os
import re
import threading
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hacore.errors import HacoreError, InputError
from hacore.journal.event import DURABLE_KINDS, KINDS, MAX_LINE, Event
from hacore.journal.incidents import IncidentTracker

SEGMENT_RE = re.compile(r"^events-(\d{12})\.jsonl$")
DEFAULT_DIR = "/var/lib/hacore/journal"
#: a segment holds several of the longest lines
MIN_SEGMENT = 4 * MAX_LINE


@dataclass(frozen=True)
class Retention:
    """How much journal a node keeps: total bytes, bytes per segment, age in seconds."""

    max_bytes: int = 64 * 1024 * 1024
    segment_bytes: int = 4 * 1024 * 1024
    max_age: float = 30 * 86400.0

    def __post_init__(self) -> None:
        if self.segment_bytes < MIN_SEGMENT or self.max_bytes < 2 * self.segment_bytes:
            raise InputError(f"journal retention: segment_bytes ({self.segment_bytes}) must be "
                             f">= {MIN_SEGMENT} and max_bytes ({self.max_bytes}) at least "
                             "twice that")
        if self.max_age <= 0:
            raise InputError(f"journal retention: max_age must be > 0, not {self.max_age}")


def segment_paths(directory: str | Path) -> list[Path]:
    """The journal's segment files, oldest first."""
    d = Path(directory)
    try:
        names = [n for n in os.listdir(d) if SEGMENT_RE.match(n)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HacoreError(f"journal {d}: cannot list: {exc.strerror}") from None
    return [d / n for n in sorted(names)]


def _last_whole_line(path: Path) -> tuple[bytes | None, int]:
    """(the last complete line, the length of the file up to its end) of a segment."""
    with open(path, "rb") as handle:
        data = handle.read()
    end = data.rfind(b"\n") + 1
    if end == 0:
        return None, 0
    start = data.rfind(b"\n", 0, end - 1) + 1
    return data[start:end], end


class Journal:
    """The journal of one node; thread-safe. ``append`` is what the daemon calls."""

    def __init__(self, directory: str | Path, node: str, retention: Retention = Retention(),
                 *, clock_fn: Callable[[], float] = clock.time) -> None:
        self.directory = Path(directory)
        self.node = node
        self.retention = retention
        self._now = clock_fn
        self._lock = threading.Lock()
        self.incidents = IncidentTracker(node)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        except OSError as exc:
            raise HacoreError(f"journal {self.directory}: cannot create: {exc.strerror}") from None
        self.seq = self._recover()
        self._fd: int | None = None
        self._size = 0
        self._dirty = False
        self._open_segment()
        self.prune()

    def _recover(self) -> int:
        """The last seq written, cutting a torn last line off the newest segment."""
        from hacore.journal.reader import parse_line

        segments = segment_paths(self.directory)
        if not segments:
            return 0
        newest = segments[-1]
        floor = int(SEGMENT_RE.match(newest.name).group(1)) - 1  # type: ignore[union-attr]
        line, end = _last_whole_line(newest)
        if end != newest.stat().st_size:
            os.truncate(newest, end)
        event = parse_line(line) if line else None
        return max(floor, event.seq if event else floor)

    def _open_segment(self) -> None:
        segments = segment_paths(self.directory)
        if segments and segments[-1].stat().st_size < self.retention.segment_bytes:
            path = segments[-1]
        else:
            path = self.directory / f"events-{self.seq + 1:012d}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._size = os.fstat(self._fd).st_size
        self._path = path
        if not segments or path != segments[-1]:
            _fsync_dir(self.directory)

    def append(self, kind: str, message: str, *, service: str | None = None,
               incident: str | None = None, fields: dict[str, Any] | None = None,
               durable: bool | None = None) -> Event:
        """Record one event and return it (with its seq, time and incident id).

        ``incident``: give the id when the event is part of a recovery started elsewhere;
        otherwise the tracker assigns it (a fault opens a new one). ``durable``: fsync now
        (default: for ``DURABLE_KINDS`` and faults).
        """
        if kind not in KINDS:
            raise InputError(f"journal event kind {kind!r} is not known; kinds: "
                             + ", ".join(KINDS))
        fields = dict(fields or {})
        with self._lock:
            seq = self.seq + 1
            now = self._now()
            incident = self.incidents.assign(seq=seq, time=now, kind=kind, service=service,
                                             fields=fields, incident=incident)
            event = Event(seq, now, self.node, kind, message, service, incident, fields)
            self._write(event, durable if durable is not None else (
                kind in DURABLE_KINDS or event.severity != "info"))
            self.seq = seq
            return event

    def _write(self, event: Event, durable: bool) -> None:
        line = event.to_line()
        if self._size and self._size + len(line) > self.retention.segment_bytes:
            self._rotate(event.seq)
        assert self._fd is not None
        try:
            os.write(self._fd, line)
            self._size += len(line)
            if durable:
                os.fsync(self._fd)
                self._dirty = False
            else:
                self._dirty = True
        except OSError as exc:
            raise HacoreError(f"journal {self._path}: cannot write: {exc.strerror}") from None

    def _rotate(self, next_seq: int) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        path = self.directory / f"events-{next_seq:012d}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._size = 0
        self._path = path
        self._dirty = False
        _fsync_dir(self.directory)
        self.prune()

    def prune(self) -> list[Path]:
        """Remove the oldest closed segments beyond the size or age limit; return them."""
        removed: list[Path] = []
        segments = [p for p in segment_paths(self.directory) if p != self._path]
        sizes = {p: p.stat().st_size for p in segments}
        total = sum(sizes.values()) + self.retention.segment_bytes  # room for the active one
        oldest_kept = self._now() - self.retention.max_age
        for path in segments:
            if total <= self.retention.max_bytes and path.stat().st_mtime >= oldest_kept:
                break
            path.unlink(missing_ok=True)
            total -= sizes[path]
            removed.append(path)
        return removed

    def flush(self) -> None:
        """fsync what was written without it (call on shutdown)."""
        with self._lock:
            if self._fd is not None and self._dirty:
                os.fsync(self._fd)
                self._dirty = False

    def close(self) -> None:
        """Flush and close the active segment."""
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Journal:  # noqa: PYI034 - Journal is not meant to be subclassed
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
