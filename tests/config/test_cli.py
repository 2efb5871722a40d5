"""`hacore config validate|show|import`: exit codes, messages, JSON, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from hacore.cli.main import cli

from .conftest import BASE, DATA

# agents that exist on every machine that runs these tests: Debian's resource-agents
LOCAL_BASE = (BASE.replace('agent = "ip"\nparams = { address = "10.1.0.100/24" }',
                           'agent = "ocf:heartbeat:Dummy"')
              .replace('agent = "apache"\nparams = { config_file = "/etc/apache2/apache2.conf" }',
                       'agent = "ocf:heartbeat:Dummy"\nparams = { fake = "x" }')
              .replace('port = "', 'status_file = "/tmp/hacore-no-such-'))


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_validate_valid_file_exits_0(write):
    """A valid file: exit 0 and a one-line summary."""
    result = run("config", "validate", str(write(LOCAL_BASE)))
    assert result.exit_code == 0, result.output
    assert "valid (cluster 'test'" in result.output


def test_validate_invalid_file_exits_2_with_every_problem(write):
    """An invalid file: exit 2, each problem as file:line: key: message."""
    path = write(LOCAL_BASE.replace('id = 2', 'id = 1').replace('domain = "pref"',
                                                                 'domain = "x"'))
    result = run("config", "validate", str(path))
    assert result.exit_code == 2
    assert f"{path}:13: nodes[1].id:" in result.output
    assert "services.web.domain:" in result.output and "invalid (3 errors)" in result.output


def test_validate_checks_installed_agent_parameters(write):
    """Agent parameters are checked against the agents installed here."""
    path = write(LOCAL_BASE.replace('params = { fake = "x" }', 'params = { nonsense = "x" }'))
    result = run("config", "validate", str(path))
    assert result.exit_code == 2 and "has no parameter 'nonsense'" in result.output


def test_validate_json(write):
    """--json gives valid and the list of problems with file, line, key, message."""
    result = run("config", "validate", "--json", str(write(LOCAL_BASE.replace("id = 3",
                                                                                "id = 0"))))
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and data["valid"] is False
    assert data["problems"][0]["key"] == "nodes[2].id" and data["problems"][0]["line"] == 19


def test_validate_warnings_go_to_stderr_and_exit_0(write):
    """An accepted split-brain risk is valid with a warning."""
    text = LOCAL_BASE + '\n[quorum]\nno_quorum_policy = "ignore"\n'
    for n in "123":
        text = text.replace(f'fence = [{{ method = "power", devices = [{{ device = "pdu", '
                            f'status_file = "/tmp/hacore-no-such-{n}" }}] }}]\n', "")
    result = run("config", "validate", str(write(text + "accept_split_brain = true\n")))
    assert result.exit_code == 0 and "warning:" in result.stderr


def test_validate_missing_file_exits_2():
    """A missing file: exit 2, one line, no traceback."""
    result = run("config", "validate", "/nonexistent/cluster.toml")
    assert result.exit_code == 2 and "no such file" in result.output


def test_show_json_has_documented_keys_and_defaults(write):
    """show --json has the documented top-level keys and fills in defaults."""
    result = run("config", "show", "--json", str(write(LOCAL_BASE)))
    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert {"cluster", "nodes", "quorum", "fence_devices", "domains", "resources",
            "services"} <= set(data)
    assert data["quorum"]["expected_votes"] == 3 and data["quorum"]["votes_needed"] == 2
    assert data["services"][0]["recovery"] == "restart"
    assert data["services"][0]["start_order"] == ["vip", "www"]


def test_show_masks_passwords(write):
    """Passwords are masked in show output (TOML and JSON)."""
    path = write(LOCAL_BASE.replace('agent = "fence_dummy"',
                                    'agent = "fence_dummy"\nparams = { passwd = "hunter2" }'))
    os.chmod(path, 0o600)
    for args in (["--json"], []):
        result = run("config", "show", *args, str(path))
        assert result.exit_code == 0 and "hunter2" not in result.output
        assert "********" in result.output


def test_show_invalid_file_exits_2(write):
    """show on an invalid file exits 2 and lists the problems."""
    result = run("config", "show", str(write(LOCAL_BASE.replace("id = 2", "id = -2"))))
    assert result.exit_code == 2 and "nodes[1].id" in result.output


def test_import_writes_file_and_lists_notes(tmp_path):
    """import writes the TOML, lists dropped items on stderr, and the result validates."""
    out = tmp_path / "c.toml"
    result = run("config", "import", str(DATA / "mixed.conf"), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "not carried over:" in result.stderr and "<vm name=\"guest1\">" in result.stderr
    assert out.exists()


def test_import_malformed_exits_2_without_output(tmp_path):
    """Malformed XML: exit 2, line number, no output file."""
    src = tmp_path / "bad.conf"
    src.write_text("<cluster>\n<clusternodes>\n")
    out = tmp_path / "c.toml"
    result = run("config", "import", str(src), "-o", str(out))
    assert result.exit_code == 2 and "bad.conf:3" in result.output and not out.exists()


def test_subprocess_entry_point_no_traceback(tmp_path):
    """Through the real console entry point: garbage input gives exit 2 and no traceback."""
    garbage = tmp_path / "g.toml"
    garbage.write_bytes(b"[cluster\x00]\n= = =\n")
    for args in (["config", "validate", str(garbage)], ["config", "show", str(garbage)],
                 ["config", "import", str(garbage), "-o", str(tmp_path / "o.toml")]):
        proc = subprocess.run([sys.executable, "-m", "hacore.cli.main", *args],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_help_has_examples():
    """Every config subcommand's help shows an example."""
    for sub in ("validate", "show", "import"):
        result = run("config", sub, "--help")
        assert "Example: hacore config" in result.output
