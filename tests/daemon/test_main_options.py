"""The daemon process's command line (what the supervisor passes), read without argparse."""

from __future__ import annotations

import json
import subprocess
import sys

from hacore.daemon.main import main, parse_options

FULL = ["--config", "/etc/hacore/cluster.toml", "--node", "n1", "--state-dir", "/var/lib/h",
        "--socket", "/run/h.sock", "--key-file", "/etc/hacore/cluster.key"]


def test_every_option_is_read_in_either_form():
    """``--name value`` and ``--name=value`` both give the value."""
    options = parse_options(FULL[:2] + ["--node=n2"] + FULL[4:])
    assert options == {"--config": "/etc/hacore/cluster.toml", "--node": "n2",
                       "--state-dir": "/var/lib/h", "--socket": "/run/h.sock",
                       "--key-file": "/etc/hacore/cluster.key"}


def test_missing_unknown_or_empty_options_are_refused():
    """A missing option, an unknown one, or one without a value is refused (None)."""
    assert parse_options(FULL[:-2]) is None
    assert parse_options([*FULL, "--verbose", "1"]) is None
    assert parse_options(["--config", "--node", "n1", *FULL[4:]]) is None
    assert parse_options([*FULL[:-1]]) is None


def test_a_bad_command_line_exits_2_with_the_usage(capsys):
    """main() says how to call it and returns 2 (the supervisor then stops: a config error)."""
    assert main(["--node", "n1"]) == 2
    assert "usage: python -m hacore.daemon.main --config FILE" in capsys.readouterr().err


def test_the_daemon_module_does_not_load_argparse():
    """Importing the daemon's entry module leaves argparse (and gettext) out of memory."""
    code = "import sys, json, hacore.daemon.main; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert {"argparse", "gettext"} & set(json.loads(out.stdout)) == set()
