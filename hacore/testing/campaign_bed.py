"""The fault campaign's cluster: 5 testbed nodes running hacore with three services.

- web  = ip + apache (HacoreTestbed's service),
- job  = ip + script (a bash script starting a ``hacore-campaign-job`` process; a flag file
  per node makes every operation of it hang or fail: the "bad agent" faults),
- data = ip + fs: ext4 on one loop device that every node sees (a shared LUN), mounted at
  /tmp/data, so a double mount shows in the S1 checker.

Built on the public surfaces only: ``HacoreTestbed`` (config, key, daemons), the testbed
``Cluster`` and the daemon's control API / CLI. ``CampaignBed.observe()`` reads the cluster
as the checks need it; ``held()`` reads what each node really holds.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from hacore.daemon.testbed import HacoreTestbed
from hacore.testing import Cluster

_log = logging.getLogger(__name__)
SERVICES = ("web", "job", "data")
JOB_PROCESS = r"^hacore-campaign-job\b"
MOUNTPOINT = "/tmp/data"

EXTRA = """
[resources.vip_job]
agent = "ip"
params = {{ address = "{vip_job}/24" }}
operations = {{ monitor = {{ interval = 2, timeout = 10 }} }}

[resources.job]
agent = "script"
params = {{ file = "{script}" }}
operations = {{ monitor = {{ interval = 2, timeout = 5 }}, start = {{ timeout = 8 }}, stop = {{ timeout = 8 }} }}

[services.job]
tree = [{{ resource = "vip_job", children = ["job"] }}]
recovery = "relocate"

[resources.data]
agent = "fs"
params = {{ device = "{device}", mountpoint = "{mountpoint}", fstype = "ext4" }}
operations = {{ monitor = {{ interval = 2, timeout = 10 }}, stop = {{ timeout = 10 }} }}
{data_service}"""

DATA_WITH_VIP = """
[resources.vip_data]
agent = "ip"
params = {{ address = "{vip_data}/24" }}
operations = {{ monitor = {{ interval = 2, timeout = 10 }} }}

[services.data]
tree = [{{ resource = "vip_data", children = ["data"] }}]
recovery = "relocate"
"""

# without a fence device data is the disk alone: an address in front of a service closes
# the paused-node window by itself (the ip agent will not add an address another machine
# still answers ARP for), a bare file system does not
DATA_ALONE = """
[services.data]
tree = ["data"]
recovery = "relocate"
"""

# every action consults the node's flag file first: "hang" sleeps past any timeout,
# "fail" fails without doing anything (status answers "unknown", an error)
JOB_SCRIPT = """#!/bin/bash
mode=$(cat "{ctrl}/$(hostname)" 2>/dev/null)
pidfile=/run/hacore-campaign-job.pid
case "$mode" in
  hang) sleep 3600; exit 1;;
  fail) [ "$1" = status ] && exit 4; exit 1;;
esac
running() {{
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  grep -qa '^hacore-campaign-job' "/proc/$pid/cmdline" 2>/dev/null
}}
case "$1" in
  start)
    running && exit 0
    setsid bash -c 'exec -a hacore-campaign-job sleep 1000000' </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile"
    for i in $(seq 50); do running && exit 0; sleep 0.1; done
    exit 1;;
  stop)
    running || {{ rm -f "$pidfile"; exit 0; }}
    kill "$(cat "$pidfile")"
    for i in $(seq 50); do running || {{ rm -f "$pidfile"; exit 0; }}; sleep 0.1; done
    exit 1;;
  status) running && exit 0; exit 3;;
  *) exit 3;;
esac
"""


def strip_fencing(text: str) -> str:
    """The config without fence devices and fence methods (the --no-fence campaign)."""
    text = re.sub(r"(?m)^fence = \[.*\]\n", "", text)
    return re.sub(r"(?m)^\[fence_devices\.[^\]]+\]\n(?:(?!^\[).*\n)*", "", text)


class CampaignBed(HacoreTestbed):
    """HacoreTestbed plus job and data, a shared loop device and bad-agent flags."""

    def __init__(self, cluster: Cluster, node_loss_timeout: float = 2.0,
                 fencing: bool = True) -> None:
        super().__init__(cluster, node_loss_timeout=node_loss_timeout)
        self.fencing = fencing
        self.vips = {"web": self.vip, "job": cluster.free_address(1)}
        if fencing:
            self.vips["data"] = cluster.free_address(2)
        assert cluster.base is not None
        self.ctrl = Path(cluster.base) / "agentfault"
        self.script = Path(cluster.base) / "job.sh"
        self.image = Path(cluster.base) / "data.img"
        self.device: str | None = None
        self.booted: dict[str, int] = {}
        self.held_down: set[str] = set()
        self._keeper: threading.Thread | None = None
        self._stop = threading.Event()

    # -- set-up ---------------------------------------------------------------------------------

    def make_disk(self) -> str:
        """A 64 MB ext4 image on a loop device (attached on the host: every node sees it)."""
        with open(self.image, "wb") as f:
            f.truncate(64 << 20)
        self.device = subprocess.run(["losetup", "-f", "--show", str(self.image)], check=True,
                                     capture_output=True, text=True).stdout.strip()
        subprocess.run(["mkfs.ext4", "-q", "-F", self.device], check=True, capture_output=True)
        return self.device

    def write_config(self) -> None:
        super().write_config()
        self.ctrl.mkdir(exist_ok=True)
        self.script.write_text(JOB_SCRIPT.format(ctrl=self.ctrl))
        self.script.chmod(0o755)
        data = (DATA_WITH_VIP.format(vip_data=self.vips["data"]) if "data" in self.vips
                else DATA_ALONE)
        extra = EXTRA.format(vip_job=self.vips["job"], data_service=data,
                             script=self.script, device=self.device, mountpoint=MOUNTPOINT)
        for node in self.c.nodes:
            path = Path(node.etc_dir) / "cluster.toml"
            text = path.read_text() + extra
            path.write_text(text if self.fencing else strip_fencing(text))

    def start(self) -> CampaignBed:
        if self.device is None:
            self.make_disk()
        super().start()
        for node in self.c.nodes:
            self.booted[node.name] = node.boots
        self._keeper = threading.Thread(target=self._keep, name="campaign-init", daemon=True)
        self._keeper.start()
        return self

    def _keep(self) -> None:
        """The nodes' init system: a node that booted (the fence device's reboot, a crash
        fault's end) gets its daemon started, as systemd would at boot."""
        while not self._stop.wait(0.3):
            for node in self.c.nodes:
                if node.name in self.held_down or not node.up:
                    continue
                if self.booted.get(node.name) == node.boots:
                    continue
                try:
                    self.start_daemon(node)
                    self.booted[node.name] = node.boots
                except (OSError, subprocess.SubprocessError, AssertionError):
                    pass  # booting still: the next round starts it

    def close(self) -> None:
        """Stop the daemons and the keeper; detach the loop device (nodes must be gone or
        have unmounted it: call after the Cluster closed, or accept a busy detach)."""
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=10)
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - best effort; the cluster's close kills the rest
            _log.warning("stopping the daemons failed", exc_info=True)

    def detach_disk(self) -> None:
        """Detach the loop device (after the cluster closed: no node mounts it any more)."""
        if self.device:
            for _ in range(20):
                if subprocess.run(["losetup", "-d", self.device], capture_output=True,
                                  check=False).returncode == 0:
                    break
                time.sleep(0.5)
            self.device = None

    # -- agent faults ---------------------------------------------------------------------------

    def set_agent_fault(self, node: str, mode: str | None) -> None:
        """Make the job script on ``node`` hang or fail (None: behave again)."""
        flag = self.ctrl / node
        if mode is None:
            flag.unlink(missing_ok=True)
        else:
            flag.write_text(mode + "\n")

    def clear_agent_faults(self) -> None:
        for flag in self.ctrl.iterdir():
            flag.unlink(missing_ok=True)

    # -- observation ----------------------------------------------------------------------------

    def api_status(self, node: Any, timeout: float = 5.0) -> dict[str, Any] | None:
        """The node's ``status`` reply through its control socket, or None."""
        from hacore.api.client import ApiClient

        if not node.up:
            return None
        try:
            return ApiClient(str(node.socket_path), timeout=timeout).call("status")
        except Exception:  # noqa: BLE001 - any failure means "no answer from this node"
            return None

    def owner_of(self, service: str) -> str | None:
        """The owner of ``service`` as the first answering node says."""
        for node in self.c.nodes:
            st = self.api_status(node, timeout=3.0)
            if st:
                svc = next((s for s in st["services"] if s["name"] == service), None)
                return svc["owner"] if svc else None
        return None

    def held(self) -> dict[str, dict[str, set[str]]]:
        """What each live node really holds: service -> set of nodes holding its VIP,
        its mount (data) and its process (job)."""
        vip_of = {v: s for s, v in self.vips.items()}
        out: dict[str, dict[str, set[str]]] = {s: {"vip": set(), "res": set()} for s in SERVICES}
        for node in self.c.nodes:
            if not node.up:
                continue
            try:
                addrs = node.run(["ip", "-o", "-4", "addr", "show"], check=False, timeout=10).stdout
                for line in addrs.splitlines():
                    parts = line.split()
                    addr = parts[3].split("/")[0] if len(parts) > 3 else ""
                    if addr in vip_of:
                        out[vip_of[addr]]["vip"].add(node.name)
                if any(src == self.device or mp == MOUNTPOINT for src, mp, _ in node.mounts()):
                    out["data"]["res"].add(node.name)
                if node.find_pids(JOB_PROCESS.replace(r"\b", "")):
                    out["job"]["res"].add(node.name)
                if node.find_pids(r"apache2"):
                    out["web"]["res"].add(node.name)
            except (OSError, subprocess.SubprocessError):
                continue
        return out

    def web_answer(self) -> str | None:
        """The node name the web page at the web VIP says, from the client; None: no answer."""
        proc = self.c.client.run(["curl", "-s", "-m", "2", f"http://{self.vip}/"], check=False,
                                 timeout=10)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def daemon_alive(self) -> dict[str, bool]:
        """Up nodes not held down: does a daemon (supervisor and daemon.main) run there?"""
        return {n.name: bool(self.daemon_pids(n)) and bool(self.daemon_pids(n, "supervisor"))
                for n in self.c.nodes if n.up and n.name not in self.held_down}

    def log_sizes(self) -> dict[str, int]:
        return {name: (os.path.getsize(p) if p.exists() else 0) for name, p in self.logs.items()}

    def log_since(self, sizes: dict[str, int]) -> dict[str, list[str]]:
        """Each node's daemon log lines written after ``sizes`` (from log_sizes())."""
        out = {}
        for name, path in self.logs.items():
            try:
                with open(path, "rb") as f:
                    f.seek(sizes.get(name, 0))
                    out[name] = f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                out[name] = []
        return out
