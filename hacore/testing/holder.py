"""The first process of a testbed node: makes the node's namespaces and holds them.

Run by the testbed as ``python -I -S holder.py SPEC_JSON`` (stdlib only, so it starts in
a few milliseconds). The process unshares network, mount, UTS and PID namespaces, then
forks: the child is PID 1 of the node. The parent stays outside, waits for the child and
exits with it, so the testbed can reap it at once (a dead node never lingers as a zombie).

PID 1 joins the node's cgroup, drops copies of other namespaces' bind mounts, mounts a
fresh /proc, /sys (showing the node's own links) and cgroup2, bind-mounts the node's
directories, sets the hostname and brings ``lo`` up. It then prints ``mounted``, waits for
a line on stdin (the testbed has plugged in ``eth0`` by then), gives ``eth0`` its
addresses, prints ``ready`` and reaps orphans until it is killed, or until the testbed's
process dies (end of file on the watch pipe), which takes the whole node down with it.

Protocol on stdout: ``pid <host pid of PID 1>``, ``mounted``, ``ready`` or ``error <text>``.
"""

import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
SIOCSIFADDR, SIOCSIFBRDADDR, SIOCSIFNETMASK = 0x8916, 0x891A, 0x891C
IFF_UP = 1

libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, dst: str, fstype: str | None, flags: int) -> None:
    rc = libc.mount(
        src.encode() if src else None, dst.encode(), fstype.encode() if fstype else None, flags, None
    )
    _check(rc, f"mount {src} on {dst}")


def _say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def _drop_nsfs_mounts() -> None:
    """Unmount (in this private copy only) the bind mounts that pin other namespaces."""
    with open("/proc/self/mountinfo") as f:
        lines = f.read().splitlines()
    targets = []
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "nsfs":
            targets.append(left.split(" ")[4].encode().decode("unicode_escape"))
    for target in reversed(targets):
        libc.umount2(target.encode(), MNT_DETACH)
    for target in ("/run/netns",):
        libc.umount2(target.encode(), MNT_DETACH)


def _set_flags_up(sock: socket.socket, ifname: str) -> None:
    req = struct.pack("16sh14x", ifname.encode(), 0)
    flags = struct.unpack("16sh14x", fcntl.ioctl(sock, SIOCGIFFLAGS, req))[1]
    fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh14x", ifname.encode(), flags | IFF_UP))


def _sockaddr4(ifname: str, addr: str) -> bytes:
    return struct.pack("16sHH4s8x", ifname.encode(), socket.AF_INET, 0, socket.inet_aton(addr))


def _configure_eth0(addresses: list) -> None:
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for addr, prefixlen, family in addresses:
        if family == 4:
            mask = (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF
            host = struct.unpack("!I", socket.inet_aton(addr))[0]
            brd = socket.inet_ntoa(struct.pack("!I", host | (~mask & 0xFFFFFFFF)))
            fcntl.ioctl(s4, SIOCSIFADDR, _sockaddr4("eth0", addr))
            fcntl.ioctl(s4, SIOCSIFNETMASK, _sockaddr4("eth0", socket.inet_ntoa(struct.pack("!I", mask))))
            fcntl.ioctl(s4, SIOCSIFBRDADDR, _sockaddr4("eth0", brd))
        else:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            req = struct.pack(
                "16sIi", socket.inet_pton(socket.AF_INET6, addr), prefixlen, socket.if_nametoindex("eth0")
            )
            fcntl.ioctl(s6, SIOCSIFADDR, req)
            s6.close()
    _set_flags_up(s4, "eth0")
    s4.close()


def _setup(spec: dict) -> None:
    with open(spec["cgroup_procs"], "w") as f:
        f.write("0")
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _drop_nsfs_mounts()
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for src, dst in spec["binds"]:
        _mount(src, dst, None, MS_BIND)
    socket.sethostname(spec["hostname"])
    for key in ("all", "default"):
        try:
            with open(f"/proc/sys/net/ipv6/conf/{key}/accept_dad", "w") as f:
                f.write("0")
        except OSError:
            pass
    lo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _set_flags_up(lo, "lo")
    lo.close()


def _reap_forever(watch_fd: int) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready, _, _ = select.select([wake_r, watch_fd], [], [])
        if wake_r in ready:
            os.read(wake_r, 512)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if watch_fd in ready and not os.read(watch_fd, 1):
            os._exit(0)


def _pid1(spec: dict) -> None:
    try:
        _setup(spec)
        _say("mounted")
        if not sys.stdin.readline():
            os._exit(1)
        _configure_eth0(spec["addresses"])
        _say("ready")
    except Exception as exc:  # noqa: BLE001 - reported to the testbed, which fails the build
        _say(f"error {exc}")
        os._exit(1)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    _reap_forever(spec["watch_fd"])


def main() -> None:
    spec = json.loads(sys.argv[1])
    try:
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
    except OSError as exc:
        _say(f"error {exc}")
        sys.exit(1)
    said_pid, go = os.pipe()  # PID 1 speaks only after "pid": both write to one stdout
    child = os.fork()
    if child == 0:
        os.close(go)
        os.read(said_pid, 1)
        os.close(said_pid)
        _pid1(spec)
        os._exit(0)
    os.close(said_pid)
    os.close(spec["watch_fd"])
    _say(f"pid {child}")
    os.write(go, b"!")
    os.close(go)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


if __name__ == "__main__":
    main()
