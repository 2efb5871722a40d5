"""[metrics] listen: default loopback, a chosen address, "" for none, bad values named."""

from __future__ import annotations

import pytest

from hacore.config.dump import config_to_toml
from hacore.config.loader import check_config_text

BASE = """
[cluster]
name = "c"
config_version = 1

[[nodes]]
name = "n1"
id = 1
addresses = ["10.0.0.1"]
"""


def _load(extra: str):
    return check_config_text(BASE + extra)


def test_default_is_loopback_port_9664():
    """Without [metrics] every node serves /metrics on 127.0.0.1:9664."""
    assert _load("").config.metrics.listen == "127.0.0.1:9664"


@pytest.mark.parametrize("value,expected", [("0.0.0.0:9100", "0.0.0.0:9100"),
                                            ("[::1]:9664", "[::1]:9664"), ("", None)])
def test_listen_is_read(value, expected):
    """A HOST:PORT is kept; an empty string turns the endpoint off."""
    config = _load(f'\n[metrics]\nlisten = "{value}"\n').config
    assert config.metrics.listen == expected
    again = check_config_text(config_to_toml(config)).config
    assert again.metrics == config.metrics


def test_a_bad_listen_is_an_error_with_the_line():
    """'listen = "9664"' names the key, its line and what would be valid."""
    result = _load('\n[metrics]\nlisten = "9664"\n')
    assert result.config is None
    problem = next(p for p in result.problems if "listen" in p.message)
    assert problem.line == 12 and "HOST:PORT" in problem.message and '""' in problem.message


def test_an_unknown_key_is_refused():
    """[metrics] port = 1 is an unknown key; the valid one is listed."""
    result = _load('\n[metrics]\nport = 1\n')
    assert result.config is None
    assert any("valid keys: listen" in p.message for p in result.problems)
