"""The fence-agents calling convention: ``name=value`` lines on stdin, exit codes 0/1/2.

Pure: builds the stdin text from options and reads an exit status as a device reply
(REFERENCE 6.1). ``status`` and ``monitor`` answer 0 for on, 2 for off, 1 for an error;
every other action answers 0 for success and anything else for failure. A timeout is a
failure whatever the action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from hacore.errors import InputError
from hacore.fencing.stdin import parse_stdin  # noqa: F401 - re-exported (native.py, callers)

EXIT_OK, EXIT_ERROR, EXIT_OFF = 0, 1, 2
#: actions that change the power state; only off and reboot can fence
POWER_ACTIONS = ("off", "on", "reboot")
FENCING_ACTIONS = ("off", "reboot")
QUERY_ACTIONS = ("status", "monitor")
ACTIONS = POWER_ACTIONS + QUERY_ACTIONS + ("list", "list-status", "metadata", "validate-all")
PowerState = Literal["on", "off"]


def stdin_text(options: Mapping[str, str]) -> str:
    """The stdin an agent reads: one ``name=value`` per line, in the given order.

    A name or value with a line break (which would smuggle in another option) or a name
    with ``=`` or spaces is refused with an InputError naming it.
    """
    lines = []
    for name, value in options.items():
        text = str(value)
        if not name or any(c in name for c in "=\n\r \t#"):
            raise InputError(f"fence option name {name!r} is not valid (no '=', '#', spaces or "
                             "line breaks)")
        if "\n" in text or "\r" in text:
            raise InputError(f"fence option {name!r}: the value holds a line break, which the "
                             "stdin protocol cannot carry")
        lines.append(f"{name}={text}\n")
    return "".join(lines)


@dataclass(frozen=True)
class DeviceReply:
    """What one fence device said to one action.

    ``ok``: the action succeeded (for status/monitor: the device answered). ``power``: the
    state status/monitor reported (None otherwise, or when the device did not answer).
    ``message``: the agent's last meaningful output line, or what hacore saw (timeout).
    """

    device: str
    agent: str
    action: str
    ok: bool
    power: PowerState | None = None
    exit_status: int | None = None
    timed_out: bool = False
    message: str = ""
    duration: float = 0.0
    attempts: int = 1
    method: str = ""

    @property
    def fenced(self) -> bool:
        """Whether this reply alone proves the target is fenced: off/reboot exited 0."""
        return self.ok and self.action in FENCING_ACTIONS and not self.timed_out

    def to_dict(self) -> dict:
        return asdict(self)


def read_exit(action: str, exit_status: int | None, timed_out: bool) -> tuple[bool, PowerState | None]:
    """(ok, power) for an agent's exit status; a timeout or a signal is never ok."""
    if timed_out or exit_status is None or exit_status < 0:
        return False, None
    if action in QUERY_ACTIONS:
        if exit_status == EXIT_OK:
            return True, "on"
        if exit_status == EXIT_OFF:
            return True, "off"
        return False, None
    return exit_status == EXIT_OK, None


def last_line(stdout: str, stderr: str) -> str:
    """The line that best says what happened: the last ``Failed:``/``Success:``/``Status:``
    line, else the last non-empty line of stderr, else of stdout."""
    lines = [ln.strip() for ln in (stdout + "\n" + stderr).splitlines() if ln.strip()]
    for line in reversed(lines):
        for word in ("Failed:", "Success:", "Status:"):
            at = line.find(word)
            if at >= 0:
                return line[at:]
    for text in (stderr, stdout):
        rest = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if rest:
            return rest[-1]
    return ""
