"""`hacore timing`: the budget as text and JSON, warnings, and bad input."""

import json
from pathlib import Path

from click.testing import CliRunner

from hacore.cli.main import cli

CONFIG = str(Path(__file__).parent.parent / "policy" / "budget_cluster.toml")


def test_text_shows_each_service_with_best_and_worst():
    """Each service gets its scenarios with the hand-checked totals and the warnings."""
    result = CliRunner().invoke(cli, ["timing", "--config", CONFIG])
    assert result.exit_code == 0, result.output
    assert "web  (may run on n1, n2)" in result.output
    assert "node lost:        best     24 s   worst     44 s" in result.output
    assert "timing.self_stop_margin" in result.output


def test_json_is_the_report():
    """--json prints the budgets with the same figures."""
    result = CliRunner().invoke(cli, ["timing", "--config", CONFIG, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["service"] for s in data["services"]] == ["web", "db", "batch"]
    assert data["services"][1]["scenarios"][0]["worst"] == 119


def test_a_slow_start_is_warned_about(tmp_path):
    """A 900 s start exceeds the start bound and makes the failover exceed its bound."""
    text = Path(CONFIG).read_text().replace("start = { timeout = 30 }", "start = { timeout = 900 }")
    path = tmp_path / "slow.toml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["timing", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "services.db: its start may take 900 s (longest: dbapp 900 s)" in result.output
    assert "services.db: a failover (resource failed) may take up to" in result.output


def test_a_missing_config_exits_2():
    """A config that does not exist is a usage error with the path, no traceback."""
    result = CliRunner().invoke(cli, ["timing", "--config", "/nonexistent/cluster.toml"])
    assert result.exit_code == 2
    assert "/nonexistent/cluster.toml" in result.output
    assert "Traceback" not in result.output
