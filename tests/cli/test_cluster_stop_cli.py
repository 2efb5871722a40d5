"""`hacore cluster stop` at the edge: --help has an example, usage errors exit 2, no daemon
exits 1 with the reason; never a traceback."""

from __future__ import annotations

from click.testing import CliRunner

from hacore.cli.main import cli


def _run(*args: str):
    result = CliRunner().invoke(cli, ["cluster", "stop", *args], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_help_has_an_example():
    """--help says what it does and shows an example."""
    result = _run("--help")
    assert result.exit_code == 0
    assert "Example: hacore cluster stop" in result.output and "--cancel" in result.output


def test_usage_errors_exit_2():
    """A timeout that is not > 0, or an unknown option, is a usage error."""
    assert _run("--timeout", "0").exit_code == 2
    assert _run("--timeout", "soon").exit_code == 2
    assert _run("--now").exit_code == 2


def test_no_daemon_exits_1_with_the_reason(tmp_path):
    """No daemon behind the socket: exit 1, the message says so."""
    result = _run("--socket", str(tmp_path / "none.sock"))
    assert result.exit_code == 1
    assert "no hacore daemon socket" in result.output
