"""The node's durable local state: cluster state, operation ids already run, what runs here.

One JSON file in the state directory, rewritten atomically (temp file + fsync + rename +
fsync of the directory) on every change, so a crash leaves either the old or the new file.
What it holds:

- ``cluster``: the last cluster state this node heard from a coordinator (admin intents,
  service states, restart history: the policy snapshot's service part) with its version;
  a new coordinator starts from the newest copy a quorum of nodes holds;
- ``done``: operation ids this node has run, with their outcome, so that a retried message
  never runs an operation twice (bounded: the newest ``MAX_DONE``);
- ``local``: the services this node believes it runs (what the supervisor stops if the
  daemon dies, and what a restarted daemon probes first);
- ``unstandby_on_join``: the node put itself in standby to leave cleanly (lifted on return).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from hacore.errors import InputError

MAX_DONE = 1000
STATE_FILE = "state.json"
FORMAT = 1


def write_atomically(path: str, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` so a crash leaves the old or the new content, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


@dataclass
class LocalState:
    """Everything the node keeps across restarts (see the module docstring)."""

    cluster_version: int = 0
    cluster: dict[str, Any] = field(default_factory=dict)
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    local: dict[str, list[str]] = field(default_factory=dict)
    #: this node put itself in standby to leave cleanly: lift it once it is back
    unstandby_on_join: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "cluster_version": self.cluster_version,
                "cluster": self.cluster, "done": self.done, "local": self.local,
                "unstandby_on_join": self.unstandby_on_join}


class LocalStore:
    """The state file of one node; ``save`` after every change (it is small)."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, STATE_FILE)

    def load(self) -> LocalState:
        """The saved state, or an empty one when there is none yet.

        Raises InputError naming the file when it exists but cannot be read.
        """
        try:
            with open(self.path, encoding="utf-8") as fh:
                raw = json.load(fh)
        except FileNotFoundError:
            return LocalState()
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"state file {self.path}: cannot read it ({exc}); move it away "
                             "to start this node from the cluster's state") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise InputError(f"state file {self.path}: not a format {FORMAT} hacore state "
                             "file; move it away to start from the cluster's state")
        return LocalState(
            cluster_version=int(raw.get("cluster_version", 0)),
            cluster=dict(raw.get("cluster") or {}),
            done=dict(raw.get("done") or {}),
            local={k: list(v) for k, v in (raw.get("local") or {}).items()},
            unstandby_on_join=bool(raw.get("unstandby_on_join", False)),
        )

    def save(self, state: LocalState) -> None:
        """Write the state atomically (creates the directory, mode 0700, if needed)."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        if len(state.done) > MAX_DONE:
            for key in list(state.done)[: len(state.done) - MAX_DONE]:
                del state.done[key]
        write_atomically(self.path, json.dumps(state.to_dict(), separators=(",", ":")))
