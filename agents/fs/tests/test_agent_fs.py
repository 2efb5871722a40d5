"""The fs agent on ext4 in a loop device, every mount made in a private mount namespace."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from fs_namespace import detach_loop_device, in_private_mount_namespace, make_loop_device

from hacore.agent import OCF
from hacore.executor import OperationRequest, run_operation


def op(action: str, params: dict[str, str], depth: int = 0, interval: float = 0.0):
    return run_operation(
        OperationRequest(
            "fs", action, "test-fs", params=params, timeout=40.0, depth=depth, interval=interval
        )
    )


def mounted_at(point: str) -> bool:
    with open("/proc/self/mountinfo") as handle:
        return any(line.split()[4] == point for line in handle)


@pytest.fixture
def loop_device(tmp_path: Path):
    label = f"hct{os.getpid() % 100000}"
    device = make_loop_device(tmp_path / "disk.img", label)
    try:
        yield device, label
    finally:
        detach_loop_device(device)


def test_mount_monitor_unmount_cycle(loop_device, tmp_path):
    """start by LABEL= (type detected, fsck'd) mounts; monitor 0 and 10 pass; stop unmounts."""
    _device, label = loop_device
    point = str(tmp_path / "mnt")
    params = {"device": f"LABEL={label}", "mountpoint": point, "force_fsck": "yes"}

    def body() -> None:
        assert op("monitor", params).code == OCF.NOT_RUNNING
        result = op("start", params)
        assert result.code == OCF.SUCCESS, result.reason
        assert mounted_at(point)
        assert op("start", params).code == OCF.SUCCESS
        assert op("monitor", params, interval=60).code == OCF.SUCCESS
        assert op("monitor", params, depth=10, interval=60).code == OCF.SUCCESS
        assert os.listdir(point) == ["lost+found"]  # the test file is removed
        assert op("stop", params).code == OCF.SUCCESS
        assert not mounted_at(point)
        assert op("monitor", params).code == OCF.NOT_RUNNING
        assert op("stop", params).code == OCF.SUCCESS

    in_private_mount_namespace(body)
    assert not mounted_at(point)


def test_busy_mount_plain_stop_fails_force_unmount_ends_only_users(loop_device, tmp_path):
    """A held file blocks plain stop; force_unmount ends its users, not those of a bind mount."""
    device, _ = loop_device
    point = str(tmp_path / "mnt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    params = {"device": device, "mountpoint": point, "fstype": "ext4"}

    def body() -> None:
        assert op("start", params).code == OCF.SUCCESS
        Path(point, "data").write_text("x")
        Path(point, "shared").mkdir()
        # the same file system bind-mounted outside the mountpoint: same device, other mount
        subprocess.run(["mount", "--bind", f"{point}/shared", str(elsewhere)], check=True)
        with open(Path(point, "data")) as held, open(elsewhere / "f", "w") as other:
            holder = subprocess.Popen(["sleep", "300"], stdin=held)
            in_cwd = subprocess.Popen(["sleep", "300"], cwd=point)
            bystander = subprocess.Popen(["sleep", "300"], stdin=other, cwd=str(elsewhere))
        try:
            result = op("stop", params)
            assert result.code == OCF.ERR_GENERIC
            assert f"pid {holder.pid}" in result.reason and "force_unmount" in result.reason
            assert mounted_at(point)
            result = op("stop", {**params, "force_unmount": "1"})
            assert result.code == OCF.SUCCESS, result.reason
            assert not mounted_at(point)
            assert holder.wait(timeout=30) == -15 and in_cwd.wait(timeout=30) == -15
            time.sleep(0.2)
            assert bystander.poll() is None
        finally:
            for proc in (holder, in_cwd, bystander):
                proc.kill()
                proc.wait(timeout=30)

    in_private_mount_namespace(body)


def test_read_only_mount_fails_deep_monitor_unless_quick(loop_device, tmp_path):
    """With options=ro the depth-10 write test fails with the reason; quick_status skips it."""
    device, _ = loop_device
    point = str(tmp_path / "mnt")
    params = {"device": device, "mountpoint": point, "options": "ro"}

    def body() -> None:
        assert op("start", params).code == OCF.SUCCESS
        result = op("monitor", params, depth=10, interval=30)
        assert result.code == OCF.ERR_GENERIC and "Read-only" in result.reason
        assert op("monitor", {**params, "quick_status": "1"}, depth=10).code == OCF.SUCCESS
        assert op("stop", params).code == OCF.SUCCESS

    in_private_mount_namespace(body)


def test_other_file_system_at_mountpoint_is_an_error(loop_device, tmp_path):
    """Something else mounted at the mountpoint: start, monitor and stop fail and name it."""
    device, _ = loop_device
    point = tmp_path / "mnt"
    point.mkdir()

    def body() -> None:
        subprocess.run(["mount", "-t", "tmpfs", "hacore-test-tmpfs", str(point)], check=True)
        params = {"device": device, "mountpoint": str(point)}
        for action in ("start", "monitor", "stop"):
            result = op(action, params)
            assert result.code == OCF.ERR_GENERIC
            assert "hacore-test-tmpfs" in result.reason
        assert mounted_at(str(point))  # stop never unmounts a file system that is not its own

    in_private_mount_namespace(body)


@pytest.mark.parametrize(
    "device",
    [
        "/dev/hacore-no-such-disk",
        "LABEL=hacore-no-such-label",
        "UUID=00000000-0000-4000-8000-00000000dead",
    ],
)
def test_missing_device_is_an_ocf_error_with_reason(tmp_path, device):
    """A device that is not here: start ERR_INSTALLED naming it; monitor and stop say stopped."""
    params = {"device": device, "mountpoint": str(tmp_path / "mnt")}
    result = op("start", params)
    assert result.code == OCF.ERR_INSTALLED
    assert device.split("=")[-1] in result.reason and "Traceback" not in result.reason
    assert op("monitor", params).code == OCF.NOT_RUNNING
    assert op("stop", params).code == OCF.SUCCESS


def test_bad_parameters_are_configuration_errors(tmp_path):
    """A relative mountpoint or a device that is no path or tag can never work."""
    assert op("validate", {"device": "/dev/x", "mountpoint": "mnt"}).code == OCF.ERR_CONFIGURED
    assert op("validate", {"device": "sda1", "mountpoint": "/mnt/x"}).code == OCF.ERR_CONFIGURED
    assert (
        op("start", {"device": "/dev/null", "mountpoint": str(tmp_path)}).code == OCF.ERR_CONFIGURED
    )


def test_passes_the_conformance_harness(loop_device, tmp_path):
    """The fs agent passes `hacore-agent test` on an ext4 loop device (private mounts)."""
    from hacore.harness import run_harness

    _device, label = loop_device
    params = {"device": f"LABEL={label}", "mountpoint": str(tmp_path / "mnt")}

    def body() -> None:
        report = run_harness("fs", params)
        assert report.passed, report.summary()

    in_private_mount_namespace(body)
