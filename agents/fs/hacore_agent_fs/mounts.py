"""Block devices by path, LABEL= or UUID=, and what /proc/self/mountinfo says is mounted."""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass

from hacore.agent import OCF, AgentFailure

MOUNTINFO = "/proc/self/mountinfo"
TAG_DIRS = {
    "LABEL": "/dev/disk/by-label",
    "UUID": "/dev/disk/by-uuid",
    "PARTLABEL": "/dev/disk/by-partlabel",
    "PARTUUID": "/dev/disk/by-partuuid",
}


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: which file system (st_dev), where, of what type, from what."""

    dev: int
    root: str
    mountpoint: str
    fstype: str
    source: str
    options: str


def _unescape(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    out, i = [], 0
    while i < len(text):
        code = text[i + 1 : i + 4]
        if text[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def read_mounts(path: str = MOUNTINFO) -> list[Mount]:
    """Every mount of this process's mount namespace, in mount order."""
    mounts = []
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) < 6 or len(tail) < 2:
                continue
            major, minor = (int(x) for x in fields[2].split(":"))
            mounts.append(
                Mount(
                    os.makedev(major, minor),
                    _unescape(fields[3]),
                    _unescape(fields[4]),
                    tail[0],
                    _unescape(tail[1]),
                    fields[5],
                )
            )
    return mounts


def mount_at(mountpoint: str) -> Mount | None:
    """The mount on top at ``mountpoint`` (the last one mounted there), or None."""
    found = None
    for mount in read_mounts():
        if mount.mountpoint == mountpoint:
            found = mount
    return found


def resolve_device(spec: str) -> str:
    """The device node a ``device=`` value names; AgentFailure when there is none here."""
    key, sep, value = spec.partition("=")
    if sep and key.upper() in TAG_DIRS:
        if not value:
            raise AgentFailure(OCF.ERR_CONFIGURED, f"device={spec!r} names no {key.upper()}")
        by_link = os.path.join(TAG_DIRS[key.upper()], value)
        if os.path.exists(by_link):
            return os.path.realpath(by_link)
        found = _blkid(["-l", "-o", "device", "-t", f"{key.upper()}={value}"])
        if not found:
            raise AgentFailure(
                OCF.ERR_INSTALLED,
                f"no block device with {key.upper()}={value} on this host "
                "(blkid finds none; is the disk attached?)",
            )
        return found.splitlines()[0]
    if not spec.startswith("/"):
        raise AgentFailure(
            OCF.ERR_CONFIGURED, f"device={spec!r} is neither a path nor LABEL=... or UUID=..."
        )
    try:
        mode = os.stat(spec).st_mode
    except FileNotFoundError:
        raise AgentFailure(
            OCF.ERR_INSTALLED, f"device {spec} does not exist on this host (is the disk attached?)"
        ) from None
    except OSError as exc:
        raise AgentFailure(
            OCF.ERR_INSTALLED, f"device {spec} cannot be read: {exc.strerror}"
        ) from None
    if not stat.S_ISBLK(mode):
        raise AgentFailure(OCF.ERR_CONFIGURED, f"device {spec} is not a block device")
    return os.path.realpath(spec)


def device_number(node: str) -> int:
    """The st_rdev of a device node: what mountinfo shows for a file system on it."""
    return os.stat(node).st_rdev


def detect_fstype(node: str) -> str:
    """The file system type blkid finds on a device, or '' when it finds none."""
    return _blkid(["-o", "value", "-s", "TYPE", node]).strip()


def _blkid(args: list[str]) -> str:
    try:
        proc = subprocess.run(
            ["blkid", "-c", "/dev/null", *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise AgentFailure(
            OCF.ERR_INSTALLED, "blkid is not installed (Debian package util-linux)"
        ) from None
    return proc.stdout.strip() if proc.returncode == 0 else ""
