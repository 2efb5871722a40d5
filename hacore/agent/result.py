"""What an agent operation returns: an OCF code and a reason a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

from hacore.agent.codes import OCF


@dataclass(frozen=True)
class Result:
    """The outcome of one agent operation.

    ``reason`` says why, in words an administrator can act on ("address 10.0.0.5/24 is
    already held by 3a:5f:..:01"); it is shown as the failure reason.
    """

    code: OCF
    reason: str = ""

    @classmethod
    def ok(cls, reason: str = "") -> Result:
        return cls(OCF.SUCCESS, reason)

    @classmethod
    def not_running(cls, reason: str = "") -> Result:
        return cls(OCF.NOT_RUNNING, reason)

    @classmethod
    def error(cls, code: OCF = OCF.ERR_GENERIC, reason: str = "") -> Result:
        return cls(OCF(code), reason)

    @property
    def success(self) -> bool:
        return self.code == OCF.SUCCESS


class AgentFailure(Exception):
    """Raise from an agent method to end the operation with ``code`` and ``reason``."""

    def __init__(self, code: OCF, reason: str) -> None:
        super().__init__(reason)
        self.code = OCF(code)
        self.reason = reason
