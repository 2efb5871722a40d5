"""Start, monitor and stop times of hacore's fs, apache, ip and mysql agents against ClusterLabs'
OCF agents doing the same job (ocf:heartbeat:Filesystem, apache, IPaddr2, mysql), both through
hacore's executor (the OCF ones through its OCF wrapper), same machine, same run.

Everything happens inside a private network namespace (a veth pair, both ends inside) and a
private mount namespace, so nothing touches the host: an ext4 loop device for fs, apache2 on
127.0.0.1 with a free port, addresses on the namespace's veth for ip, mariadbd on a unix
socket (no TCP) for mysql (the OCF agent gets a copy of the same initialised datadir).
Figures are medians (and maxima) over --rounds start/monitor/stop cycles per agent, in ms.

Run (root): python bench/agents_vs_ocf.py [--rounds 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

INNER = "HACORE_BENCH_INNER"


def op(agent: str, action: str, instance: str, params: dict[str, str], depth: int = 0):
    from hacore.executor import OperationRequest, run_operation

    result = run_operation(
        OperationRequest(
            agent,
            action,
            instance,
            params=params,
            timeout=60.0,
            interval=10.0 if action == "monitor" else 0.0,
            depth=depth,
        )
    )
    if not result.success:
        raise SystemExit(
            f"{agent} {action} failed: {result.code.label}: {result.reason} {result.stderr[-400:]}"
        )
    return result.duration


def cycle(
    agent: str, instance: str, params: dict[str, str], rounds: int, deep: bool = False
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"start": [], "monitor": [], "stop": []}
    if deep:
        times["monitor depth 10"] = []
    for _ in range(rounds):
        times["start"].append(op(agent, "start", instance, params))
        times["monitor"].append(op(agent, "monitor", instance, params))
        if deep:
            times["monitor depth 10"].append(op(agent, "monitor", instance, params, depth=10))
        times["stop"].append(op(agent, "stop", instance, params))
    return times


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_fs(rounds: int, work: Path) -> dict[str, dict[str, list[float]]]:
    image = work / "disk.img"
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    device = subprocess.run(
        ["losetup", "-f", "--show", str(image)], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        point = str(work / "mnt")
        return {
            "fs": cycle(
                "fs",
                "bench-fs",
                {"device": device, "mountpoint": point, "fstype": "ext4"},
                rounds,
                deep=True,
            ),
            "ocf:heartbeat:Filesystem": cycle(
                "ocf:heartbeat:Filesystem",
                "bench-Filesystem",
                {"device": device, "directory": point, "fstype": "ext4"},
                rounds,
                deep=True,
            ),
        }
    finally:
        subprocess.run(["umount", str(work / "mnt")], capture_output=True, check=False)
        subprocess.run(["losetup", "-d", device], capture_output=True, check=False)


def bench_apache(rounds: int, work: Path) -> dict[str, dict[str, list[float]]]:
    docs = work / "docs"
    docs.mkdir()
    (docs / "index.html").write_text("<html><body>bench</body></html>\n")
    ours_port, theirs_port = free_port(), free_port()
    ours = {
        "listen": f"127.0.0.1:{ours_port}",
        "document_root": str(docs),
        "run_dir": str(work / "apache-ours"),
        "shutdown_wait": "10",
    }
    result = {"apache": cycle("apache", "bench-apache", ours, rounds, deep=True)}
    # the same generated configuration for the OCF agent, on its own port and pid file
    theirs_dir = work / "apache-ocf"
    theirs_dir.mkdir()
    config = (work / "apache-ours" / "httpd.conf").read_text()
    config = config.replace(str(work / "apache-ours"), str(theirs_dir))
    config = config.replace(f"Listen 127.0.0.1:{ours_port}", f"Listen 127.0.0.1:{theirs_port}")
    (theirs_dir / "httpd.conf").write_text(config)
    result["ocf:heartbeat:apache"] = cycle(
        "ocf:heartbeat:apache",
        "bench-apache-ocf",
        {
            "configfile": str(theirs_dir / "httpd.conf"),
            "httpd": "/usr/sbin/apache2",
            "statusurl": f"http://127.0.0.1:{theirs_port}/",
            "testurl": f"http://127.0.0.1:{theirs_port}/",
            "testregex10": "bench",
        },
        rounds,
        deep=True,
    )
    return result


def bench_ip(rounds: int) -> dict[str, dict[str, list[float]]]:
    return {
        "ip": cycle("ip", "bench-ip", {"address": "192.0.2.10/24"}, rounds),
        "ip check_duplicate=no": cycle(
            "ip", "bench-ip", {"address": "192.0.2.11/24", "check_duplicate": "no"}, rounds
        ),
        "ocf:heartbeat:IPaddr2": cycle(
            "ocf:heartbeat:IPaddr2",
            "bench-IPaddr2",
            {"ip": "192.0.2.12", "cidr_netmask": "24", "nic": "eth0"},
            rounds,
        ),
    }


def bench_mysql(rounds: int, work: Path) -> dict[str, dict[str, list[float]]]:
    ours = {
        "datadir": str(work / "db-ours"),
        "run_dir": str(work / "db-ours-run"),
        "init_datadir": "1",
    }
    op("mysql", "start", "bench-mysql", ours)  # initialise the datadir outside the timings
    op("mysql", "stop", "bench-mysql", ours)
    result = {"mysql": cycle("mysql", "bench-mysql", ours, rounds, deep=True)}
    # the OCF agent gets a copy of the same initialised datadir and an option file of its own
    theirs = work / "db-ocf"
    shutil.copytree(work / "db-ours", theirs / "data", symlinks=True)
    subprocess.run(["chown", "-R", "mysql:mysql", str(theirs)], check=True)
    config = theirs / "my.cnf"
    config.write_text("[mysqld]\nskip-networking\n")
    result["ocf:heartbeat:mysql"] = cycle(
        "ocf:heartbeat:mysql",
        "bench-mysql-ocf",
        {
            "config": str(config),
            "datadir": str(theirs / "data"),
            "pid": str(theirs / "m.pid"),
            "socket": str(theirs / "m.sock"),
            "log": str(theirs / "error.log"),
            "user": "mysql",
            "group": "mysql",
        },
        rounds,
        deep=True,
    )
    return result


def summarise(results: dict[str, dict[str, list[float]]]) -> list[dict]:
    rows = []
    for agent, times in results.items():
        for action, samples in times.items():
            rows.append(
                {
                    "agent": agent,
                    "action": action,
                    "runs": len(samples),
                    "median_ms": round(statistics.median(samples) * 1000, 1),
                    "max_ms": round(max(samples) * 1000, 1),
                }
            )
    return rows


def inner(rounds: int, as_json: bool) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(
        ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"], check=True
    )
    for dev in ("eth0", "eth1"):
        subprocess.run(["ip", "link", "set", dev, "up"], check=True)
    subprocess.run(["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"], check=True)
    work = Path(tempfile.mkdtemp(prefix="hacore-bench-"))
    work.chmod(0o755)
    try:
        results = {}
        results.update(bench_fs(rounds, work))
        results.update(bench_apache(rounds, work))
        results.update(bench_ip(rounds))
        if os.path.exists("/usr/sbin/mariadbd"):
            results.update(bench_mysql(rounds, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = summarise(results)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'agent':<26} {'action':<18} {'median ms':>10} {'max ms':>9}  (runs)")
    for row in rows:
        print(
            f"{row['agent']:<26} {row['action']:<18} {row['median_ms']:>10.1f} "
            f"{row['max_ms']:>9.1f}  ({row['runs']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if os.environ.get(INNER):
        inner(args.rounds, args.json)
        return
    netns = f"hacore-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        argv = [
            "ip",
            "netns",
            "exec",
            netns,
            "unshare",
            "-m",
            "--propagation",
            "private",
            sys.executable,
            os.path.abspath(__file__),
            "--rounds",
            str(args.rounds),
        ]
        if args.json:
            argv.append("--json")
        status = subprocess.run(argv, env={**os.environ, INNER: "1"}, check=False).returncode
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
    sys.exit(status)


if __name__ == "__main__":
    main()
