"""One call of one fence device: the options it gets, the process, retries, the reply.

Options sent on stdin (REFERENCE 6.1): the device's parameters, its secrets (read from
their root-only files now), the node's per-device parameters (``port``/``plug``...), then
``nodename`` and ``action``. ``hacore_timeout`` and ``hacore_retries`` are read by hacore
and not sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from hacore.config.model import FenceDevice, FenceDeviceRef
from hacore.errors import HacoreError, InputError
from hacore.fencing.catalog import FenceAgentHandle, resolve_fence_agent
from hacore.fencing.protocol import DeviceReply, last_line, read_exit, stdin_text
from hacore.program import ProcessResult, run_agent_process

DEFAULT_RETRIES = 1
#: (argv, stdin, timeout) -> ProcessResult; tests and the daemon may pass their own
ProcessRunner = Callable[[list[str], str, float], ProcessResult]


@dataclass(frozen=True)
class DeviceCall:
    """Everything needed to call one device for one node, options already merged."""

    device: str
    agent: str
    options: dict[str, str]
    timeout: float
    retries: int


def _number(device: str, key: str, raw: str, minimum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"fence device {device!r}: {key}={raw!r} is not a number") from None
    if value < minimum or math.isnan(value):
        raise InputError(f"fence device {device!r}: {key}={raw!r} must be at least {minimum:g}")
    return value


def read_secret(device: str, param: str, path: str) -> str:
    """A secret's value: the file's first line. InputError names device, parameter, file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"fence device {device!r}: cannot read the secret file {path} for "
                         f"parameter {param!r}: {exc.strerror or exc}") from None
    return text.splitlines()[0] if text else ""


def build_call(device: FenceDevice, ref: FenceDeviceRef, node: str, default_timeout: float,
               read_secrets: bool = True) -> DeviceCall:
    """The merged options for calling ``device`` about ``node`` (action not yet set)."""
    merged: dict[str, str] = {k: str(v) for k, v in device.params.items()}
    if read_secrets:
        for param, path in device.secret_files.items():
            merged[param] = read_secret(device.name, param, path)
    merged.update({k: str(v) for k, v in ref.params.items()})
    timeout = default_timeout
    retries = DEFAULT_RETRIES
    if "hacore_timeout" in merged:
        timeout = _number(device.name, "hacore_timeout", merged.pop("hacore_timeout"), 0.001)
    if "hacore_retries" in merged:
        retries = int(_number(device.name, "hacore_retries", merged.pop("hacore_retries"), 0))
    for reserved in ("action", "option"):
        if reserved in merged:
            raise InputError(f"fence device {device.name!r}: parameter {reserved!r} is chosen by "
                             "hacore for each call; remove it from the configuration")
    merged["nodename"] = node
    return DeviceCall(device.name, device.agent, merged, timeout, retries)


def call_device(call: DeviceCall, action: str, runner: ProcessRunner = run_agent_process,
                handle: FenceAgentHandle | None = None) -> DeviceReply:
    """Run ``action`` on the device, retrying a failure ``call.retries`` more times.

    A status reply (on or off) is an answer, not a failure, and is not retried.
    """
    try:
        handle = handle or resolve_fence_agent(call.agent)
        stdin = stdin_text({**call.options, "action": action})
    except HacoreError as exc:
        return DeviceReply(call.device, call.agent, action, False, message=str(exc), attempts=0)
    reply: DeviceReply | None = None
    total = 0.0
    for attempt in range(1, call.retries + 2):
        result = runner(list(handle.argv), stdin, call.timeout)
        total += result.duration
        ok, power = read_exit(action, result.exit_status, result.timed_out)
        if result.timed_out:
            message = f"timed out after {call.timeout:g} s; its process group was killed"
        elif result.error:
            message = result.error
        else:
            message = last_line(result.stdout, result.stderr) or f"exit status {result.exit_status}"
        reply = DeviceReply(call.device, call.agent, action, ok, power, result.exit_status,
                            result.timed_out, message, total, attempt)
        if ok:
            break
    assert reply is not None
    return replace(reply, duration=total)

