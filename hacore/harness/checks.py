"""The checks: ocf-tester's sequence, plus what it cannot check (timeouts, leftovers,
missing binaries, OCF 1.1 meta-data, required parameters), and the LSB version of the lot.
"""

from __future__ import annotations

from hacore.agent.codes import OCF
from hacore.agent.metadata import MetadataError, parse_metadata
from hacore.agent.scripts import read_lsb_header
from hacore.harness.ocf11 import check_ocf11
from hacore.harness.outcome import expect, expect_lsb_status, said
from hacore.harness.session import HarnessSession

NO_BINARIES = {"OCF_TESTER_FAIL_HAVE_BINARY": "1"}
STOPPED = OCF.NOT_RUNNING
EMPTY_PATH = "/nonexistent/hacore-harness-no-binaries"  # a PATH where no command is found


def metadata_checks(s: HarnessSession) -> None:
    """meta-data runs, parses, follows OCF 1.1, and works with the binaries missing."""
    captured: dict[str, str] = {}

    def runs_and_parses() -> tuple[bool, str]:
        result = s.op("meta-data")
        if result.code != OCF.SUCCESS or result.timed_out:
            return expect(result, OCF.SUCCESS)
        captured["xml"] = result.stdout
        try:
            s.info = parse_metadata(result.stdout, name=s.handle.name, agent_class=s.agent_class,
                                    origin=getattr(s.handle, "origin", s.handle.name))
        except MetadataError as exc:
            return False, str(exc)
        return True, (f"{said(result)}; {len(s.info.parameters)} parameter(s), "
                      f"{len(s.info.actions)} action(s)")

    def follows_ocf11() -> tuple[bool, str]:
        found = check_ocf11(captured["xml"])
        parts = [f"error: {e}" for e in found.errors] + [f"warning: {w}" for w in found.warnings]
        return not found.errors, "; ".join(parts) or "fits OCF 1.1"

    def without_binaries() -> tuple[bool, str]:
        return expect(s.op("meta-data", env=no_binaries_env(s)), OCF.SUCCESS,
                      why="meta-data must work on a host without the service installed")

    s.check("meta-data", runs_and_parses)
    s.check("meta-data follows OCF 1.1", follows_ocf11, needs=("meta-data",))
    s.check("meta-data without binaries", without_binaries)


def no_binaries_env(s: HarnessSession) -> dict[str, str]:
    """ocf-tester's switch for ClusterLabs scripts; for native agents also an empty PATH."""
    if s.agent_class != "native":
        return dict(NO_BINARIES)
    return {**NO_BINARIES, "PATH": EMPTY_PATH}


def ocf_checks(s: HarnessSession) -> None:
    """The whole sequence for a native agent or an OCF script."""
    metadata_checks(s)

    def validate() -> tuple[bool, str]:
        result = s.op("validate")
        if result.code == OCF.ERR_UNIMPLEMENTED and not result.timed_out:
            return True, f"{said(result)} (validate-all is optional)"
        return expect(result, OCF.SUCCESS, why="did you give every required --param?")

    s.check("validate-all", validate)
    s.check("probe of a stopped resource", lambda: expect(
        s.op("monitor"), STOPPED, why="a monitor before any start must find the resource stopped"))
    s.check("probe without binaries", lambda: expect(
        s.op("monitor", env=no_binaries_env(s)), STOPPED, OCF.ERR_INSTALLED,
        why="a probe on a host without the software must say not running or not installed"))
    lifecycle(s, gate=("validate-all",))
    required_parameter_checks(s)


def monitor_interval(s: HarnessSession) -> float:
    if s.info is not None:
        for act in s.info.actions:
            if act.name == "monitor" and act.interval > 0:
                return act.interval
    return 10.0


def lifecycle(s: HarnessSession, gate: tuple[str, ...] = ()) -> None:
    """start, monitor, start again, stop, leftovers, monitor, stop again, start after stop."""
    lsb = s.agent_class == "lsb"
    interval = monitor_interval(s)
    running_name = "status of a running service" if lsb else "monitor of a running resource"
    stopped_name = "status after stop" if lsb else "monitor of a stopped resource"

    def running(label: str) -> tuple[bool, str]:
        result = s.op("monitor", interval=interval)
        if lsb:
            return expect_lsb_status(result, 0, why=f"status of a running service {label}")
        return expect(result, OCF.SUCCESS, why=f"monitor {label} must say running")

    def stopped(label: str) -> tuple[bool, str]:
        result = s.op("monitor", interval=interval)
        if lsb:
            return expect_lsb_status(result, 3, why=f"status {label}")
        return expect(result, STOPPED, why=f"monitor {label} must say not running")

    def both(first: tuple[bool, str], second_fn) -> tuple[bool, str]:
        if not first[0]:
            return first
        second = second_fn()
        return second[0], f"{first[1]}; {second[1]}"

    def start() -> tuple[bool, str]:
        return expect(s.op("start"), OCF.SUCCESS)

    def stop(why: str = "") -> tuple[bool, str]:
        return expect(s.op("stop"), OCF.SUCCESS, why=why)

    def nothing_left() -> tuple[bool, str]:
        strays = s.stray_pids()
        if not strays:
            return True, "no process of the resource is left"
        killed = s.kill_strays()
        return False, (f"{len(killed)} process(es) still ran after a successful stop (killed now): "
                       + "; ".join(killed))

    s.check("start", start, needs=gate)
    s.check(running_name, lambda: running("after start"), needs=("start",))
    if not lsb:
        s.check("probe of a running resource", lambda: expect(
            s.op("monitor", interval=0), OCF.SUCCESS, why="a probe must find a running resource"),
            needs=("start",))
        for depth in sorted({a.depth for a in (s.info.actions if s.info else ())
                             if a.name == "monitor" and a.depth > 0}):
            s.check(f"monitor at depth {depth}", lambda d=depth: expect(
                s.op("monitor", interval=interval, depth=d), OCF.SUCCESS), needs=("start",))
    s.check("start on a started resource", lambda: both(
        expect(s.op("start"), OCF.SUCCESS, why="start on a started resource must succeed"),
        lambda: running("after a second start")), needs=("start",))
    s.check("stop", lambda: stop(), needs=gate)
    s.check("nothing left after stop", nothing_left, needs=("stop",))
    s.check(stopped_name, lambda: stopped("after stop"), needs=("stop",))
    s.check("stop on a stopped resource", lambda: both(
        stop(why="stop on a stopped resource must succeed"), lambda: stopped("after a second stop")),
        needs=("stop",))
    s.check("start after stop", lambda: both(start(), lambda: running("after a restart")),
            needs=("stop",))
    s.check("stop after restart", lambda: both(stop(), nothing_left), needs=("start after stop",))


def required_parameter_checks(s: HarnessSession) -> None:
    """Drop each required parameter in turn: validate-all (or start) must refuse."""
    required = [p.name for p in (s.info.parameters if s.info else ()) if p.required]
    given = [name for name in required if name in s.params]
    if not required:
        return
    for name in required:
        if name not in given:
            s.check(f"required parameter {name!r}", lambda n=name: (
                False, f"not given: pass --param {n}=VALUE so the harness can run the agent"))
    for name in given:
        s.check(f"required parameter {name!r}", lambda n=name: _refuses_without(s, n))


def _refuses_without(s: HarnessSession, name: str) -> tuple[bool, str]:
    params = {k: v for k, v in s.params.items() if k != name}
    refused = (OCF.ERR_ARGS, OCF.ERR_CONFIGURED)
    result = s.op("validate", params=params)
    if result.code == OCF.ERR_UNIMPLEMENTED and not result.timed_out:
        started = s.op("start", params=params)
        if started.code == OCF.SUCCESS and not started.timed_out:
            s.op("stop")
            return False, f"without {name}: {said(started)}; a required parameter must be required"
        return True, f"without {name}: {said(started)}"
    if result.code == OCF.SUCCESS and not result.timed_out:
        return False, (f"without {name}: {said(result)}; validate-all must refuse with "
                       "err-args (2) or err-configured (6), or the parameter is not required")
    return expect(result, *refused)


def lsb_checks(s: HarnessSession) -> None:
    """The LSB version: header, status 3 when stopped, start/stop twice, status 0 running."""
    def header() -> tuple[bool, str]:
        fields = read_lsb_header(getattr(s.handle, "path", ""))
        if not fields:
            return False, "no ### BEGIN INIT INFO block"
        missing = [f for f in ("Provides", "Short-Description") if f not in fields]
        detail = f"Provides: {fields.get('Provides', '-')}"
        return True, detail + (f"; warning: no {', '.join(missing)}" if missing else "")

    s.check("LSB header", header)
    s.check("status of a stopped service", lambda: expect_lsb_status(
        s.op("monitor"), 3, why="not running must be 3; is it already running?"))
    lifecycle(s)


def cleanup(s: HarnessSession) -> None:
    """Stop the resource if a check left it running, kill what remains, report it."""
    def at_the_end() -> tuple[bool, str]:
        notes = []
        if s.stray_pids() or "stop after restart" in s.failed:
            result = s.op("stop")
            notes.append(f"final {said(result)}")
        killed = s.kill_strays()
        if killed:
            return False, "; ".join(notes + [f"killed {len(killed)} leftover process(es): "
                                             + "; ".join(killed)])
        return True, "; ".join(notes + ["no process of the resource is left"])

    s.check("nothing left at the end", at_the_end)
