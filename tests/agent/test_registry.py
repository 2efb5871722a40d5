"""The plugin host refuses bad plugins by name and keeps loading the good ones."""

import types
from importlib.metadata import EntryPoint

from hacore import plugins
from hacore.agent import Agent, Result, hookimpl
from hacore.agent import registry as registry_module
from hacore.agent.registry import AgentRegistry


def make_agent(agent_name, **overrides):
    body = {"name": agent_name, "shortdesc": f"{agent_name} agent",
            "start": lambda self: Result.ok(), "stop": lambda self: Result.ok(),
            "monitor": lambda self: Result.not_running()}
    body.update(overrides)
    return type(agent_name.title(), (Agent,), body)


def plugin(*classes):
    @hookimpl
    def hacore_register_agents(register):
        for cls in classes:
            register(cls)

    return types.SimpleNamespace(hacore_register_agents=hacore_register_agents)


def test_good_agents_load_beside_broken_ones():
    """Missing methods, wrong signatures and bad names are refused; the good agent loads."""
    reg = AgentRegistry()
    no_monitor = make_agent("nomonitor")
    del no_monitor.monitor
    reg.load_plugin(plugin(
        make_agent("good"),
        no_monitor,
        make_agent("argstart", start=lambda self, force: Result.ok()),
        make_agent("Bad Name"),
        object,
    ), "hacore-agent-mixed 1.0")
    assert list(reg.agents) == ["good"]
    messages = [str(p) for p in reg.problems]
    assert any("'nomonitor' from hacore-agent-mixed 1.0 refused: method monitor() is missing" in m for m in messages)
    assert any("'argstart'" in m and "must take no arguments besides self" in m for m in messages)
    assert any("'Bad Name'" in m and "is not valid" in m for m in messages)
    assert any("subclass of hacore.agent.Agent" in m for m in messages)


def test_duplicate_name_names_both_distributions():
    """A second agent with a taken name is refused and the first owner is named."""
    reg = AgentRegistry()
    reg.load_plugin(plugin(make_agent("ip")), "hacore-agent-ip 0.1")
    reg.load_plugin(plugin(make_agent("ip")), "acme-ip 2.0")
    assert reg.agents["ip"].distribution == "hacore-agent-ip 0.1"
    assert "agent 'ip' from acme-ip 2.0 refused: the name 'ip' is already taken by hacore-agent-ip 0.1" in str(reg.problems[0])


def test_hook_with_wrong_signature_is_refused():
    """A hook implementation with an argument pluggy does not know is refused at load."""
    @hookimpl
    def hacore_register_agents(register, extra):
        register(make_agent("never"))

    reg = AgentRegistry()
    reg.load_plugin(types.SimpleNamespace(hacore_register_agents=hacore_register_agents), "odd 1")
    assert not reg.agents
    assert "odd 1" in str(reg.problems[0]) and "bad hook implementation" in str(reg.problems[0])


def test_hook_that_raises_is_contained():
    """An exception inside a plugin's hook is recorded; other plugins still load."""
    @hookimpl
    def hacore_register_agents(register):
        raise RuntimeError("boom")

    reg = AgentRegistry()
    reg.load_plugin(types.SimpleNamespace(hacore_register_agents=hacore_register_agents), "raiser 1")
    reg.load_plugin(plugin(make_agent("fine")), "fine 1")
    assert list(reg.agents) == ["fine"]
    assert "raised RuntimeError: boom" in str(reg.problems[0])


def test_import_error_names_the_entry_point(monkeypatch):
    """A plugin whose module cannot be imported is reported; the others load."""
    broken = EntryPoint("broken", "hacore_no_such_module_xyz", "hacore.agents")
    good_module = types.ModuleType("hacore_test_good_plugin")
    good_module.hacore_register_agents = plugin(make_agent("fromep")).hacore_register_agents
    monkeypatch.setitem(__import__("sys").modules, "hacore_test_good_plugin", good_module)
    good = EntryPoint("good", "hacore_test_good_plugin", "hacore.agents")
    monkeypatch.setattr(plugins, "entry_points", lambda group: [broken, good])
    reg = registry_module.load_registry()
    assert "fromep" in reg.agents
    assert any("importing hacore_no_such_module_xyz failed: ModuleNotFoundError" in str(p) for p in reg.problems)


def test_entry_points_found_in_a_child_are_the_ones_found_here():
    """The helper's way (entry points found by a forked child) finds the same plugins, with
    the same distributions, as finding them in this process; the registries match."""
    found_here = plugins.find_plugins("hacore.agents")
    found_there = plugins.find_plugins_in_child("hacore.agents")
    assert found_there == found_here
    assert any(p.value == "hacore_agent_ip" for p in found_there)
    from_child = registry_module.load_registry(found_there)
    assert sorted(from_child.agents) == sorted(registry_module.load_registry().agents)


def test_a_failing_child_falls_back_to_finding_here(monkeypatch):
    """When the child cannot report (here: finding raises in it), the entry points are
    found in this process instead; nothing is lost."""
    import os

    real = plugins.find_plugins
    parent = os.getpid()

    def flaky(group):
        if os.getpid() != parent:  # in the child
            raise RuntimeError("no luck")
        return real(group)

    monkeypatch.setattr(plugins, "find_plugins", flaky)
    assert plugins.find_plugins_in_child("hacore.agents") == real("hacore.agents")


def test_entry_point_values_load_like_importlib_metadata():
    """``module``, ``module:attr`` and ``module:attr.attr [extra]`` name what EntryPoint.load
    would return."""
    for value in ("hacore.agent.codes", "hacore.agent.codes:OCF",
                  "hacore.agent.codes:OCF.SUCCESS [extra]"):
        assert plugins.load_entry_point(value) is EntryPoint("x", value, "g").load()
