"""Named policy scenarios: each file's steps replayed, checked against its expectations and
its golden prose summary. HACORE_UPDATE_GOLDEN=1 rewrites the goldens (review the diff)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from hacore.policy.narrative import render_session
from hacore.policy.simulation import Simulation, StepResult
from hacore.policy.snapshot import initial_snapshot

from .compact import build_config

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.glob("*.toml"))
UPDATE = os.environ.get("HACORE_UPDATE_GOLDEN") == "1"


def run_scenario(path: Path) -> tuple[str, Simulation, list[StepResult]]:
    """Replay a scenario; return its prose summary, the final simulation and step results."""
    data = tomllib.loads(path.read_text())
    config = build_config(data, base=path.parent)
    members = data.get("start_members")
    sim = Simulation(config, initial_snapshot(config, members) if members else None)
    before = sim.snap
    placing = StepResult("place")
    sim.settle(placing)
    results = [sim.step(step) for step in data.get("steps", [])]
    text = render_session(config, before, placing, results, sim.snap, from_state=False,
                          now=sim.now)
    header = "".join(f"# {line}\n" for line in data["description"].strip().splitlines())
    return header + "\n" + text, sim, results


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    """The scenario ends as its [expect] table says and reads as its golden summary."""
    data = tomllib.loads(path.read_text())
    text, sim, _results = run_scenario(path)
    for service, want in data.get("expect", {}).items():
        st = sim.snap.status(service)
        got = st.state + (f"@{st.owner}" if st.owner and st.state == "started" else "")
        assert got == want, f"{path.stem}: {service} is {got}, expected {want}\n{text}"
    for needle in data.get("expect_text", []):
        assert needle in text, f"{path.stem}: expected {needle!r} in the summary\n{text}"
    golden = path.with_suffix(".golden")
    if UPDATE:
        golden.write_text(text)
    assert golden.exists(), f"{golden.name} is missing: run with HACORE_UPDATE_GOLDEN=1"
    assert text == golden.read_text(), f"{path.stem}: summary differs from {golden.name}"


def test_there_are_many_scenarios() -> None:
    """The scenario set covers the rules (at least 30 named scenarios)."""
    assert len(SCENARIOS) >= 30
