"""The join endpoint's framing: one JSON object per line over TLS, each at most MAX_LINE."""

from __future__ import annotations

import json
from typing import Any

from hacore.errors import OperationFailed

MAX_LINE = 8 * 1024 * 1024  # the reply carries the configuration (at most 4 MiB)
#: the join endpoint listens at [cluster] message_port + JOIN_PORT_OFFSET (default 5417)
JOIN_PORT_OFFSET = 1
DEFAULT_JOIN_PORT = 5416 + JOIN_PORT_OFFSET


def encode_line(obj: dict[str, Any]) -> bytes:
    """One message as a line."""
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def decode_line(line: bytes, who: str) -> dict[str, Any]:
    """A line back to a message; OperationFailed names ``who`` sent something else."""
    if not line.endswith(b"\n"):
        raise OperationFailed(f"{who} closed the connection mid-message")
    try:
        obj = json.loads(line)
    except ValueError:
        raise OperationFailed(f"{who} sent something that is not a join message") from None
    if not isinstance(obj, dict):
        raise OperationFailed(f"{who} sent something that is not a join message")
    return obj
