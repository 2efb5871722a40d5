"""The duplicate-address probe's timing, with and without the daemon's fenced hint."""

from __future__ import annotations

from hacore_agent_ip.agent import PREVIOUS_HOLDER_FENCED, probe_timing


def test_probe_is_short_only_when_the_previous_holder_is_fenced():
    """The daemon's fenced hint shortens the duplicate probe to one probe and 25 ms; without
    it the probe sends two and listens 0.2 s in all."""
    assert probe_timing({}) == (2, 0.05, 0.15)
    assert probe_timing({PREVIOUS_HOLDER_FENCED: ""}) == (2, 0.05, 0.15)
    assert probe_timing({PREVIOUS_HOLDER_FENCED: "n1"}) == (1, 0.05, 0.025)


def test_probe_is_short_when_the_previous_holder_stopped_it():
    """On a move whose previous holder reported its stop succeeded (the daemon's stopped
    hint), the probe is as short as after a fence."""
    from hacore_agent_ip.agent import PREVIOUS_HOLDER_STOPPED

    assert probe_timing({PREVIOUS_HOLDER_STOPPED: "n1"}) == (1, 0.05, 0.025)
    assert probe_timing({PREVIOUS_HOLDER_STOPPED: ""}) == (2, 0.05, 0.15)
