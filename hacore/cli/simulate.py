"""`hacore simulate`: show what the policy engine would do, step by step (like crm_simulate)."""

from __future__ import annotations

import json
import sys

import click

from hacore.cli.render import handled, print_json
from hacore.errors import InputError

STEP_HELP = """\b
Steps (repeat --step, applied in order):
  fail:NODE               NODE crashes (and is fenced if it has a fence method)
  join:NODE               NODE (re)joins with nothing running
  svc-fail:SVC[:RES]      SVC's monitor (or resource RES's) fails where it runs
  disable:SVC             enable:SVC[:NODE]      relocate:SVC[:NODE]
  restart:SVC             freeze:SVC             unfreeze:SVC
  standby:NODE            unstandby:NODE
  start-fails:SVC:NODE    stop-fails:SVC:NODE    fence-fails:NODE   (inject a failure)
  running:SVC:NODE        NODE reports SVC running (started by hand)
  wait:SECONDS            time passes
"""


def _load_state(path: str):  # type: ignore[no-untyped-def]
    from hacore.policy.snapshot import snapshot_from_dict

    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except OSError as exc:
        raise InputError(f"--state {path}: cannot read it: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"--state {path}: line {exc.lineno}: not valid JSON: {exc.msg}") from None
    try:
        return snapshot_from_dict(raw)
    except InputError as exc:
        raise InputError(f"--state {path}: {exc}") from None


@click.command(epilog=STEP_HELP)
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False),
              help="The cluster.toml to simulate.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False),
              help="Start from a saved snapshot (JSON) instead of an empty cluster.")
@click.option("--live", is_flag=True, help="Start from the running cluster's state.")
@click.option("--step", "steps", multiple=True, metavar="STEP",
              help="A step to apply, e.g. fail:n2 (repeatable; see below).")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"placement", "state", "steps": [{"step", "actions"}]}.')
@handled
def simulate(config_file: str, state_file: str | None, live: bool, steps: tuple[str, ...],
             as_json: bool) -> None:
    """Show what the policy engine would do, step by step.

    Starts from an empty cluster with every node up (or from --state), places the services,
    then applies each --step and prints every action with its reason.

    Example: hacore simulate --config cluster.toml --step fail:n1 --step join:n1
    """
    if state_file and live:
        raise InputError("--state and --live cannot be used together: choose one starting point")
    if live:
        raise InputError("--live is not available until the daemon exists; "
                         "use --state FILE with a saved snapshot")
    from hacore.config import load_config
    from hacore.policy.narrative import render_session
    from hacore.policy.simulation import Simulation, StepResult, parse_step

    config = load_config(config_file)
    for text in steps:
        parse_step(config, text)
    snapshot = _load_state(state_file) if state_file else None
    if snapshot is not None:
        for node in [*snapshot.members, *snapshot.lost]:
            if config.node(node) is None:
                raise InputError(f"--state {state_file}: node {node!r} is not a node of "
                                 f"{config_file}")
        for name in snapshot.services:
            if config.service(name) is None:
                raise InputError(f"--state {state_file}: service {name!r} is not a service "
                                 f"of {config_file}")
    sim = Simulation(config, snapshot)
    before = sim.snap
    placing = StepResult("place")
    sim.settle(placing)
    results = [sim.step(text) for text in steps]
    if as_json:
        after = sim.snap
        print_json({
            "placement": {s.name: (after.status(s.name).owner
                                   if after.status(s.name).state == "started" else None)
                          for s in config.services},
            "state": {s.name: after.status(s.name).state for s in config.services},
            "steps": [
                {"step": r.step,
                 "actions": ([{"action": "refuse", "service": r.step.split(":")[1],
                               "node": None, "reason": r.refused}] if r.refused else [])
                 + [a.to_dict() for a, _ in r.actions]}
                for r in results
            ],
        })
    else:
        sys.stdout.write(render_session(config, before, placing, results, sim.snap,
                                        from_state=snapshot is not None, now=sim.now))
