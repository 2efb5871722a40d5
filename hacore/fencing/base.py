"""The base class of native fence devices (plugins), and how one answers an action.

A native fencer speaks the same protocol as a fence-agents script: hacore runs it in a
child process (``python -m hacore.fencing.native NAME``) with ``name=value`` lines on stdin,
in its own process group, killed at its timeout. So the class only does the work::

    from hacore.agent import Param
    from hacore.fencing import Fencer, FenceFailure, hookimpl

    class Pdu(Fencer):
        name = "my-pdu"
        shortdesc = "My PDU over HTTP"
        parameters = (Param("ip", "PDU address", required=True),
                      Param("plug", "Outlet number", required=True))

        def off(self): ...       # raise FenceFailure("why") when it did not work
        def on(self): ...
        def status(self): return "on"   # or "off"

    @hookimpl
    def hacore_register_fencers(register):
        register(Pdu)
"""

from __future__ import annotations

from typing import Any, ClassVar

from hacore.agent.params import Param
from hacore.fencing.protocol import PowerState


class FenceFailure(Exception):
    """Raised by a fencer method when the action did not succeed; the message says why."""


class Fencer:
    """A fence device type. Subclasses set ``name``, ``shortdesc``, ``parameters`` and
    implement ``off``, ``on`` and ``status``; ``reboot`` (off, then on) and ``monitor``
    (a status that answers) have defaults; ``list`` is optional.

    ``self.params`` holds the typed parameter values (defaults filled in); ``self.plug``
    the plug/port the node is on (None when not given) and ``self.nodename`` the node.
    Methods are plain, synchronous and may block: hacore owns the timeout.
    """

    name: ClassVar[str] = ""
    shortdesc: ClassVar[str] = ""
    longdesc: ClassVar[str] = ""
    parameters: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, params: dict[str, Any], plug: str | None = None,
                 nodename: str | None = None) -> None:
        self.params = params
        self.plug = plug
        self.nodename = nodename

    def off(self) -> None:
        """Power the target off and verify it is off; raise FenceFailure otherwise."""
        raise NotImplementedError

    def on(self) -> None:
        """Power the target on (unfence); raise FenceFailure otherwise."""
        raise NotImplementedError

    def status(self) -> PowerState:
        """The target's power state, "on" or "off"; raise FenceFailure if unknown."""
        raise NotImplementedError

    def reboot(self) -> None:
        """Off, then on. Succeeds when the off part did (a failed power-on is only logged)."""
        self.off()
        try:
            self.on()
        except FenceFailure:
            pass

    def monitor(self) -> None:
        """Check the device is reachable; the default asks for the status."""
        self.status()

    def list(self) -> list[str]:
        """The plugs of a multi-plug device; the default says listing is not supported."""
        raise FenceFailure(f"{self.name} cannot list plugs")


REQUIRED_METHODS = ("off", "on", "status")


def implemented_actions(cls: type[Fencer]) -> tuple[str, ...]:
    """The fence-agents actions a fencer class answers, for its meta-data."""
    actions = ["on", "off", "reboot", "status", "monitor"]
    if cls.list is not Fencer.list:
        actions += ["list", "list-status"]
    return tuple(actions + ["metadata", "validate-all"])
