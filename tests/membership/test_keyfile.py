"""The cluster key file and `hacore keygen`."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from hacore.cli.main import cli
from hacore.errors import HacoreError, InputError
from hacore.membership.keyfile import KEY_SIZE, load_key, new_key, write_key


def test_keygen_writes_a_0400_key(tmp_path) -> None:
    """keygen writes 32 random bytes with mode 0400 and says where."""
    target = tmp_path / "cluster.key"
    result = CliRunner().invoke(cli, ["keygen", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target) in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o400
    assert len(load_key(target)) == KEY_SIZE


def test_keygen_refuses_to_overwrite_without_force(tmp_path) -> None:
    """An existing key is kept (exit 2) unless --force replaces it."""
    target = tmp_path / "cluster.key"
    write_key(target, b"a" * 32)
    result = CliRunner().invoke(cli, ["keygen", "-o", str(target)])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert target.read_bytes() == b"a" * 32
    result = CliRunner().invoke(cli, ["keygen", "-o", str(target), "--force"])
    assert result.exit_code == 0
    assert target.read_bytes() != b"a" * 32
    assert stat.S_IMODE(target.stat().st_mode) == 0o400
    assert [p.name for p in tmp_path.iterdir()] == ["cluster.key"]  # no temp file left


def test_keygen_into_missing_directory(tmp_path) -> None:
    """A missing directory is an input error naming it, not a traceback."""
    result = CliRunner().invoke(cli, ["keygen", "-o", str(tmp_path / "nope" / "k")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_keygen_help_has_an_example() -> None:
    """keygen --help shows an example."""
    assert "Example: hacore keygen" in CliRunner().invoke(cli, ["keygen", "--help"]).output


def test_write_key_without_force_raises(tmp_path) -> None:
    """write_key refuses an existing file."""
    write_key(tmp_path / "k", new_key())
    with pytest.raises(InputError):
        write_key(tmp_path / "k", new_key())


def test_load_key_refuses_readable_or_short_keys(tmp_path) -> None:
    """A key readable by others, a short key and a missing file are refused with a hint."""
    loose = tmp_path / "loose"
    loose.write_bytes(b"a" * 32)
    os.chmod(loose, 0o644)
    with pytest.raises(HacoreError, match="chmod 0400"):
        load_key(loose)
    short = tmp_path / "short"
    short.write_bytes(b"abc")
    os.chmod(short, 0o400)
    with pytest.raises(HacoreError, match="3 bytes"):
        load_key(short)
    with pytest.raises(HacoreError, match="hacore keygen") as missing:
        load_key(tmp_path / "missing")
    assert missing.value.exit_code == 2  # an input problem the admin fixes, not a failed operation


def test_new_keys_differ() -> None:
    """Two keys are never the same."""
    assert new_key() != new_key()
