"""Debian's fence_dummy through hacore's wrapper: the stdin protocol and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hacore.config.model import FenceDevice, FenceDeviceRef
from hacore.fencing import describe_fence_agent, fence_node
from hacore.fencing.catalog import resolve_fence_agent
from hacore.fencing.device import build_call, call_device

from .helpers import one_node

pytestmark = pytest.mark.skipif(shutil.which("fence_dummy") is None
                                and not Path("/usr/sbin/fence_dummy").exists(),
                                reason="fence-agents (fence_dummy) is not installed")


def _call(tmp_path: Path, action: str, **params: str):
    device = FenceDevice("dummy", "fence_dummy", {"status_file": str(tmp_path / "power"), **params})
    return call_device(build_call(device, FenceDeviceRef("dummy"), "n1", 30.0), action)


def test_status_of_a_missing_status_file_is_off(tmp_path: Path) -> None:
    """status exits 2 for a missing status file: the device answered 'off', which is ok."""
    reply = _call(tmp_path, "status")
    assert reply.ok and reply.power == "off" and reply.exit_status == 2
    assert reply.message == "Status: OFF"
    assert not reply.fenced  # a status reply never counts as fenced


def test_on_then_status_on_then_off_then_status_off(tmp_path: Path) -> None:
    """on writes 'on' to the status file and status follows it; off turns it back."""
    on = _call(tmp_path, "on")
    assert on.ok and not on.fenced and on.message == "Success: Powered ON"
    assert (tmp_path / "power").read_text().strip() == "on"
    assert _call(tmp_path, "status").power == "on"
    off = _call(tmp_path, "off")
    assert off.ok and off.fenced and off.exit_status == 0
    assert _call(tmp_path, "status").power == "off"


def test_reboot_succeeds_and_counts_as_fenced(tmp_path: Path) -> None:
    """reboot exits 0 with 'Success: Rebooted', which fences."""
    reply = _call(tmp_path, "reboot")
    assert reply.ok and reply.fenced and reply.message == "Success: Rebooted"


def test_monitor_succeeds_and_list_is_unsupported(tmp_path: Path) -> None:
    """monitor exits 0; list is not implemented by fence_dummy and fails (exit 1)."""
    assert _call(tmp_path, "monitor").ok
    listed = _call(tmp_path, "list")
    assert not listed.ok and listed.exit_status == 1


def test_type_fail_fails_every_retry(tmp_path: Path) -> None:
    """type=fail exits 1 on off; the wrapper retries once (default) and reports the agent's line."""
    reply = _call(tmp_path, "off", type="fail", power_timeout="1")
    assert not reply.ok and not reply.fenced and reply.exit_status == 1
    assert reply.attempts == 2
    assert "Timed out waiting to power OFF" in reply.message


def test_metadata_is_parsed_from_the_fence_agents_format() -> None:
    """fence_dummy's metadata lists its parameters (status_file, type) and actions."""
    info = describe_fence_agent("fence_dummy")
    assert info.name == "fence_dummy"
    assert info.parameter("status_file").default == "/tmp/fence_dummy.status"
    assert info.parameter("action").required
    assert info.parameter("debug").deprecated and info.parameter("debug_file").obsoletes == "debug"
    assert {"on", "off", "reboot", "status", "monitor", "metadata"} <= set(info.actions)
    assert resolve_fence_agent("fence_dummy").kind == "script"


def test_fence_node_with_fence_dummy_is_confirmed(tmp_path: Path) -> None:
    """A node whose one method is fence_dummy is confirmed fenced by off, with the device named."""
    config = one_node([[("dummy", {})]],
                      {"dummy": ("fence_dummy", {"status_file": str(tmp_path / "p")})})
    outcome = fence_node(config, "n1", "off")
    assert outcome.confirmed and outcome.method == "m1"
    assert [d.device for d in outcome.devices] == ["dummy"]
    assert "device dummy" in outcome.detail
