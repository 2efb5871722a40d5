"""Fence methods: tried in order, every device of a method must succeed, options merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from hacore.config.model import FenceDevice
from hacore.errors import InputError
from hacore.fencing import fence_node

from .helpers import one_node, read_log


def _devices(recorder: Path, log: Path, **modes: str) -> dict[str, tuple[str, dict]]:
    return {name: (str(recorder), {"log": str(log), "label": name, "mode": mode,
                                   "hacore_retries": "0"})
            for name, mode in modes.items()}


def test_failed_method_falls_through_to_the_next(recorder: Path, tmp_path: Path) -> None:
    """Method 1's device fails, method 2's succeeds: confirmed by method 2, both tried in order."""
    log = tmp_path / "log"
    config = one_node([[("ipmi", {})], [("pdu", {"port": "7"})]],
                      _devices(recorder, log, ipmi="fail", pdu="ok"))
    outcome = fence_node(config, "n1", "off")
    assert outcome.confirmed and outcome.method == "m2"
    assert read_log(log) == ["ipmi off n1 - -", "pdu off n1 7 -"]
    assert [(d.device, d.ok) for d in outcome.devices] == [("ipmi", False), ("pdu", True)]
    assert outcome.detail == "n1 fenced (powered off) by method m2, device pdu"


def test_all_methods_failing_is_reported_failed(recorder: Path, tmp_path: Path) -> None:
    """When every method fails the outcome is failed, names each method, and is not confirmed."""
    log = tmp_path / "log"
    config = one_node([[("a", {})], [("b", {})]], _devices(recorder, log, a="fail", b="fail"))
    outcome = fence_node(config, "n1", "reboot")
    assert not outcome.ok and not outcome.confirmed and outcome.method is None
    assert "every fence method failed" in outcome.detail
    assert "method m1: device a reboot: Failed: simulated failure" in outcome.detail
    assert "method m2: device b reboot" in outcome.detail
    assert read_log(log) == ["a reboot n1 - -", "b reboot n1 - -"]


def test_retries_call_a_failing_device_again(recorder: Path, tmp_path: Path) -> None:
    """hacore_retries=2 calls a failing device three times before the method fails."""
    log = tmp_path / "log"
    devices = _devices(recorder, log, a="fail")
    devices["a"][1]["hacore_retries"] = "2"
    outcome = fence_node(one_node([[("a", {})]], devices), "n1", "off")
    assert not outcome.confirmed and outcome.devices[0].attempts == 3
    assert len(read_log(log)) == 3


def test_dual_power_supplies_reboot_is_off_off_on_on(recorder: Path, tmp_path: Path) -> None:
    """A reboot through a method with two PDUs turns both off, then both on."""
    log = tmp_path / "log"
    config = one_node([[("pdu-a", {"port": "1"}), ("pdu-b", {"port": "2"})]],
                      _devices(recorder, log, **{"pdu-a": "ok", "pdu-b": "ok"}))
    outcome = fence_node(config, "n1", "reboot")
    assert outcome.confirmed and outcome.method == "m1"
    assert read_log(log) == ["pdu-a off n1 1 -", "pdu-b off n1 2 -",
                             "pdu-a on n1 1 -", "pdu-b on n1 2 -"]
    assert "device pdu-a, pdu-b" in outcome.detail


def test_dual_device_method_fails_if_one_device_fails(recorder: Path, tmp_path: Path) -> None:
    """If the second PDU cannot turn off, the method fails and nothing is turned on."""
    log = tmp_path / "log"
    config = one_node([[("pdu-a", {}), ("pdu-b", {})]],
                      _devices(recorder, log, **{"pdu-a": "ok", "pdu-b": "fail"}))
    outcome = fence_node(config, "n1", "reboot")
    assert not outcome.confirmed
    assert read_log(log) == ["pdu-a off n1 - -", "pdu-b off n1 - -"]


def test_status_never_counts_as_fenced(recorder: Path, tmp_path: Path) -> None:
    """status answering 'off' is ok and says off, but is not a confirmed fence."""
    log = tmp_path / "log"
    config = one_node([[("a", {}), ("b", {})]], _devices(recorder, log, a="off", b="off"))
    outcome = fence_node(config, "n1", "status")
    assert outcome.ok and outcome.power == "off" and not outcome.confirmed
    assert outcome.detail == "n1 is off (method m1, device a, b)"


def test_secret_file_is_read_at_fence_time(recorder: Path, tmp_path: Path) -> None:
    """A secret's file content is sent as the parameter; the outcome does not carry it."""
    log, secret = tmp_path / "log", tmp_path / "secret"
    secret.write_text("s3cret\n")
    config = one_node([[("a", {})]], _devices(recorder, log, a="ok"))
    dev = config.fence_devices[0]
    config = type(config)(**{**config.__dict__, "fence_devices": (
        FenceDevice(dev.name, dev.agent, dev.params, {"secret": str(secret)}),)})
    outcome = fence_node(config, "n1", "off")
    assert outcome.confirmed
    assert read_log(log) == ["a off n1 - s3cret"]
    assert "s3cret" not in str(outcome.to_dict())


def test_unreadable_secret_fails_the_method_with_a_reason(recorder: Path, tmp_path: Path) -> None:
    """A missing secret file fails that method, naming device, parameter and file."""
    log = tmp_path / "log"
    config = one_node([[("a", {})]], _devices(recorder, log, a="ok"))
    dev = config.fence_devices[0]
    config = type(config)(**{**config.__dict__, "fence_devices": (
        FenceDevice(dev.name, dev.agent, dev.params, {"secret": str(tmp_path / "none")}),)})
    outcome = fence_node(config, "n1", "off")
    assert not outcome.ok and read_log(log) == []
    assert "cannot read the secret file" in outcome.detail and "'secret'" in outcome.detail


def test_unknown_node_and_node_without_methods_are_input_errors(recorder: Path, tmp_path: Path
                                                                 ) -> None:
    """Fencing an unknown node or one without fence methods raises InputError (exit 2)."""
    config = one_node([[("a", {})]], _devices(recorder, tmp_path / "log", a="ok"))
    with pytest.raises(InputError, match="not in cluster"):
        fence_node(config, "n9")
    with pytest.raises(InputError, match="no fence methods"):
        fence_node(config, "n2")
    with pytest.raises(InputError, match="not one of"):
        fence_node(config, "n1", "explode")


def test_a_value_with_a_line_break_is_refused(recorder: Path, tmp_path: Path) -> None:
    """A parameter value with a newline (it would inject options) fails the device call."""
    log = tmp_path / "log"
    config = one_node([[("a", {"port": "1\naction=on"})]], _devices(recorder, log, a="ok"))
    outcome = fence_node(config, "n1", "off")
    assert not outcome.ok and read_log(log) == []
    assert "line break" in outcome.detail
