"""One episode of the fault campaign: reset, faults from the schedule, heal, recovery, checks.

``run_episode(bed, seed, options) -> dict`` (JSON-ready): the seed, the schedule with each
fault's resolved node and what happened, the findings, the recovery time and fault counts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hacore.testing.campaign_bed import JOB_PROCESS, SERVICES, CampaignBed
from hacore.testing.campaign_checks import (
    AdminRecord,
    Finding,
    category,
    check_admin,
    check_daemon_logs,
    check_leaks,
    check_recovery,
    check_running,
    check_s1,
    expected_states,
    pause_windows,
)
from hacore.testing.campaign_schedule import (
    AGENT_SERVICE,
    ALL_KINDS,
    Fault,
    count_kinds,
    make_schedule,
)
from hacore.testing.leaks import HostSnapshot

LEAK_KINDS = ("namespaces", "mounts", "loop_devices", "host_links")


@dataclass
class EpisodeOptions:
    """Episode length (s of faults), recovery bound (s after the last fault healed), the
    grace after a pause/freeze counted as its window, the fault kinds drawn."""

    length: float = 30.0
    recovery_bound: float = 180.0
    window_grace: float = 20.0
    kinds: tuple[str, ...] | None = None
    max_pause: float = 10.0
    schedule: tuple[Fault, ...] | None = None  # a scenario: these faults instead of the seed's
    ready_timeout: float = 240.0
    log_dir: str | None = None  # where to keep the daemon logs of episodes with findings
    keep_all_logs: bool = False


class Episode:
    """Applies one schedule to the bed and records what happened."""

    def __init__(self, bed: CampaignBed, seed: int, options: EpisodeOptions) -> None:
        self.bed, self.seed, self.opt = bed, seed, options
        names = [n.name for n in bed.c.nodes]
        self.schedule = (list(options.schedule) if options.schedule is not None else
                         make_schedule(seed, names, SERVICES, options.length,
                                       options.kinds or ALL_KINDS, options.max_pause))
        self.applied: list[dict[str, Any]] = []
        self.admin: list[AdminRecord] = []
        self.killed: dict[str, int] = {}
        self.paused: dict[str, list[int]] = {}
        self.faulted: set[str] = set()  # nodes under a node or agent fault now
        self.t0 = 0.0
        self.wall0 = 0.0
        self._threads: list[threading.Thread] = []
        self._svc_locks = {s: threading.Lock() for s in SERVICES}

    # -- faults ---------------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.t0

    def _resolve(self, target: str | None) -> str | None:
        if target and target.startswith("owner:"):
            return self.bed.owner_of(target.split(":", 1)[1])
        return target

    def begin(self, f: Fault) -> dict[str, Any]:
        """Start fault ``f``; returns its record (resolved node, note)."""
        c, bed = self.bed.c, self.bed
        rec: dict[str, Any] = {**f.to_json(), "started": round(self.now(), 2)}
        node = self._resolve(f.target)
        rec["node"] = node
        if f.kind == "admin":
            thread = threading.Thread(target=self._admin, args=(f,), daemon=True)
            thread.start()
            self._threads.append(thread)
            return rec
        if f.kind in ("partition", "oneway", "cut", "loss"):
            a = f.args
            {"partition": lambda: c.partition(a["groups"]),
             "oneway": lambda: c.partition_oneway(a["src"], a["dst"]),
             "cut": lambda: c.cut(a["a"], a["b"]),
             "loss": lambda: c.netem(a["node"], loss=a["loss"])}[f.kind]()
            return rec
        if node is None:
            rec["note"] = "skipped: no node (the service runs nowhere)"
            return rec
        n = c.node(node)
        if not n.up or node in self.faulted:
            rec["note"] = "skipped: node down" if not n.up else "skipped: node under a fault"
            return rec
        if f.duration:
            self.faulted.add(node)
        if f.kind == "crash":
            bed.held_down.add(node)
            c.crash(n)
        elif f.kind == "reboot":
            c.reboot(n)
        elif f.kind == "kill9":
            pids = bed.daemon_pids(n)
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            self.killed[node] = self.killed.get(node, 0) + len(pids)
            rec["note"] = f"killed {pids}"
        elif f.kind == "pause":
            pids = bed.daemon_pids(n)
            for pid in pids:
                c.pause(pid)
            self.paused[node] = pids
        elif f.kind == "freeze":
            c.freeze(n)
        elif f.kind in ("agent_hang", "agent_fail"):
            bed.set_agent_fault(node, f.kind.split("_")[1])
        return rec

    def end(self, f: Fault, rec: dict[str, Any]) -> None:
        """Undo fault ``f`` (recorded as ``rec``)."""
        c, bed, node = self.bed.c, self.bed, rec.get("node")
        rec["ended"] = round(self.now(), 2)
        if f.kind in ("partition", "oneway", "cut", "loss"):
            c.heal()
            return
        if node is None or rec.get("note", "").startswith("skipped"):
            return
        self.faulted.discard(node)
        if f.kind == "crash":
            bed.held_down.discard(node)
            if not c.node(node).up:
                c.boot(node)
        elif f.kind == "pause":
            for pid in self.paused.pop(node, []):
                try:
                    c.resume(pid)
                except ProcessLookupError:
                    pass
        elif f.kind == "freeze":
            self._thaw(node)
        elif f.kind in ("agent_hang", "agent_fail"):
            bed.set_agent_fault(node, None)

    def _thaw(self, node: str) -> None:
        n = self.bed.c.node(node)
        if n.up:
            try:
                self.bed.c.thaw(n)
            except OSError:
                pass

    def _admin(self, f: Fault) -> None:
        a = f.args
        with self._svc_locks[a["service"]]:
            via = self._live_from(a["via"])
            rec = AdminRecord(round(self.now(), 2), a["op"], a["service"], via, a.get("to"))
            self.admin.append(rec)
            argv = [sys.executable, "-m", "hacore.cli.main", "service", a["op"], a["service"],
                    "--no-wait", "--socket", str(self.bed.c.node(via).socket_path)]
            if a.get("to"):
                argv += ["--to", a["to"]]
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                      check=False)
                rec.exit_code = proc.returncode
                rec.output = (proc.stdout + proc.stderr).strip()[-300:]
            except subprocess.TimeoutExpired:
                rec.output = "timed out after 120 s"
            rec.extra["done"] = round(self.now(), 2)

    def _live_from(self, name: str) -> str:
        """``name``, or the next node after it (in order, wrapping) that is up and not held
        down: an administrator types the command on a machine that answers."""
        nodes = self.bed.c.nodes
        i = [n.name for n in nodes].index(name)
        for n in nodes[i:] + nodes[:i]:
            if n.up and n.name not in self.bed.held_down:
                return n.name
        return name

    def heal_all(self) -> None:
        """Undo everything still in place: pauses, freezes, network, down nodes, bad agents."""
        c, bed = self.bed.c, self.bed
        for node, pids in list(self.paused.items()):
            for pid in pids:
                try:
                    c.resume(pid)
                except ProcessLookupError:
                    pass
        self.paused.clear()
        for n in c.nodes:
            self._thaw(n.name)
        c.heal()
        bed.held_down.clear()
        for n in c.nodes:
            if not n.up:
                c.boot(n)
        bed.clear_agent_faults()

    def run_faults(self) -> None:
        """Start and end every fault at its time (bounded by the schedule's last end)."""
        events: list[tuple[float, int, int]] = []  # (time, 0 end / 1 begin, index)
        for i, f in enumerate(self.schedule):
            events.append((f.at, 1, i))
            if f.duration:
                events.append((f.end, 0, i))
        events.sort()
        recs: dict[int, dict[str, Any]] = {}
        for at, what, i in events:
            delay = at - self.now()
            if delay > 0:
                time.sleep(delay)
            f = self.schedule[i]
            try:
                if what == 1:
                    recs[i] = self.begin(f)
                    self.applied.append(recs[i])
                elif i in recs:
                    self.end(f, recs[i])
            except Exception as exc:  # noqa: BLE001 - note it; the final heal undoes the rest
                recs.setdefault(i, {**f.to_json()})["error"] = f"{type(exc).__name__}: {exc}"
        for thread in self._threads:
            thread.join(timeout=150)

    # -- recovery -------------------------------------------------------------------------------

    def may_fail(self) -> set[str]:
        """Services that may end ``failed``: without a fence device, a failed stop keeps a
        service failed until an operator acts (S4), and only job's agent is made to fail."""
        bad_agent = any(r["kind"] in ("agent_hang", "agent_fail") and r.get("node")
                        for r in self.applied)
        return {AGENT_SERVICE} if bad_agent and not self.bed.fencing else set()

    def settled(self, allowed: dict[str, set[str]]) -> tuple[bool, str]:
        """Whether the cluster is whole again and every service as allowed, and why not."""
        may_fail = self.may_fail()
        bed = self.bed
        views = {n.name: bed.api_status(n) for n in bed.c.nodes}
        missing = [k for k, v in views.items() if v is None]
        if missing:
            return False, f"no status from {', '.join(missing)}"
        first = next(iter(views.values()))
        assert first is not None
        for name, st in views.items():
            assert st is not None
            if not st["quorate"] or any(m["state"] != "Online" for m in st["members"]):
                return False, f"{name} sees {[m['state'] for m in st['members']]}"
            if [(s["name"], s["state"], s["owner"]) for s in st["services"]] != \
               [(s["name"], s["state"], s["owner"]) for s in first["services"]]:
                return False, f"{name} disagrees on services"
        held = bed.held()
        for svc in first["services"]:
            name, state, owner = svc["name"], svc["state"], svc["owner"]
            cat = category(state)
            if state == "failed" and name in may_fail and not svc["intent"]:
                # S4 without a fence device: kept off every node until an operator acts;
                # only the node whose stop failed may still hold anything of it
                where = held[name]["vip"] | held[name]["res"]
                if where - {owner, svc["last_owner"]}:
                    return False, f"failed {name} held by {sorted(where)}"
                continue
            if cat is None or cat not in allowed.get(name, {cat}) or svc["intent"]:
                return False, f"{name} is {state} on {owner} ({svc['reason']})"
            want = {owner} if cat == "enabled" else set()
            for what in ("vip", "res") if name in bed.vips else ("res",):
                if held[name][what] != want:
                    return False, f"{name} {what} held by {sorted(held[name][what])}, want {sorted(want)}"
            if name == "web" and cat == "enabled" and bed.web_answer() != owner:
                return False, f"web does not answer from {owner}"
        return True, "settled"

    def wait_settled(self, allowed: dict[str, set[str]], bound: float) -> tuple[float | None, str]:
        started = time.monotonic()
        why = "not checked"
        while time.monotonic() - started < bound:
            ok, why = self.settled(allowed)
            if ok:
                return time.monotonic() - started, why
            time.sleep(0.5)
        return None, why


def keep_logs(bed: CampaignBed, sizes: dict[str, int], directory: Path) -> None:
    """The episode's daemon log lines, one file per node, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for node, lines in bed.log_since(sizes).items():
        (directory / f"{node}.log").write_text("\n".join(lines) + "\n")


def finals(bed: CampaignBed) -> dict[str, str]:
    """{service: state} as the first answering node says."""
    for n in bed.c.nodes:
        st = bed.api_status(n)
        if st:
            return {s["name"]: s["state"] for s in st["services"]}
    return {}


def reset(bed: CampaignBed, timeout: float) -> str | None:
    """Every service enabled and started, the cluster whole: None, or why not."""
    ep = Episode(bed, 0, EpisodeOptions(length=0.0))
    ep.heal_all()
    deadline = time.monotonic() + timeout
    fixed: set[str] = set()
    why = "not checked"
    while time.monotonic() < deadline:
        ok, why = ep.settled({s: {"enabled"} for s in SERVICES})
        if ok:
            return None
        for svc, state in finals(bed).items():
            if state in ("failed", "disabled", "stopped") and svc not in fixed:
                via = next((n for n in bed.c.nodes if n.up), bed.c.nodes[0])
                for op in (("disable", "enable") if state != "disabled" else ("enable",)):
                    bed.hacore(via, "service", op, svc, "--no-wait", check=False, timeout=120)
                fixed.add(svc)
        time.sleep(1.0)
    return why


def run_episode(bed: CampaignBed, seed: int, options: EpisodeOptions) -> dict[str, Any]:
    """Reset the bed, run seed's schedule, heal, wait for recovery, check; the result."""
    ep = Episode(bed, seed, options)
    result: dict[str, Any] = {"seed": seed, "schedule": [str(f) for f in ep.schedule],
                              "counts": count_kinds(ep.schedule), "fencing": bed.fencing}
    why = reset(bed, options.ready_timeout)
    if why is not None:
        result.update(ready=False, findings=[Finding("reset", f"not ready: {why}").to_json()])
        return result
    before = HostSnapshot.take()
    sizes = bed.log_sizes()
    s1 = bed.c.s1_checker(addresses=list(bed.vips.values()), mounts=[bed.device],
                          processes=[JOB_PROCESS])
    ep.t0, ep.wall0 = time.monotonic(), time.time()
    try:
        ep.run_faults()
    finally:
        ep.heal_all()
    healed = ep.now()
    allowed = expected_states(ep.admin, SERVICES)
    took, last_seen = ep.wait_settled(allowed, options.recovery_bound)
    violations = s1.stop()
    findings: list[Finding] = []
    windows = pause_windows(ep.applied, healed, bed.loss, options.window_grace)
    findings += check_s1(violations, ep.wall0, windows)
    findings += check_recovery(took, options.recovery_bound, last_seen)
    if took is not None:
        findings += check_admin(ep.admin, finals(bed))
    findings += check_daemon_logs(bed.log_since(sizes), ep.killed)
    findings += check_running(bed.daemon_alive())
    left = HostSnapshot.take().left_since(before)
    findings += check_leaks({k: v for k, v in left.items() if k in LEAK_KINDS})
    if options.log_dir and (findings or options.keep_all_logs):
        keep_logs(bed, sizes, Path(options.log_dir) / f"seed-{seed}")
    if any(f.check == "recovery" for f in findings):  # what each node says, to diagnose it
        result["status"] = {n.name: bed.api_status(n) for n in bed.c.nodes}
    result.update(ready=True, applied=ep.applied, final=finals(bed), healed_at=round(healed, 2),
                  recovery=None if took is None else round(took, 2),
                  admin=[{**vars(a), "acked": a.acked} for a in ep.admin],
                  findings=[f.to_json() for f in findings])
    return result
