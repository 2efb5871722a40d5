"""Writing a configuration file atomically: temp file, fsync, rename, fsync the directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hacore.errors import InputError


def write_atomic(path: str | Path, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old or the new file, never half.

    The file gets ``mode`` from the moment it exists (0600 for files holding passwords).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError:
        raise InputError(f"{target}: directory {folder} does not exist") from None
    except PermissionError:
        raise InputError(f"{target}: cannot write in {folder}: permission denied") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
