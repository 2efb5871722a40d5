"""The console password: stored hashed with scrypt and a random salt, in a root-only file.

The file holds one line ``scrypt$N$r$p$<salt base64>$<hash base64>``. ``hacore web passwd``
writes it; the web server reads it at every login (so a new password needs no restart).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from hacore.errors import InputError
from hacore.files import write_atomically

DEFAULT_PASSWORD_FILE = "/etc/hacore/web.passwd"
#: scrypt cost: 2**14 x 8 x 1 takes ~16 MiB and some tens of ms; a login is rare
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
MIN_LENGTH = 8


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r * p + (1 << 20), dklen=32)


def hash_password(password: str) -> str:
    """The stored form of ``password`` (a fresh 16-byte salt every time)."""
    if len(password) < MIN_LENGTH:
        raise InputError(f"the console password must have at least {MIN_LENGTH} characters")
    salt = os.urandom(16)
    digest = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time compare); False for a
    malformed stored value."""
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt":
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        if not (1 < n_ <= 1 << 20 and 0 < r_ <= 32 and 0 < p_ <= 16):
            return False
        expected = base64.b64decode(digest, validate=True)
        got = _derive(password, base64.b64decode(salt, validate=True), n_, r_, p_)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def write_password_file(path: str | Path, password: str) -> None:
    """Hash ``password`` and write it to ``path`` atomically, mode 0600."""
    write_atomically(path, hash_password(password) + "\n", 0o600)


def read_password_file(path: str | Path) -> str | None:
    """The stored hash, or None when no password was set (the console then refuses every
    login and says how to set one)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the console password: {exc.strerror}") from None
    return text or None


def check_password_file(path: str | Path, password: str) -> bool:
    """True when ``password`` is the one stored in ``path`` (False if none is set)."""
    stored = read_password_file(path)
    return stored is not None and verify_password(password, stored)
