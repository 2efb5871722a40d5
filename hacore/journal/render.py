"""Journal events as prose: one line per event, and incident timelines from fault to recovery.

``format_event`` gives ``08:15:12.151  n1  n2 left the membership (silent for 3.02 s); it
ran web  [incident 20261127-081512-n1-1]``; ``incident_timeline`` gives the lines of one
incident with times relative to the fault, and a last line saying how long recovery took.
"""

from __future__ import annotations

import re
import time as clock
from collections.abc import Iterable

from hacore.errors import InputError
from hacore.journal.event import Event, is_fault

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGO_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_since(text: str, now: float) -> float:
    """A ``--since`` value as epoch seconds: ``10m``/``2h``/``1d``/``30s`` ago, an ISO time
    (``2026-11-27T08:00``, local time unless it ends in Z or an offset), or epoch seconds."""
    from datetime import datetime

    value = text.strip()
    match = _AGO_RE.match(value)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11 reads a trailing Z as UTC
    except ValueError:
        raise InputError(f"--since {text!r}: not a time; use 10m, 2h, 1d, 30s, an ISO time "
                         "like 2026-11-27T08:00 or epoch seconds") from None
    return parsed.timestamp()


def _clock(t: float, with_date: bool) -> str:
    lt = clock.localtime(t)
    ms = int((t % 1) * 1000)
    return clock.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S", lt) + f".{ms:03d}"


def format_event(event: Event, *, with_date: bool = False, node_width: int = 0,
                 show_incident: bool = True) -> str:
    """One line: time, node, the sentence; a fault names the incident it opens."""
    text = f"{_clock(event.time, with_date)}  {event.node:<{node_width}}  {event.message}"
    if show_incident and event.incident and is_fault(event):
        text += f"  [incident {event.incident}]"
    return " ".join(text.splitlines())


def format_events(events: Iterable[Event], *, with_date: bool = False) -> list[str]:
    """The lines of several events, nodes aligned; a date is shown when they span days."""
    events = list(events)
    width = max((len(e.node) for e in events), default=0)
    if events and not with_date:
        days = {clock.strftime("%Y%m%d", clock.localtime(e.time)) for e in events}
        with_date = len(days) > 1
    return [format_event(e, with_date=with_date, node_width=width) for e in events]


def incident_timeline(events: Iterable[Event], incident: str) -> list[str]:
    """The story of one incident: a heading, each event at +seconds from the first one, and
    how long from detection to the last event (recovery, when the incident ended with it)."""
    chosen = [e for e in events if e.incident == incident]
    if not chosen:
        return [f"no event carries incident {incident}"]
    start = chosen[0].time
    width = max(len(e.node) for e in chosen)
    lines = [f"Incident {incident}, {_clock(start, True)}: {chosen[0].message}"]
    for e in chosen:
        offset = f"+{e.time - start:.2f}"
        lines.append(f"  {offset:>9} s  {e.node:<{width}}  "
                     + " ".join(e.message.splitlines()))
    last = chosen[-1]
    settled = last.kind == "service" and last.fields.get("change") in (
        "started", "recovered", "disabled", "stopped")
    span = last.time - start
    lines.append(f"From detection to {'recovery' if settled else 'the last event'}: "
                 f"{span:.2f} s ({len(chosen)} events on {len({e.node for e in chosen})} "
                 f"node{'s' if len({e.node for e in chosen}) != 1 else ''})")
    return lines
