"""Test helpers for the fs agent: loop devices, and running a test in a private mount namespace."""

from __future__ import annotations

import ctypes
import os
import select
import subprocess
import traceback
from collections.abc import Callable
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
CHILD_BUDGET = 120.0


def _private_mounts() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making / private failed")


def in_private_mount_namespace(body: Callable[[], None]) -> None:
    """Run ``body`` in a forked child with its own mount namespace; re-raise its failure.

    Every mount the body makes dies with the child, so nothing can leak to the host.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        status = 0
        try:
            _private_mounts()
            body()
        except BaseException:  # noqa: BLE001 - reported to the parent
            os.write(write_fd, traceback.format_exc().encode())
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    report = bytearray()
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], CHILD_BUDGET)
        if not ready:
            os.kill(pid, 9)
        _, wait_status = os.waitpid(pid, 0)
        while chunk := os.read(read_fd, 65536):
            report.extend(chunk)
    finally:
        os.close(pidfd)
        os.close(read_fd)
    if not ready:
        raise AssertionError(f"test body did not end within {CHILD_BUDGET} s")
    if os.waitstatus_to_exitcode(wait_status) != 0:
        raise AssertionError("test body failed in its mount namespace:\n" + report.decode())


def make_loop_device(image: Path, label: str, size_mb: int = 32) -> str:
    """An ext4 file system in ``image``, attached to a free loop device; returns the device."""
    subprocess.run(["truncate", "-s", f"{size_mb}M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", label, str(image)], check=True)
    proc = subprocess.run(
        ["losetup", "-f", "--show", str(image)], check=True, capture_output=True, text=True
    )
    return proc.stdout.strip()


def detach_loop_device(device: str) -> None:
    subprocess.run(["losetup", "-d", device], check=False, capture_output=True)
