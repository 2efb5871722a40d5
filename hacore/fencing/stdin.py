"""The fence-agents stdin format (``name=value`` lines), with nothing but the language
itself: a fence agent written in Python (the testbed's) imports this module at every
fence, so it stays free of the imports of hacore.fencing.protocol (dataclasses, ~9 ms)."""

from __future__ import annotations


def parse_stdin(text: str) -> dict[str, str]:
    """Read ``name=value`` lines: ``#`` lines and lines without ``=`` skipped, last wins."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        options[name.strip()] = value.strip()
    return options
