"""A daemon's reboot fence: off on every device confirms it and returns, powering on again
follows (fence_node's ``defer_on``, hacore.daemon.fencer.fence_serially)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from hacore.daemon.fencer import fence_serially
from hacore.fencing import fence_node
from hacore.fencing.catalog import resolve_fence_agent

from .helpers import one_node, read_log

WAIT_BUDGET = 30.0


def _devices(recorder: Path, log: Path, **modes: str) -> dict[str, tuple[str, dict]]:
    return {name: (str(recorder), {"log": str(log), "label": name, "mode": mode,
                                   "hacore_retries": "0"})
            for name, mode in modes.items()}


def _wait_for_lines(log: Path, count: int) -> list[str]:
    deadline = time.monotonic() + WAIT_BUDGET
    while len(read_log(log)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return read_log(log)


def test_reboot_with_defer_on_is_off_then_a_deferred_on(recorder: Path, tmp_path: Path) -> None:
    """With defer_on a one-device reboot runs the agent's off (not its reboot), is confirmed
    with only that call made, and hands over the on call, which runs when called."""
    log = tmp_path / "log"
    deferred = []
    config = one_node([[("ipmi", {})]], _devices(recorder, log, ipmi="ok"))
    outcome = fence_node(config, "n1", "reboot", defer_on=deferred.append)
    assert outcome.confirmed and outcome.method == "m1"
    assert read_log(log) == ["ipmi off n1 - -"]
    assert [d.action for d in outcome.devices] == ["off"]
    assert "powering on again follows" in outcome.detail
    assert len(deferred) == 1
    replies = deferred[0]()
    assert [(r.action, r.ok) for r in replies] == [("on", True)]
    assert read_log(log) == ["ipmi off n1 - -", "ipmi on n1 - -"]


def test_deferred_reboot_of_two_devices_turns_both_off_before_confirming(recorder: Path,
                                                                        tmp_path: Path) -> None:
    """Dual power supplies: both off, confirmed, then both on when the deferred step runs."""
    log = tmp_path / "log"
    deferred = []
    config = one_node([[("pdu-a", {"port": "1"}), ("pdu-b", {"port": "2"})]],
                      _devices(recorder, log, **{"pdu-a": "ok", "pdu-b": "ok"}))
    assert fence_node(config, "n1", "reboot", defer_on=deferred.append).confirmed
    assert read_log(log) == ["pdu-a off n1 1 -", "pdu-b off n1 2 -"]
    deferred[0]()
    assert read_log(log)[2:] == ["pdu-a on n1 1 -", "pdu-b on n1 2 -"]


def test_failed_off_is_not_confirmed_and_nothing_is_powered_on(recorder: Path,
                                                              tmp_path: Path) -> None:
    """An off that fails leaves the fence unconfirmed; no power-on is handed over or run,
    and the next method is tried as before."""
    log = tmp_path / "log"
    deferred = []
    config = one_node([[("a", {})], [("b", {})]], _devices(recorder, log, a="fail", b="fail"))
    outcome = fence_node(config, "n1", "reboot", defer_on=deferred.append)
    assert not outcome.confirmed and deferred == []
    assert read_log(log) == ["a off n1 - -", "b off n1 - -"]


def test_daemon_fence_confirms_on_off_and_powers_on_afterwards(recorder: Path,
                                                              tmp_path: Path) -> None:
    """fence_serially (the coordinator's fence) returns confirmed after the off; the on
    follows in the background; two fences in a row never interleave (off, on, off, on)."""
    log = tmp_path / "log"
    config = one_node([[("ipmi", {})]], _devices(recorder, log, ipmi="ok"))
    first = fence_serially(fence_node, config, "n1")
    assert first.confirmed and [d.action for d in first.devices] == ["off"]
    second = fence_serially(fence_node, config, "n1")
    assert second.confirmed
    assert _wait_for_lines(log, 4) == ["ipmi off n1 - -", "ipmi on n1 - -",
                                       "ipmi off n1 - -", "ipmi on n1 - -"]


def test_fence_agents_script_names_resolve_without_the_plugin_scan(monkeypatch) -> None:
    """A fence_* name (never a native fencer's) is found as a script without loading the
    fencer plugins, which a daemon's first fence would otherwise wait for."""
    from hacore.fencing import registry

    def no_scan():
        raise AssertionError("the plugin registry was loaded")

    monkeypatch.setattr(registry, "installed_fencers", no_scan)
    handle = resolve_fence_agent("fence_hacore_testbed")
    assert handle.kind == "script" and handle.argv[0].endswith("fence_hacore_testbed")


NICE_AGENT = r'''
import os, sys
opts = dict(line.split("=", 1) for line in sys.stdin.read().splitlines() if "=" in line)
with open(opts["log"], "a") as log:
    log.write(f"{opts['action']} {os.getpriority(os.PRIO_PROCESS, 0)}\n")
'''


def test_powering_on_again_runs_niced(tmp_path: Path) -> None:
    """The deferred power-on's agent runs at POWER_ON_NICE (the recovery beside it comes
    first); the fence's own off runs at the daemon's priority."""
    from hacore.daemon.fencer import POWER_ON_NICE

    agent = tmp_path / "fence_nice"
    agent.write_text(f"#!{sys.executable}\n{NICE_AGENT}")
    agent.chmod(0o755)
    log = tmp_path / "log"
    config = one_node([[("dev", {})]], {"dev": (str(agent), {"log": str(log)})})
    assert fence_serially(fence_node, config, "n1").confirmed
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert _wait_for_lines(log, 2) == [f"off {base}", f"on {min(19, base + POWER_ON_NICE)}"]
