"""OCF meta-data: generated from native agents, parsed from scripts, hostile XML refused."""

from typing import ClassVar

import pytest

from hacore.agent import Agent, Param, Result
from hacore.agent.metadata import MetadataError, native_metadata, parse_duration, parse_metadata


class Web(Agent):
    name = "web"
    shortdesc = "A web server"
    parameters = (Param("port", "TCP port", type="integer", default=80),
                  Param("root", "document root", required=True))
    timeouts: ClassVar[dict[str, float]] = {"start": 40}
    monitor_depths = (0, 10)

    def start(self):
        return Result.ok()

    def stop(self):
        return Result.ok()

    def monitor(self):
        return Result.not_running()


def test_native_metadata_round_trips():
    """Generated OCF 1.1 XML parses back into the same parameters and timeouts."""
    info = parse_metadata(native_metadata(Web), name="web", agent_class="native", origin="t")
    assert info.version == "1.1"
    assert [(p.name, p.type, p.required, p.default) for p in info.parameters] == [
        ("port", "integer", False, "80"), ("root", "string", True, None)]
    assert info.timeout("start") == 40 and info.timeout("stop") == 20
    assert sorted(a.depth for a in info.actions if a.name == "monitor") == [0, 10]


def test_durations():
    """OCF time values in s, ms and min are read as seconds."""
    assert [parse_duration(t) for t in ("20", "20s", "500ms", "2min")] == [20, 20, 0.5, 120]
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_entity_expansion_is_refused():
    """A billion-laughs meta-data document is refused, not expanded."""
    bomb = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><resource-agent name="x">&b;</resource-agent>')
    with pytest.raises(MetadataError, match="refused"):
        parse_metadata(bomb, name="x", agent_class="ocf", origin="t")


def test_broken_xml_names_the_agent():
    """Malformed meta-data gives an error naming the agent."""
    with pytest.raises(MetadataError, match="agent broken: meta-data is not well-formed"):
        parse_metadata("<resource-agent", name="broken", agent_class="ocf", origin="t")
