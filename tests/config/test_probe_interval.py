"""[timing] probe_interval: the default, the accepted range, and the message (file, line,
key, what is valid) for a value refused; `hacore config validate` exits 2 for it and
`hacore timing` shows it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hacore.cli.main import cli
from hacore.config import load_config_text
from hacore.errors import InputError

from .conftest import BASE

LINE = BASE.count("\n") + 3  # the probe_interval line of _with()


def _with(value: str) -> str:
    return BASE + f"\n[timing]\nprobe_interval = {value}\n"


def test_default_is_60_seconds_and_a_valid_value_is_kept():
    """No key: 60 s; a value in range is used as given."""
    assert load_config_text(BASE, "c.toml").timing.probe_interval == 60.0
    assert load_config_text(_with("5"), "c.toml").timing.probe_interval == 5.0


@pytest.mark.parametrize("value", ["0", "-5", "0.5", "100000"])
def test_out_of_range_is_refused_naming_file_line_key_and_the_range(value):
    """0, negative, under a second or over a day: refused with where and what is valid."""
    with pytest.raises(InputError) as info:
        load_config_text(_with(value), "c.toml")
    assert (f"c.toml:{LINE}: timing.probe_interval: probe_interval = {value} is out of "
            "range; use 1 to 86400 seconds") in str(info.value)


def test_a_string_is_refused():
    """Not a number: refused naming the key and the type wanted."""
    with pytest.raises(InputError, match=r"c.toml:\d+: timing.probe_interval: probe_interval "
                                         "must be a number of seconds, not a string"):
        load_config_text(_with('"often"'), "c.toml")


def test_validate_exits_2_and_timing_shows_the_interval(tmp_path):
    """`hacore config validate` exits 2 on a bad value; `hacore timing` prints a good one."""
    bad = tmp_path / "bad.toml"
    bad.write_text(_with("0"))
    result = CliRunner().invoke(cli, ["config", "validate", str(bad)], catch_exceptions=False)
    assert result.exit_code == 2
    assert f"{bad}:{LINE}: timing.probe_interval:" in result.output
    good = tmp_path / "good.toml"
    good.write_text(_with("15"))
    result = CliRunner().invoke(cli, ["timing", "--config", str(good)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "does not run every 15 s" in result.output
    result = CliRunner().invoke(cli, ["timing", "--config", str(good), "--json"],
                                catch_exceptions=False)
    assert json.loads(result.output)["probe_interval"] == 15.0
