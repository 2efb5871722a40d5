"""What is wrong with a configuration file, where, and what would be valid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hacore.config.positions import Path, PositionMap
from hacore.errors import InputError

Severity = Literal["error", "warning"]


def dotted(path: Path) -> str:
    """``("services", "web", "tree", 0)`` -> ``services.web.tree[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if part.replace("_", "a").replace("-", "a").isalnum() else f'"{part}"'
            out += f".{text}" if out else text
    return out


@dataclass(frozen=True)
class Problem:
    """One finding: ``file:line: key: message``. ``line`` is None only when unknown."""

    file: str
    line: int | None
    key: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}:{key} {prefix}{self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "key": self.key,
                "message": self.message, "severity": self.severity}


class ProblemList:
    """The errors and the warnings of anything that holds ``problems``."""

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class ConfigError(ProblemList, InputError):
    """The configuration is invalid. ``problems`` holds every error (and the warnings)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        head = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in configuration"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in errors))


@dataclass
class Findings(ProblemList):
    """Collects problems for one file, resolving key paths to line numbers."""

    file: str
    positions: PositionMap = field(default_factory=PositionMap)
    problems: list[Problem] = field(default_factory=list)

    def error(self, path: Path, message: str) -> None:
        self._add(path, message, "error")

    def warn(self, path: Path, message: str) -> None:
        self._add(path, message, "warning")

    def _add(self, path: Path, message: str, severity: Severity) -> None:
        self.problems.append(
            Problem(self.file, self.positions.line(path), dotted(path), message, severity))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)
