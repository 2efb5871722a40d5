"""What a node remembers about join tokens: spent token ids and the node ids it handed out.

``<state-dir>/bootstrap.json`` (mode 0600, written atomically)::

    {"used": {"<token id>": <expiry>}, "issued_up_to": <highest node id put in a token>}

Spent ids are recorded by every node that stores the configuration a join made (the
coordinator sends them with it, see configsync), so a quorum holds them; they are kept
until their token would have expired anyway. ``issued_up_to`` keeps two tokens made on
this node from naming the same node id.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from hacore.files import write_atomically

log = logging.getLogger("hacore.bootstrap")

FILE_NAME = "bootstrap.json"


def _path(state_dir: str) -> str:
    return os.path.join(state_dir, FILE_NAME)


def load(state_dir: str) -> dict[str, Any]:
    """The file's content (an empty record when missing or unreadable)."""
    try:
        with open(_path(state_dir), encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {"used": {}, "issued_up_to": 0}
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s; starting from an empty record", _path(state_dir), exc)
        return {"used": {}, "issued_up_to": 0}
    used = data.get("used") if isinstance(data, dict) else None
    issued = data.get("issued_up_to") if isinstance(data, dict) else None
    return {"used": dict(used) if isinstance(used, dict) else {},
            "issued_up_to": issued if isinstance(issued, int) else 0}


def save(state_dir: str, data: dict[str, Any]) -> None:
    """Write the record durably; spent ids past their expiry are dropped."""
    now = time.time()
    data["used"] = {k: v for k, v in data["used"].items()
                    if not isinstance(v, (int, float)) or v > now - 60}
    write_atomically(_path(state_dir), json.dumps(data, sort_keys=True), 0o600)


def record_used_tokens(state_dir: str, tokens: list[str]) -> None:
    """Mark tokens spent; each entry is ``"<id>:<expiry>"`` or a bare id."""
    data = load(state_dir)
    for token in tokens:
        token_id, _, expiry = token.partition(":")
        data["used"][token_id] = int(expiry) if expiry.isdigit() else int(time.time() + 7 * 86400)
    save(state_dir, data)


def is_used(state_dir: str, token_id: str) -> bool:
    """True when this node stored a join made with this token."""
    return token_id in load(state_dir)["used"]


def next_node_id(state_dir: str, config_ids: list[int]) -> int:
    """A node id for a new token: above every configured id and every id this node put
    in a token before; recorded at once."""
    data = load(state_dir)
    node_id = max([data["issued_up_to"], *config_ids]) + 1
    data["issued_up_to"] = node_id
    save(state_dir, data)
    return node_id
