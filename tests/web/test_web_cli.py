"""`hacore web passwd` and the daemon's door to the console (start_web)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
from dataclasses import replace

from click.testing import CliRunner
from web_support import FakeBackend

from hacore.api.handlers import Api
from hacore.cli.main import cli
from hacore.web import start_web
from hacore.web.passwords import check_password_file


def test_passwd_from_stdin_writes_a_root_only_hash(tmp_path):
    """--stdin --file: the file is 0600, holds a hash (not the password) that verifies."""
    path = tmp_path / "web.passwd"
    result = CliRunner().invoke(cli, ["web", "passwd", "--stdin", "--file", str(path)],
                                input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "s3cret-pass" not in path.read_text()
    assert check_password_file(path, "s3cret-pass")


def test_passwd_prompt_asks_twice_and_refuses_a_short_one(tmp_path):
    """Typed twice it is stored; a short one is an input error (exit 2), nothing written."""
    path = tmp_path / "web.passwd"
    ok = CliRunner().invoke(cli, ["web", "passwd", "--file", str(path)],
                            input="another-pass\nanother-pass\n")
    assert ok.exit_code == 0 and check_password_file(path, "another-pass")
    short = CliRunner().invoke(cli, ["web", "passwd", "--stdin", "--file",
                                     str(tmp_path / "other")], input="short\n")
    assert short.exit_code == 2 and "at least 8" in short.output
    assert not (tmp_path / "other").exists()


def test_a_console_that_cannot_listen_is_logged_not_fatal(tmp_path, caplog):
    """A port already taken: start_web logs the error and returns None (daemon goes on)."""
    backend = FakeBackend()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        web = replace(backend.config.web, port=port, address="127.0.0.1",
                      certificate=str(tmp_path / "c.pem"), key=str(tmp_path / "k.pem"))
        config = replace(backend.config, web=web)
        with caplog.at_level(logging.ERROR, logger="hacore.web"):
            server = asyncio.run(start_web(Api(backend), config, "n1"))
    assert server is None
    assert f"not started on 127.0.0.1:{port}" in caplog.text


def test_no_web_table_no_server():
    """Without [web], start_web does nothing."""
    backend = FakeBackend()
    config = replace(backend.config, web=None)
    assert asyncio.run(start_web(Api(backend), config, "n1")) is None
