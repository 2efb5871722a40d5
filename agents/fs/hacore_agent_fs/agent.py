"""Mount, check and unmount one file system; parameters as rgmanager's fs resource."""

from __future__ import annotations

import os
import socket
import subprocess
from typing import ClassVar

from hacore.agent import OCF, Agent, AgentFailure, Param, Result
from hacore_agent_fs.holders import end_holders, holders_of
from hacore_agent_fs.mounts import (
    TAG_DIRS,
    Mount,
    detect_fstype,
    device_number,
    mount_at,
    resolve_device,
)

UMOUNT_TRIES = 3


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise AgentFailure(OCF.ERR_INSTALLED, f"{argv[0]} is not installed") from None
    text = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return proc.returncode, (text[-1] if text else "")


def _listing(holders: list, limit: int = 5) -> str:
    shown = ", ".join(str(h) for h in holders[:limit])
    more = len(holders) - limit
    return shown + (f" and {more} more" if more > 0 else "")


class FileSystem(Agent):
    """A block device's file system mounted at a mountpoint on one node at a time."""

    name = "fs"
    shortdesc = "A local file system on a block device, mounted on one node at a time"
    longdesc = (
        "Mounts DEVICE (a path, LABEL=... or UUID=...) at MOUNTPOINT. The file system type is "
        "detected with blkid when fstype is empty. Stop unmounts; when the mount is busy it "
        "fails and names the processes using it, unless force_unmount is set: then exactly "
        "those processes (cwd, root, open files or memory maps on this file system under the "
        "mountpoint) get SIGTERM, and SIGKILL after 5 s. Monitor at depth 0 reads "
        "/proc/self/mountinfo; at depth 10 it also writes, reads back and removes a test file "
        "unless quick_status is set."
    )
    parameters = (
        Param(
            "device",
            "Block device: a path, LABEL=... or UUID=...",
            required=True,
            unique_group="device",
        ),
        Param(
            "mountpoint",
            "Absolute directory to mount on (created when missing)",
            required=True,
            unique_group="mountpoint",
        ),
        Param("fstype", "File system type; detected with blkid when empty", default=""),
        Param("options", "Mount options, as for mount -o", default=""),
        Param(
            "force_unmount",
            "On stop, end the processes using the mount",
            type="boolean",
            default=False,
        ),
        Param("force_fsck", "Run fsck -p before mounting", type="boolean", default=False),
        Param(
            "quick_status",
            "Skip the write/read test of monitor depth 10",
            type="boolean",
            default=False,
        ),
    )
    timeouts: ClassVar[dict[str, float]] = {
        "start": 60.0,
        "stop": 30.0,
        "monitor": 30.0,
        "validate": 10.0,
    }
    monitor_interval = 60.0
    monitor_depths = (0, 10)

    @property
    def mountpoint(self) -> str:
        point = self.params["mountpoint"]
        if not os.path.isabs(point) or point.rstrip("/") == "":
            raise AgentFailure(
                OCF.ERR_CONFIGURED, f"mountpoint={point!r} must be an absolute path other than /"
            )
        return os.path.realpath(point)

    def _device(self) -> str:
        return resolve_device(self.params["device"])

    def _state(self) -> tuple[str, Mount | None]:
        """The device node and the mount now at the mountpoint; AgentFailure if it is another's."""
        node = self._device()
        mount = mount_at(self.mountpoint)
        if mount is not None and mount.dev != device_number(node):
            raise AgentFailure(
                OCF.ERR_GENERIC,
                f"{self.mountpoint} has {mount.source} ({mount.fstype}) mounted, "
                f"not {self.params['device']}",
            )
        return node, mount

    def validate(self) -> Result:
        _ = self.mountpoint
        spec = self.params["device"]
        if self.context.depth < 10:
            if not spec.startswith("/") and spec.partition("=")[0].upper() not in TAG_DIRS:
                return Result.error(
                    OCF.ERR_CONFIGURED,
                    f"device={spec!r} is neither a path nor LABEL=... or UUID=...",
                )
            return Result.ok()
        node = self._device()
        if not self.params["fstype"] and not detect_fstype(node):
            return Result.error(
                OCF.ERR_ARGS, f"blkid finds no file system on {node}; set fstype= or make one"
            )
        return Result.ok()

    def start(self) -> Result:
        node, mount = self._state()
        if mount is not None:
            return Result.ok(f"{node} is already mounted at {self.mountpoint}")
        fstype = self.params["fstype"] or detect_fstype(node)
        if not fstype:
            raise AgentFailure(
                OCF.ERR_ARGS,
                f"blkid finds no file system on {node}; set fstype= or make one (e.g. mkfs.ext4)",
            )
        if self.params["force_fsck"]:
            status, said = _run(["fsck", "-p", "-t", fstype, node])
            if status >= 4:
                raise AgentFailure(
                    OCF.ERR_GENERIC,
                    f"fsck -p of {node} exited {status}: {said}; repair it by hand (fsck -f)",
                )
        try:
            os.makedirs(self.mountpoint, exist_ok=True)
        except OSError as exc:
            raise AgentFailure(
                OCF.ERR_GENERIC, f"cannot create mountpoint {self.mountpoint}: {exc.strerror}"
            ) from None
        argv = ["mount", "-t", fstype]
        if self.params["options"]:
            argv += ["-o", self.params["options"]]
        status, said = _run(argv + [node, self.mountpoint])
        if status != 0:
            raise AgentFailure(
                OCF.ERR_GENERIC, f"mount of {node} ({fstype}) at {self.mountpoint} failed: {said}"
            )
        if mount_at(self.mountpoint) is None:
            raise AgentFailure(
                OCF.ERR_GENERIC,
                f"mount of {node} reported success but {self.mountpoint} is not in mountinfo",
            )
        return Result.ok()

    def stop(self) -> Result:
        point = self.mountpoint
        mount = mount_at(point)
        if mount is None:
            return Result.ok()
        try:
            node = self._device()
            ours = mount.dev == device_number(node)
        except AgentFailure:
            # the device node is gone (a pulled disk): the mount is ours if it names it
            ours = mount.source == self.params["device"]
        if not ours:
            raise AgentFailure(
                OCF.ERR_GENERIC,
                f"{point} has {mount.source} ({mount.fstype}) mounted, not "
                f"{self.params['device']}; not unmounting it",
            )
        said = ""
        for _attempt in range(UMOUNT_TRIES):
            status, said = _run(["umount", point])
            if status == 0 or mount_at(point) is None:
                return Result.ok()
            users = holders_of(mount.dev, point)
            if not users:
                continue
            if not self.params["force_unmount"]:
                raise AgentFailure(
                    OCF.ERR_GENERIC,
                    f"{point} is busy, used by {_listing(users)}; stop them or set force_unmount=1",
                )
            _signalled, left = end_holders(mount.dev, point)
            if left:
                raise AgentFailure(
                    OCF.ERR_GENERIC,
                    f"{point} is still used after SIGTERM and SIGKILL by {_listing(left)}",
                )
        raise AgentFailure(OCF.ERR_GENERIC, f"umount {point} failed: {said}")

    def monitor(self) -> Result:
        point = self.mountpoint
        mount = mount_at(point)
        if mount is None:
            return Result.not_running(f"nothing is mounted at {point}")
        try:
            node = self._device()
        except AgentFailure as exc:
            raise AgentFailure(OCF.ERR_GENERIC, f"{point} is mounted but {exc.reason}") from None
        if mount.dev != device_number(node):
            raise AgentFailure(
                OCF.ERR_GENERIC,
                f"{point} has {mount.source} ({mount.fstype}) mounted, not {self.params['device']}",
            )
        if self.context.depth >= 10 and not self.params["quick_status"]:
            self._write_read_test()
        return Result.ok()

    def _write_read_test(self) -> None:
        path = os.path.join(
            self.mountpoint, f".hacore-fs-check.{socket.gethostname()}.{os.getpid()}"
        )
        data = os.urandom(64)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            with open(path, "rb") as handle:
                back = handle.read()
        except OSError as exc:
            raise AgentFailure(
                OCF.ERR_GENERIC, f"write test in {self.mountpoint} failed: {exc.strerror}"
            ) from None
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        if back != data:
            raise AgentFailure(
                OCF.ERR_GENERIC, f"write test in {self.mountpoint} read back different bytes"
            )
