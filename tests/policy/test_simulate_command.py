"""`hacore simulate` as a user runs it: the real CLI in a subprocess, the example config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hacore.policy import snapshot_to_dict
from hacore.policy.simulation import Simulation, StepResult

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.toml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hacore.cli.main", "simulate", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_json_output_has_exactly_the_documented_shape() -> None:
    """--json prints placement, state and one entry per step with action/service/node/reason."""
    done = run("--config", str(EXAMPLE), "--step", "fail:n1", "--step", "svc-fail:web", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"placement", "state", "steps"}
    assert out["placement"] == {"web": "n3"} and out["state"] == {"web": "started"}
    assert [s["step"] for s in out["steps"]] == ["fail:n1", "svc-fail:web"]
    first = out["steps"][0]["actions"]
    assert [(a["action"], a["node"]) for a in first] == [("fence", "n1"), ("start", "n2")]
    assert all(set(a) == {"action", "service", "node", "reason"} for a in first)
    assert "n1 left the membership and was fenced" in first[1]["reason"]


def test_text_output_reads_before_actions_after() -> None:
    """The prose shows the cluster before, each action with its reason, and after."""
    done = run("--config", str(EXAMPLE), "--step", "fail:n1")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.index("Before:") < text.index("- fence n1:") < text.index("After:")
    assert "web  started          on n2" in text


def test_unknown_node_exits_2_with_the_reason() -> None:
    """A step naming an unknown node exits 2 and lists the nodes, with no traceback."""
    done = run("--config", str(EXAMPLE), "--step", "fail:n9")
    assert done.returncode == 2
    assert "no node named 'n9' (nodes: n1, n2, n3)" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_step_kind_exits_2() -> None:
    """An unknown step kind exits 2 and lists the valid ones."""
    done = run("--config", str(EXAMPLE), "--step", "explode:n1")
    assert done.returncode == 2 and "unknown kind 'explode'" in done.stderr


def test_live_is_not_available_yet() -> None:
    """--live says it needs the daemon and exits 2."""
    done = run("--config", str(EXAMPLE), "--live")
    assert done.returncode == 2 and "not available until the daemon exists" in done.stderr


def test_refused_request_is_shown_and_run_goes_on() -> None:
    """A refused relocation appears as a 'refuse' action with the reason; later steps run."""
    done = run("--config", str(EXAMPLE), "--step", "fail:n3", "--step", "relocate:web:n3",
               "--step", "svc-fail:web", "--json")
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["steps"]
    assert steps[1]["actions"][0]["action"] == "refuse"
    assert "not a member" in steps[1]["actions"][0]["reason"]
    assert json.loads(done.stdout)["placement"] == {"web": "n2"}


def test_starts_from_a_saved_state(tmp_path: Path) -> None:
    """--state FILE starts from that snapshot: web already on n2 stays there."""
    from hacore.config import load_config

    config = load_config(EXAMPLE)
    sim = Simulation(config)
    sim.settle(StepResult("place"))
    sim.step("relocate:web:n2")
    state = tmp_path / "state.json"
    state.write_text(json.dumps(snapshot_to_dict(sim.snap)))
    done = run("--config", str(EXAMPLE), "--state", str(state), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["placement"] == {"web": "n2"}


def test_bad_state_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    """A state file that is not JSON exits 2 with its name and line."""
    state = tmp_path / "state.json"
    state.write_text("{not json")
    done = run("--config", str(EXAMPLE), "--state", str(state))
    assert done.returncode == 2
    assert f"--state {state}: line 1: not valid JSON" in done.stderr


def test_output_does_not_depend_on_hash_seed() -> None:
    """Two processes with different PYTHONHASHSEED print byte-identical decisions."""
    import os

    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run(
            [sys.executable, "-m", "hacore.cli.main", "simulate", "--config", str(EXAMPLE),
             "--step", "fail:n2", "--step", "join:n2", "--step", "svc-fail:web", "--json"],
            capture_output=True, text=True, timeout=120, check=False, env=env)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
