"""[[alerts]] in the cluster file: read, checked, shown."""

import pytest

from hacore.config import ConfigError, load_config_text
from hacore.config.dump import config_to_dict, config_to_toml
from hacore.config.model import AlertHook

BASE = """
[cluster]
name = "c"
config_version = 1
[[nodes]]
name = "n1"
id = 1
addresses = ["10.0.0.1"]
[services.web]
tree = []
"""


def test_hooks_are_read_with_defaults():
    """A script hook and a URL hook, with events, services and the 10 s default timeout."""
    cfg = load_config_text(BASE + """
[[alerts]]
name = "pager"
script = "/usr/local/bin/page"
events = ["failover", "quorum-lost"]
[[alerts]]
name = "hook"
url = "https://alerts.example.com/hacore"
services = ["web"]
timeout = 3
""")
    assert cfg.alerts == (
        AlertHook("pager", script="/usr/local/bin/page", events=("failover", "quorum-lost")),
        AlertHook("hook", url="https://alerts.example.com/hacore", services=("web",),
                  timeout=3.0))


@pytest.mark.parametrize("table,message", [
    ('name = "a"', "needs exactly one of script"),
    ('name = "a"\nscript = "/x"\nurl = "http://h/"', "needs exactly one of script"),
    ('name = "a"\nscript = "relative.sh"', "script must be an absolute path"),
    ('name = "a"\nurl = "ftp://h/x"', "url 'ftp://h/x' is not valid"),
    ('name = "a"\nscript = "/x"\nevents = ["failover", "reboot"]', "event 'reboot' is not known"),
    ('name = "a"\nscript = "/x"\nservices = ["nope"]', "service 'nope' is not defined"),
    ('name = "a"\nscript = "/x"\ntimeout = 0', "timeout = 0"),
    ('name = "a"\nscript = "/x"\ncolour = "red"', "unknown key 'colour'"),
])
def test_bad_hooks_are_refused_with_their_key(table, message):
    """Each mistake is an error naming the alert's key and what would be valid."""
    with pytest.raises(ConfigError) as err:
        load_config_text(BASE + "[[alerts]]\n" + table + "\n")
    assert message in str(err.value)
    assert "alerts[0]" in str(err.value)


def test_show_prints_the_hooks_and_they_load_back():
    """config show (JSON and TOML) carries the hooks; the TOML loads into the same hooks."""
    cfg = load_config_text(BASE + '[[alerts]]\nname = "p"\nscript = "/bin/p"\n')
    assert config_to_dict(cfg)["alerts"] == [{"name": "p", "script": "/bin/p", "url": None,
                                              "events": [], "services": [], "timeout": 10.0}]
    again = load_config_text(config_to_toml(cfg))
    assert again.alerts == cfg.alerts
