"""Fence-agents meta-data: parsing, rendering for native fencers, device parameter checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from hacore.config import load_config
from hacore.fencing import fence_parameter_problems, parse_fence_metadata
from hacore.fencing.metadata import (
    FenceAgentInfo,
    FenceMetadataError,
    FenceParameter,
    render_fence_metadata,
)

from .helpers import one_node

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.toml"

SAMPLE = """<?xml version="1.0" ?>
<resource-agent name="fence_x" shortdesc="X power switch">
<longdesc>Drives X.</longdesc>
<parameters>
  <parameter name="action" unique="0" required="1"><content type="string" default="reboot"/></parameter>
  <parameter name="ip" unique="0" required="1"><content type="string"/>
    <shortdesc lang="en">Address</shortdesc></parameter>
  <parameter name="plug" unique="0" required="1" obsoletes="port"><content type="string"/></parameter>
  <parameter name="port" unique="0" required="1" deprecated="1"><content type="string"/></parameter>
  <parameter name="lanplus" unique="0" required="0"><content type="boolean"/></parameter>
  <parameter name="delay" unique="0" required="0"><content type="second" default="0"/></parameter>
  <parameter name="method" unique="0" required="0"><content type="select" default="onoff">
    <option value="onoff"/><option value="cycle"/></content></parameter>
</parameters>
<actions><action name="on" automatic="0"/><action name="off"/><action name="status"/></actions>
</resource-agent>"""


def _info() -> FenceAgentInfo:
    return parse_fence_metadata(SAMPLE, origin="test")


def test_parameters_types_defaults_and_aliases_are_read() -> None:
    """Each parameter's required flag, type, default, options, deprecated/obsoletes are kept."""
    info = _info()
    assert info.name == "fence_x" and info.shortdesc == "X power switch"
    assert info.actions == ("on", "off", "status")
    assert info.parameter("ip").required and info.parameter("ip").shortdesc == "Address"
    assert info.parameter("plug").obsoletes == "port" and info.parameter("port").deprecated
    assert info.parameter("delay").type == "second" and info.parameter("delay").default == "0"
    assert info.parameter("method").options == ("onoff", "cycle")


@pytest.mark.parametrize("text,words", [
    ("", "empty"),
    ("<resource-agent", "not valid XML"),
    ("<resource-agent-api/>", "root element"),
    ('<!DOCTYPE x [<!ENTITY e "boom">]><resource-agent name="x">&e;</resource-agent>',
     "not valid XML"),
])
def test_bad_metadata_is_refused_with_a_reason(text: str, words: str) -> None:
    """Empty, broken, wrong-root and entity-laden meta-data raise FenceMetadataError."""
    with pytest.raises(FenceMetadataError, match=words):
        parse_fence_metadata(text, origin="x")


def test_rendered_metadata_parses_back_to_the_same_info() -> None:
    """render_fence_metadata produces XML that parses back to an equal description."""
    info = FenceAgentInfo("power-x", "A <switch> & co", "Long.", (
        FenceParameter("action", True, default="reboot"),
        FenceParameter("ip", True, shortdesc="Address"),
        FenceParameter("mode", False, "select", "a", options=("a", "b")),
        FenceParameter("port", False, deprecated=True), FenceParameter("plug", obsoletes="port"),
    ), ("on", "off", "status"))
    again = parse_fence_metadata(render_fence_metadata(info))
    assert again == info


def _fake(name: str) -> list[FenceParameter]:
    if name != "fence_x":
        from hacore.errors import AgentNotFound
        raise AgentNotFound(f"no fence agent named {name!r}")
    return list(_info().parameters)


def test_device_parameters_are_checked_against_metadata() -> None:
    """Unknown names, mistyped values, 'action', and missing required parameters are reported
    with the config path of the device or of the node's use of it."""
    config = one_node([[("x", {"port": "1", "delay": "soon"})], [("x", {})]],
                      {"x": ("fence_x", {"ip": "10.0.0.9", "lanplus": "maybe", "bogus": "1",
                                         "action": "off", "method": "cycle"})})
    problems = dict(fence_parameter_problems(config, _fake))
    assert "has no parameter 'bogus'" in problems[("fence_devices", "x", "params", "bogus")]
    assert "true or false" in problems[("fence_devices", "x", "params", "lanplus")]
    assert "chosen by hacore" in problems[("fence_devices", "x", "params", "action")]
    assert "number of seconds" in problems[("nodes", 0, "fence", 0, "devices", 0, "delay")]
    # method 2 uses the device without a plug: 'plug' (or its alias 'port') is required
    assert "requires parameter 'plug'" in problems[("nodes", 0, "fence", 1, "devices", 0)]
    assert len(problems) == 5


def test_unknown_fence_agent_is_reported_on_the_agent_key() -> None:
    """A device whose agent cannot be found gets one problem on its agent key."""
    config = one_node([[("y", {})]], {"y": ("fence_nothing", {})})
    problems = fence_parameter_problems(config, _fake)
    assert problems == [(("fence_devices", "y", "agent"),
                         ("fence agent 'fence_nothing' is not usable here: no fence agent "
                         "named 'fence_nothing'"))]


def test_example_config_passes_with_the_real_testbed_agent() -> None:
    """examples/cluster.toml's testbed device and per-node ports fit fence_hacore_testbed."""
    assert fence_parameter_problems(load_config(EXAMPLE)) == []


def test_port_satisfies_a_required_plug_and_hacore_params_are_known() -> None:
    """port stands for the required plug; hacore_timeout/hacore_retries are accepted."""
    config = one_node([[("x", {"port": "3", "hacore_timeout": "5"})]],
                      {"x": ("fence_x", {"ip": "h", "hacore_retries": "2"})})
    from hacore.fencing.catalog import HACORE_DEVICE_PARAMS

    assert fence_parameter_problems(
        config, lambda a: _fake(a) + list(HACORE_DEVICE_PARAMS)) == []
