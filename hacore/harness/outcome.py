"""How one operation's result reads in a check's detail line."""

from __future__ import annotations

from hacore.agent.codes import OCF
from hacore.executor.operation import OperationResult


def code_text(code: OCF) -> str:
    return f"{code.label} ({int(code)})"


def said(result: OperationResult) -> str:
    """``stop → err-generic (1) in 0.012s: reason`` or a timeout with what was killed."""
    if result.timed_out:
        killed = "; ".join(" ".join(k.split()) for k in result.killed) or "nothing left to kill"
        return f"{result.reason} [{killed}]"
    text = f"{result.action} → {code_text(result.code)} in {result.duration:.3f}s"
    return f"{text}: {result.reason}" if result.reason else text


def expect(result: OperationResult, *wanted: OCF, why: str = "") -> tuple[bool, str]:
    """(ok, detail) for a result that should carry one of ``wanted``."""
    if not result.timed_out and result.code in wanted:
        return True, said(result)
    expected = " or ".join(code_text(c) for c in wanted)
    detail = f"{said(result)}; expected {expected}"
    return False, f"{detail} ({why})" if why else detail


def expect_lsb_status(result: OperationResult, wanted: int, why: str = "") -> tuple[bool, str]:
    """(ok, detail) for an LSB ``status`` that should exit with ``wanted`` exactly."""
    status = result.exit_status
    if result.timed_out:
        return False, said(result)
    detail = f"status exited {status} in {result.duration:.3f}s"
    if status == wanted:
        return True, detail
    detail += f"; LSB expects {wanted}"
    return False, f"{detail} ({why})" if why else detail
