"""Atomic writes: old or new content, the mode from the start, no clobbering on request."""

import os
import stat

import pytest

from hacore.errors import InputError
from hacore.files import write_atomically


def test_replaces_content_with_the_mode_asked(tmp_path):
    """The new content replaces the old one, with the mode given, and no temp file stays."""
    target = tmp_path / "cluster.toml"
    target.write_text("old")
    write_atomically(target, "new", mode=0o600)
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["cluster.toml"]


def test_no_clobber_keeps_the_existing_file(tmp_path):
    """replace=False refuses an existing file and leaves it untouched."""
    target = tmp_path / "key"
    target.write_bytes(b"first")
    with pytest.raises(InputError, match="exists already"):
        write_atomically(target, b"second", 0o400, replace=False)
    assert target.read_bytes() == b"first" and os.listdir(tmp_path) == ["key"]


def test_missing_directory_is_an_input_error(tmp_path):
    """A path in a directory that does not exist is an InputError naming it."""
    with pytest.raises(InputError, match="does not exist"):
        write_atomically(tmp_path / "nope" / "file", "x")
