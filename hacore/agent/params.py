"""Typed parameters of an agent: the schema that checks values and produces meta-data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRUE_WORDS = frozenset({"1", "yes", "true", "on", "y"})
FALSE_WORDS = frozenset({"0", "no", "false", "off", "n", ""})
TYPES = ("string", "integer", "boolean", "select")


class ParamError(ValueError):
    """A parameter value that does not fit its schema."""


@dataclass(frozen=True)
class Param:
    """One instance parameter of an agent.

    ``type`` is one of ``string``, ``integer``, ``boolean``, ``select`` (OCF 1.1 content
    types); ``options`` lists the values of a ``select``. ``unique_group`` names a group of
    parameters whose values together must be unique across resources (OCF 1.1).
    ``secret`` values are never logged.
    """

    name: str
    shortdesc: str
    type: str = "string"
    required: bool = False
    default: Any = None
    longdesc: str = ""
    options: tuple[str, ...] = ()
    unique_group: str | None = None
    reloadable: bool = False
    secret: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ParamError(f"parameter {self.name!r}: type {self.type!r} is not one of {', '.join(TYPES)}")
        if self.type == "select" and not self.options:
            raise ParamError(f"parameter {self.name!r}: a select needs options")
        if self.required and self.default is not None:
            raise ParamError(f"parameter {self.name!r}: a required parameter has no default")

    def convert(self, raw: str) -> Any:
        """The typed value of a string given by a user or a configuration file."""
        if self.type == "integer":
            try:
                return int(raw.strip())
            except ValueError:
                raise ParamError(f"parameter {self.name}={raw!r} is not an integer") from None
        if self.type == "boolean":
            word = raw.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ParamError(f"parameter {self.name}={raw!r} is not a boolean (use yes/no, true/false, 1/0)")
        if self.type == "select" and raw not in self.options:
            raise ParamError(f"parameter {self.name}={raw!r} is not one of {', '.join(self.options)}")
        return raw

    @property
    def default_text(self) -> str | None:
        """The default as OCF meta-data writes it."""
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)


def bind_params(schema: tuple[Param, ...], raw: dict[str, str]) -> dict[str, Any]:
    """Check raw string values against a schema and return typed values with defaults.

    Raises ParamError naming every unknown, missing or malformed parameter.
    """
    by_name = {p.name: p for p in schema}
    problems: list[str] = []
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        valid = ", ".join(sorted(by_name)) or "none"
        problems.append(f"unknown parameter {', '.join(unknown)} (valid: {valid})")
    values: dict[str, Any] = {}
    for param in schema:
        if param.name in raw:
            try:
                values[param.name] = param.convert(raw[param.name])
            except ParamError as exc:
                problems.append(str(exc))
        elif param.required:
            problems.append(f"required parameter {param.name!r} is missing")
        else:
            values[param.name] = param.default
    if problems:
        raise ParamError("; ".join(problems))
    return values
