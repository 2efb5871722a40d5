"""[web] in cluster.toml: defaults, checks with file/line/key, and the TOML round trip."""

from __future__ import annotations

from web_support import CONFIG

from hacore.config import load_config_text
from hacore.config.dump import config_to_toml
from hacore.config.loader import check_config_text
from hacore.config.model import WebSettings


def test_no_web_table_means_no_console():
    """Without [web] the console is off."""
    text = CONFIG.split("[web]")[0]
    assert load_config_text(text).web is None


def test_web_defaults():
    """[web] port = 8443 alone: the node's address, default certificate, key and password."""
    web = load_config_text(CONFIG).web
    assert web == WebSettings(port=8443)
    assert web.address is None and web.certificate == "/etc/hacore/web.crt"
    assert web.password_file == "/etc/hacore/web.passwd"


def test_bad_web_keys_are_named_with_their_line():
    """A bad port, a relative path, an unknown key and half a pair are each reported."""
    text = CONFIG.split("[web]")[0] + ('[web]\nport = 70000\ncertificate = "web.crt"\n'
                                       'address = "not an ip"\ncolour = "blue"\n')
    result = check_config_text(text)
    assert result.config is None
    by_key = {p.key: p for p in result.errors}
    assert "web.port" in by_key and "65535" in by_key["web.port"].message
    assert "absolute" in by_key["web.certificate"].message
    assert "web.address" in by_key and "web.colour" in by_key
    assert "both certificate and key" in by_key["web"].message
    lines = text.splitlines()
    assert lines[by_key["web.port"].line - 1].startswith("port")


def test_web_survives_the_toml_round_trip():
    """config_to_toml keeps [web], so a console edit does not switch the console off."""
    text = CONFIG.replace("port = 8443", 'port = 9443\naddress = "0.0.0.0"')
    cfg = load_config_text(text)
    again = load_config_text(config_to_toml(cfg))
    assert again.web == cfg.web == WebSettings(port=9443, address="0.0.0.0")
    plain = load_config_text(CONFIG)
    assert load_config_text(config_to_toml(plain)).web == WebSettings()
