"""The cluster key: 32 random bytes in a root-only file (mode 0400), made by `hacore keygen`."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

from hacore.errors import InputError
from hacore.files import write_atomically

DEFAULT_KEY_FILE = "/etc/hacore/cluster.key"
KEY_SIZE = 32
MIN_KEY_SIZE = 16
MAX_KEY_SIZE = 4096


def new_key() -> bytes:
    """A fresh cluster key from the operating system's random source."""
    return secrets.token_bytes(KEY_SIZE)


def write_key(path: str | Path, key: bytes, *, force: bool = False) -> None:
    """Write ``key`` to ``path`` atomically with mode 0400.

    Without ``force`` an existing file is never replaced (checked atomically by
    :func:`hacore.files.write_atomically`).
    """
    try:
        write_atomically(path, key, 0o400, replace=force)
    except InputError as exc:
        if not force and Path(path).exists():
            raise InputError(f"{path} exists already; keep it (every node needs the same "
                             "key) or pass --force to replace it") from None
        raise exc from None


def load_key(path: str | Path) -> bytes:
    """Read the cluster key; refuse a file others may read or a key too short to be one."""
    target = Path(path)
    try:
        info = target.stat()
        data = target.read_bytes()
    except FileNotFoundError:
        raise InputError(f"cluster key {target} does not exist; make one with "
                          "`hacore keygen` and copy it to every node") from None
    except PermissionError:
        raise InputError(f"cluster key {target}: permission denied (run as root)") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"cluster key {target} is mode {stat.S_IMODE(info.st_mode):04o}; "
                          f"it must be readable by its owner only: chmod 0400 {target}")
    if not MIN_KEY_SIZE <= len(data) <= MAX_KEY_SIZE:
        raise InputError(f"cluster key {target} holds {len(data)} bytes; a key has "
                          f"{MIN_KEY_SIZE}..{MAX_KEY_SIZE} (make one with `hacore keygen`)")
    return data
