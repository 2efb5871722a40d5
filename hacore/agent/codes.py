"""OCF return codes: the one result vocabulary of native agents, OCF scripts and LSB scripts."""

from __future__ import annotations

from enum import IntEnum


class OCF(IntEnum):
    """Every OCF 1.1 return code, with both the old and the new spellings of 8 and 9."""

    SUCCESS = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191

    RUNNING_MASTER = 8
    FAILED_MASTER = 9

    @classmethod
    def from_exit(cls, status: int) -> OCF:
        """The code an OCF script's exit status means; unknown statuses are generic errors."""
        try:
            return cls(status)
        except ValueError:
            return cls.ERR_GENERIC

    @property
    def label(self) -> str:
        """A lower-case name for people: ``not-running``, ``err-configured``."""
        return self.name.lower().replace("_", "-")

    @property
    def is_running(self) -> bool:
        """True for every monitor result that means the resource is active and healthy."""
        return self in (OCF.SUCCESS, OCF.RUNNING_PROMOTED, OCF.DEGRADED, OCF.DEGRADED_PROMOTED)


def lsb_status_to_ocf(status: int) -> OCF:
    """Map an LSB ``status`` exit code: 0 running, 1/2/3 not running, anything else an error."""
    if status == 0:
        return OCF.SUCCESS
    if status in (1, 2, 3):
        return OCF.NOT_RUNNING
    if status == 150:
        return OCF.ERR_INSTALLED
    if status == 151:
        return OCF.ERR_PERM
    return OCF.ERR_GENERIC


def lsb_action_to_ocf(status: int) -> OCF:
    """Map an LSB non-status exit code: 0..7 pass through, anything else is a generic error."""
    return OCF(status) if 0 <= status <= 7 else OCF.ERR_GENERIC
