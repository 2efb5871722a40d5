"""Writing files so that a crash leaves the old or the new content, never half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hacore.errors import InputError


def write_atomically(path: str | Path, data: str | bytes, mode: int = 0o644, *,
                     replace: bool = True) -> None:
    """Write a temporary file beside ``path``, fsync it, rename it over ``path``, fsync the
    directory. The file has ``mode`` from the moment it exists (0600 for secrets).

    With ``replace=False`` an existing file is never replaced: the new file is hard-linked
    into place, which fails atomically if the name exists (InputError).
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
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise InputError(f"{target} exists already") from None
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
