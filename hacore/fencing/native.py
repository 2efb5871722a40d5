"""Run a native fencer as a fence agent: ``python -m hacore.fencing.native NAME``.

The child reads ``name=value`` lines on stdin like any fence-agents script, so hacore runs
native fencers and scripts through the same path (own process group, hard timeout).
Unknown options are ignored (as fence-agents do), ``port`` is an alias of ``plug``.
Exit codes: 0 success (status: on), 1 failure, 2 status off.
"""

from __future__ import annotations

import sys
import traceback

from hacore.agent.params import Param, ParamError
from hacore.fencing.base import FenceFailure, Fencer, implemented_actions
from hacore.fencing.metadata import FenceAgentInfo, FenceParameter, render_fence_metadata
from hacore.fencing.protocol import EXIT_ERROR, EXIT_OFF, EXIT_OK, parse_stdin

_ACTION_PARAM = FenceParameter("action", required=True, default="reboot",
                               shortdesc="Fencing action")


def _fence_parameter(p: Param) -> FenceParameter:
    return FenceParameter(name=p.name, required=p.required, type=p.type,
                          default=p.default_text, shortdesc=p.shortdesc, options=p.options)


def native_fence_info(cls: type[Fencer], origin: str = "") -> FenceAgentInfo:
    """The meta-data of a native fencer class, in the fence-agents shape."""
    params = [_ACTION_PARAM] + [_fence_parameter(p) for p in cls.parameters]
    return FenceAgentInfo(name=cls.name, shortdesc=cls.shortdesc,
                          longdesc=cls.longdesc or cls.shortdesc, parameters=tuple(params),
                          actions=implemented_actions(cls), origin=origin)


def bind_options(cls: type[Fencer], options: dict[str, str]) -> Fencer:
    """A fencer instance from stdin options: known parameters typed, the rest ignored."""
    values = {}
    problems = []
    for p in cls.parameters:
        raw = options.get(p.name)
        if raw is None and p.name == "plug":
            raw = options.get("port")
        if raw is None:
            if p.required:
                problems.append(f"required parameter {p.name!r} is missing")
            values[p.name] = p.default
            continue
        try:
            values[p.name] = p.convert(raw)
        except ParamError as exc:
            problems.append(str(exc))
    if problems:
        raise FenceFailure("; ".join(problems))
    plug = options.get("plug") or options.get("port") or None
    return cls(values, plug=plug, nodename=options.get("nodename") or None)


def run_fencer(cls: type[Fencer], options: dict[str, str]) -> int:
    """Carry out one action; prints a fence-agents style line and returns the exit code."""
    action = options.get("action") or options.get("option") or "reboot"
    if action == "metadata":
        print(render_fence_metadata(native_fence_info(cls)), end="")
        return EXIT_OK
    if action not in implemented_actions(cls):
        print(f"Failed: unrecognised action '{action}'", file=sys.stderr)
        return EXIT_ERROR
    try:
        fencer = bind_options(cls, options)
        if action == "validate-all":
            return EXIT_OK
        if action == "monitor":
            fencer.monitor()
            return EXIT_OK
        if action == "status":
            state = fencer.status()
            if state not in ("on", "off"):
                raise FenceFailure(f"status answered {state!r}, not 'on' or 'off'")
            print(f"Status: {state.upper()}")
            return EXIT_OFF if state == "off" else EXIT_OK
        if action in ("list", "list-status"):
            for plug in fencer.list():
                print(f"{plug},{plug}")
            return EXIT_OK
        getattr(fencer, action)()
    except FenceFailure as exc:
        print(f"Failed: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a fencer's bug is a failed action with its traceback
        traceback.print_exc()
        print(f"Failed: {cls.name} raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print({"off": "Success: Powered OFF", "on": "Success: Powered ON",
           "reboot": "Success: Rebooted"}[action])
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Child entry point: find the installed fencer named in argv and run stdin's action."""
    from hacore.fencing.registry import installed_fencers

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("Failed: usage: python -m hacore.fencing.native FENCER_NAME", file=sys.stderr)
        return EXIT_ERROR
    registry = installed_fencers()
    found = registry.fencers.get(args[0])
    if found is None:
        print(f"Failed: no fencer named {args[0]!r} is installed", file=sys.stderr)
        return EXIT_ERROR
    return run_fencer(found.cls, parse_stdin(sys.stdin.read()))


if __name__ == "__main__":
    sys.exit(main())
