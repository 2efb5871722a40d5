"""Resource parameters checked against agent meta-data, through an injected catalogue."""

from __future__ import annotations

from hacore.config import check_config_text, load_config_text

from .conftest import BASE


def errors(text: str, catalogue):
    return [p for p in check_config_text(text, "c.toml", agents=catalogue).problems
            if p.severity == "error"]


def test_base_is_valid_against_catalogue(catalogue):
    """The base file's ip and apache parameters fit the catalogue."""
    assert errors(BASE, catalogue) == []


def test_unknown_agent_is_reported_at_its_line(catalogue):
    """An agent the catalogue does not know is an error at the agent key."""
    text = BASE.replace('agent = "apache"', 'agent = "nginx"')
    [err] = errors(text, catalogue)
    assert err.key == "services.web.resources.www.agent" and "nginx" in err.message
    assert err.line == text[:text.index('agent = "nginx"')].count("\n") + 1


def test_unknown_parameter_lists_valid_ones(catalogue):
    """A parameter the agent lacks is refused, listing the agent's parameters."""
    [err] = errors(BASE.replace('address = "10.1.0.100/24"',
                                'address = "10.1.0.100/24", netmask = "24"'), catalogue)
    assert err.key == "resources.vip.params.netmask"
    assert "address, family, monitor_link, sleeptime" in err.message


def test_missing_required_parameter(catalogue):
    """A required parameter that is not set is an error."""
    [err] = errors(BASE.replace('params = { address = "10.1.0.100/24" }', ""), catalogue)
    assert "requires parameter 'address'" in err.message and err.key.startswith("resources.vip")


def test_wrong_types_are_refused(catalogue):
    """integer, boolean and select values are checked."""
    text = BASE.replace('address = "10.1.0.100/24"',
                        'address = "10.1.0.100/24", sleeptime = "soon", '
                        'monitor_link = "perhaps", family = "inet5"')
    msgs = {e.key.rsplit(".", 1)[1]: e.message for e in errors(text, catalogue)}
    assert "integer" in msgs["sleeptime"] and "true or false" in msgs["monitor_link"]
    assert "inet, inet6" in msgs["family"]


def test_toml_booleans_and_integers_pass_as_strings(catalogue):
    """TOML true and 5 reach the agent as "true" and "5" and fit boolean/integer."""
    text = BASE.replace('address = "10.1.0.100/24"',
                        'address = "10.1.0.100/24", sleeptime = 5, monitor_link = true')
    assert errors(text, catalogue) == []
    vip = load_config_text(text).resources[0]
    assert vip.params["sleeptime"] == "5" and vip.params["monitor_link"] == "true"


def test_agent_timeouts_fill_defaults(catalogue):
    """Without operations in the file, start/stop timeouts come from the agent meta-data."""
    cfg = load_config_text(BASE, agents=catalogue)
    vip = cfg.resources[0]
    assert vip.start_timeout == 15.0 and vip.stop_timeout == 25.0


def test_no_catalogue_means_no_agent_checks():
    """load_config without agents does not look at agents at all."""
    assert load_config_text(BASE.replace('agent = "apache"', 'agent = "nginx"'))


def test_broken_catalogue_entry_is_an_error_not_a_crash():
    """A catalogue that raises something unexpected gives an error for that agent."""
    def broken(name):
        raise RuntimeError("meta-data exploded")
    errs = errors(BASE, broken)
    assert errs and all("exploded" in e.message for e in errs)


def fence_source(agent: str):
    from hacore.errors import AgentNotFound
    from hacore.fencing.metadata import FenceParameter
    if agent != "fence_dummy":
        raise AgentNotFound(f"no fence agent {agent!r}")
    return [FenceParameter("port"), FenceParameter("status_file"),
            FenceParameter("delay", type="second")]


def test_fence_device_parameters_checked_per_node_use():
    """Per-node fence parameters are checked against the fence agent, at their line."""
    text = BASE.replace('port = "2"', 'port = "2", plugg = "x"')
    errs = [p for p in check_config_text(text, "c.toml", fence_agents=fence_source).problems
            if p.severity == "error"]
    [err] = errs
    assert err.key == "nodes[1].fence[0].devices[0].plugg" and "no parameter 'plugg'" in err.message
    assert err.line == text[:text.index("plugg")].count("\n") + 1


def test_unknown_fence_agent_is_an_error():
    """A fence agent that is not installed is an error at the device's agent key."""
    text = BASE.replace('agent = "fence_dummy"', 'agent = "fence_nothing"')
    errs = [p for p in check_config_text(text, "c.toml", fence_agents=fence_source).problems
            if p.severity == "error"]
    assert [e.key for e in errs] == ["fence_devices.pdu.agent"]
