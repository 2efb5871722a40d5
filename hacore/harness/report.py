"""What the harness found: one CheckResult per check, a HarnessReport for the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, indent, tostring


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, what was seen, how long it took.

    A ``skipped`` check did not run because a check it depends on failed; it counts as
    not passed (nothing was shown to work).
    """

    name: str
    ok: bool
    detail: str
    seconds: float
    skipped: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail,
                "seconds": round(self.seconds, 4)}

    @property
    def mark(self) -> str:
        if self.skipped:
            return "-"
        return "✓" if self.ok else "✗"


@dataclass
class HarnessReport:
    """Every check of one harness run against one agent."""

    agent: str
    agent_class: str
    instance: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when there was at least one check and every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok and not c.skipped]

    @property
    def skipped(self) -> list[CheckResult]:
        return [c for c in self.checks if c.skipped]

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.checks)

    def check(self, name: str) -> CheckResult:
        """The check called ``name``; KeyError names the checks there are."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(f"no check {name!r} (checks: {', '.join(c.name for c in self.checks)})")

    def lines(self) -> list[str]:
        """One line per check: mark, name, duration, detail."""
        width = max((len(c.name) for c in self.checks), default=10)
        return [f"{c.mark} {c.name:<{width}}  {c.seconds:7.3f}s  {c.detail}" for c in self.checks]

    def verdict(self) -> str:
        passed = sum(1 for c in self.checks if c.ok)
        text = f"{len(self.checks)} checks: {passed} passed, {len(self.failures)} failed"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return f"{text} ({self.seconds:.2f}s)"

    def summary(self) -> str:
        """The whole report as text, the way `hacore-agent test` prints it."""
        head = f"agent {self.agent} ({self.agent_class}), instance {self.instance}"
        return "\n".join([head, *self.lines(), self.verdict()])

    def to_dict(self) -> dict:
        return {"agent": self.agent, "passed": self.passed,
                "checks": [c.to_dict() for c in self.checks]}

    def to_junit(self) -> str:
        """JUnit XML: one testsuite, one testcase per check."""
        suite = Element("testsuite", name=f"hacore-agent test {self.agent}",
                        tests=str(len(self.checks)), failures=str(len(self.failures)),
                        skipped=str(len(self.skipped)), errors="0", time=f"{self.seconds:.3f}")
        classname = "hacore-agent." + self.agent.replace(".", "_")
        for item in self.checks:
            case = SubElement(suite, "testcase", classname=classname, name=item.name,
                              time=f"{item.seconds:.3f}")
            if item.skipped:
                SubElement(case, "skipped", message=item.detail)
            elif not item.ok:
                SubElement(case, "failure", message=item.detail).text = item.detail
            else:
                SubElement(case, "system-out").text = item.detail
        indent(suite)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(suite, encoding="unicode") + "\n"


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, fsync and rename."""
    from hacore.files import write_atomically as write

    write(path, text)
