"""Fence a node with its configured methods: tried in order, every device of a method must
succeed (rgmanager/fenced semantics), the outcome either confirmed or failed.

``reboot`` with one device calls the agent's reboot; with several (dual power supplies) it
turns every device off, then every device on: the node is fenced once all were off, and a
failed power-on is reported but does not undo the fence. With ``defer_on`` (the daemon's
fences) a reboot is always off on every device, reported confirmed, then on afterwards, so
recovery does not wait for the node to power on. A timeout, an error or a status reply
never counts as fenced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from hacore.config.model import ClusterConfig, FenceMethod
from hacore.errors import HacoreError, InputError
from hacore.fencing.device import DeviceCall, ProcessRunner, build_call, call_device
from hacore.fencing.protocol import FENCING_ACTIONS, DeviceReply, PowerState
from hacore.program import run_agent_process

NODE_ACTIONS = ("off", "reboot", "on", "status")


@dataclass(frozen=True)
class FenceOutcome:
    """The result of fencing (or querying) one node.

    ``ok``: the action succeeded (status: every device of a method answered).
    ``confirmed``: the node is fenced, proven by off/reboot exiting 0 on every device of one
    method; only this lets its services be recovered elsewhere. ``method``: the method that
    did it (None when none did). ``devices``: every device call made, in order.
    ``power``: for status, "off" when every device of the method reports off.
    """

    node: str
    action: str
    ok: bool
    confirmed: bool
    method: str | None
    devices: tuple[DeviceReply, ...]
    detail: str
    duration: float
    power: PowerState | None = None

    def to_dict(self) -> dict:
        return {"node": self.node, "action": self.action, "ok": self.ok,
                "confirmed": self.confirmed, "method": self.method, "power": self.power,
                "detail": self.detail, "duration": round(self.duration, 3),
                "devices": [d.to_dict() for d in self.devices]}


def _method_calls(config: ClusterConfig, node: str, method: FenceMethod,
                  errors: list[DeviceReply]) -> list[DeviceCall] | None:
    devices = {d.name: d for d in config.fence_devices}
    calls = []
    for ref in method.devices:
        device = devices.get(ref.device)
        try:
            if device is None:
                raise InputError(f"fence device {ref.device!r} is not defined")
            calls.append(build_call(device, ref, node, config.timing.fence_timeout))
        except HacoreError as exc:
            agent = device.agent if device is not None else "?"
            errors.append(DeviceReply(ref.device, agent, "-", False, message=str(exc), attempts=0))
            return None
    return calls


#: ``defer_on`` of fence_node: takes the power-on step of a reboot (a callable returning its
#: device replies) and runs it later, e.g. in a thread, after the fence is reported confirmed
PowerOnLater = Callable[[Callable[[], list[DeviceReply]]], None]


def _run_method(calls: list[DeviceCall], action: str, run: Callable[[DeviceCall, str], DeviceReply],
                defer_on: PowerOnLater | None = None
                ) -> tuple[bool, list[DeviceReply], PowerState | None]:
    """(ok, replies, power) of one method."""
    replies: list[DeviceReply] = []
    if action == "reboot" and (len(calls) > 1 or defer_on is not None):
        for call in calls:  # off, off, ... then on, on (dual power supplies)
            reply = run(call, "off")
            replies.append(reply)
            if not reply.ok:
                return False, replies, None
        if defer_on is not None:  # fenced now: powering on again need not be waited for
            defer_on(lambda: [run(call, "on") for call in calls])
            return True, replies, None
        for call in calls:
            replies.append(run(call, "on"))
        return True, replies, None
    for call in calls:
        reply = run(call, action)
        replies.append(reply)
        if not reply.ok:
            return False, replies, None
    if action == "status":
        power: PowerState = "off" if all(r.power == "off" for r in replies) else "on"
        return True, replies, power
    return True, replies, None


def fence_node(config: ClusterConfig, node: str, action: str = "reboot", *,
               runner: ProcessRunner = run_agent_process,
               clock: Callable[[], float] = time.monotonic,
               defer_on: PowerOnLater | None = None) -> FenceOutcome:
    """Run ``node``'s fence methods in order until one succeeds (like fence_node).

    ``defer_on`` (reboot only): each device of the method is turned ``off`` (an agent's off
    exits 0 only once the target is confirmed off), the outcome is returned as confirmed
    at once, and the ``on`` calls are handed to ``defer_on`` to run afterwards. The fence is
    proven by the off calls exactly as by a reboot's (whose off part is what fences; a
    failed power-on never undid a fence here), but recovery need not wait for the node to
    power on again (the testbed's boot, a BMC's power-on and its status polling). Without
    it a one-device reboot is the agent's own ``reboot``.

    Raises InputError for an unknown node, a node without fence methods or an unknown
    action; every device failure is in the outcome instead.
    """
    if action not in NODE_ACTIONS:
        raise InputError(f"fence action {action!r} is not one of {', '.join(NODE_ACTIONS)}")
    found = config.node(node)
    if found is None:
        names = ", ".join(n.name for n in config.nodes)
        raise InputError(f"node {node!r} is not in cluster {config.name!r} (nodes: {names})")
    if not found.fence:
        raise InputError(f"node {node!r} has no fence methods; add fence = [...] to its "
                         "[[nodes]] entry")
    started = clock()
    replies: list[DeviceReply] = []
    failures: list[str] = []

    def run(call: DeviceCall, act: str) -> DeviceReply:
        return call_device(call, act, runner)

    for method in found.fence:
        errors: list[DeviceReply] = []
        calls = _method_calls(config, node, method, errors)
        if calls is None:
            replies.extend(replace(r, method=method.name) for r in errors)
            failures.append(f"method {method.name}: {errors[-1].message}")
            continue
        ok, got, power = _run_method(calls, action, run, defer_on)
        got = [replace(r, method=method.name) for r in got]
        replies.extend(got)
        if ok:
            names = ", ".join(c.device for c in calls)
            confirmed = action in FENCING_ACTIONS
            on_failed = [r.device for r in got if r.action == "on" and not r.ok]
            detail = _success_detail(node, action, method.name, names, power,
                                     deferred_on=defer_on is not None)
            if on_failed and action == "reboot":
                detail += f" (powering on again failed on {', '.join(on_failed)})"
            return FenceOutcome(node, action, True, confirmed, method.name, tuple(replies),
                                detail, clock() - started, power)
        bad = got[-1]
        failures.append(f"method {method.name}: device {bad.device} {bad.action}: {bad.message}")
    detail = (f"{action} of {node} failed: every fence method failed ("
              + "; ".join(failures) + ")")
    return FenceOutcome(node, action, False, False, None, tuple(replies), detail,
                        clock() - started)


def _success_detail(node: str, action: str, method: str, devices: str,
                    power: PowerState | None, deferred_on: bool = False) -> str:
    if action == "status":
        return f"{node} is {power} (method {method}, device {devices})"
    done = {"off": "fenced (powered off)", "reboot": "fenced (rebooted)",
            "on": "powered on"}[action]
    if action == "reboot" and deferred_on:
        done = "fenced (powered off; powering on again follows)"
    return f"{node} {done} by method {method}, device {devices}"
