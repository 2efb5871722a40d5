"""Fence device plugins: the registration hook, refusals that name the culprit, and a native
fencer (the built-in power-file) run through the same process path as scripts."""

from __future__ import annotations

import types
from pathlib import Path

from hacore.agent.params import Param
from hacore.fencing import FenceFailure, Fencer, describe_fence_agent, fence_node, hookimpl
from hacore.fencing.catalog import resolve_fence_agent
from hacore.fencing.native import run_fencer
from hacore.fencing.registry import FencerRegistry, installed_fencers

from .helpers import one_node


class Good(Fencer):
    name = "good"
    shortdesc = "A fencer that works"
    parameters = (Param("ip", "Address", required=True),)

    def off(self) -> None:
        pass

    def on(self) -> None:
        raise FenceFailure("the switch is stuck")

    def status(self) -> str:
        return "off"


class NoStatus(Fencer):
    name = "no-status"
    shortdesc = "Forgot status"

    def off(self) -> None:
        pass

    def on(self) -> None:
        pass


class Scriptish(Good):
    name = "fence_mine"


class TakesArgs(Good):
    name = "takes-args"

    def off(self, how) -> None:
        pass


def _plugin(*classes: type, boom: bool = False) -> types.SimpleNamespace:
    @hookimpl
    def hacore_register_fencers(register):
        for cls in classes:
            register(cls)
        if boom:
            raise RuntimeError("plugin bug")
    return types.SimpleNamespace(hacore_register_fencers=hacore_register_fencers)


def test_bad_fencers_are_refused_with_distribution_and_name_others_load() -> None:
    """A missing method, a fence_ name, a method with arguments and a duplicate are refused,
    each naming the distribution and fencer; the good fencer is still registered."""
    reg = FencerRegistry()
    reg.load_plugin(_plugin(Good, NoStatus, Scriptish, TakesArgs), "dist-a 1.0")
    reg.load_plugin(_plugin(Good), "dist-b 2.0")
    assert set(reg.fencers) == {"good"} and reg.fencers["good"].distribution == "dist-a 1.0"
    messages = [str(p) for p in reg.problems]
    assert "fencer 'no-status' from dist-a 1.0 refused: method status() is missing" in messages
    assert any("'fence_mine'" in m and "kept for fence-agents scripts" in m for m in messages)
    assert any("'takes-args'" in m and "no arguments besides self" in m for m in messages)
    assert "fencer 'good' from dist-b 2.0 refused: the name 'good' is already taken by " \
           "dist-a 1.0" in messages


def test_plugin_without_hook_or_raising_is_recorded() -> None:
    """A module with no hook, and a hook that raises, are recorded as problems."""
    reg = FencerRegistry()
    reg.load_plugin(types.SimpleNamespace(), "empty 0.1")
    reg.load_plugin(_plugin(Good, boom=True), "buggy 0.1")
    assert "good" in reg.fencers
    text = " | ".join(str(p) for p in reg.problems)
    assert "empty 0.1 refused: it implements no hacore_register_fencers hook" in text
    assert "buggy 0.1 refused: hacore_register_fencers raised RuntimeError: plugin bug" in text


def test_native_fencer_speaks_the_fence_agents_exit_codes(capsys) -> None:
    """off exits 0, status 'off' exits 2, a FenceFailure exits 1, a missing required
    parameter exits 1, metadata prints fence-agents XML; reboot ignores a failed power-on."""
    assert run_fencer(Good, {"action": "off", "ip": "h"}) == 0
    assert run_fencer(Good, {"action": "status", "ip": "h"}) == 2
    assert run_fencer(Good, {"action": "on", "ip": "h"}) == 1
    assert run_fencer(Good, {"action": "reboot", "ip": "h"}) == 0
    assert run_fencer(Good, {"action": "off"}) == 1
    assert run_fencer(Good, {"action": "list", "ip": "h"}) == 1
    assert run_fencer(Good, {"action": "metadata"}) == 0
    out, err = capsys.readouterr()
    assert "Failed: the switch is stuck" in err
    assert "required parameter 'ip' is missing" in err
    assert '<resource-agent name="good"' in out


def test_builtin_power_file_is_installed_through_the_entry_point() -> None:
    """power-file comes from the hacore distribution's hacore.fencers entry point."""
    found = installed_fencers().fencers.get("power-file")
    assert found is not None and found.distribution.startswith("hacore ")
    handle = resolve_fence_agent("power-file")
    assert handle.kind == "native" and handle.argv[-2:] == ("hacore.fencing.native", "power-file")
    info = describe_fence_agent("power-file")
    assert info.parameter("state_dir").required
    assert {"off", "on", "status", "list"} <= set(info.actions)


def test_power_file_fences_a_node_in_a_child_process(tmp_path: Path) -> None:
    """fence_node with the native power-file device: off writes 'off', status reads it back,
    on turns it on; the plug defaults to the node name."""
    config = one_node([[("psu", {})]], {"psu": ("power-file", {"state_dir": str(tmp_path)})})
    assert fence_node(config, "n1", "status").power == "on"  # no file yet: running
    outcome = fence_node(config, "n1", "off")
    assert outcome.confirmed and outcome.devices[0].message == "Success: Powered OFF"
    assert (tmp_path / "n1").read_text().strip() == "off"
    assert fence_node(config, "n1", "status").power == "off"
    assert fence_node(config, "n1", "on").ok
    assert fence_node(config, "n1", "status").power == "on"


def test_power_file_with_a_missing_directory_fails(tmp_path: Path) -> None:
    """A state_dir that does not exist fails off with the reason."""
    config = one_node([[("psu", {"hacore_retries": "0"})]],
                      {"psu": ("power-file", {"state_dir": str(tmp_path / "none")})})
    outcome = fence_node(config, "n1", "off")
    assert not outcome.confirmed and "is not a directory" in outcome.detail
