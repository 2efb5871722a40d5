"""Typed reads from one TOML table, recording a problem (with its line) for each bad value."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from hacore.config.positions import Path
from hacore.config.problems import Findings

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


def type_name(value: object) -> str:
    """How TOML calls the type of a value, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def scalar_text(value: object) -> str | None:
    """A TOML scalar as the string an agent receives; None for lists and tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


class Table:
    """One TOML table at ``path``; unknown keys are reported once, listing the valid ones."""

    def __init__(self, findings: Findings, data: Any, path: Path, allowed: Iterable[str],
                 what: str) -> None:
        self.f = findings
        self.path = path
        self.ok = isinstance(data, dict)
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        if not self.ok:
            findings.error(path, f"{what} must be a table, not {type_name(data)}")
            return
        allowed = list(allowed)
        for key in self.data:
            if key not in allowed:
                findings.error(path + (key,), f"unknown key {key!r} in {what}; valid keys: "
                               + ", ".join(allowed))

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def _typed(self, key: str, types: tuple[type, ...], default: Any, required: bool,
               want: str) -> Any:
        if key not in self.data:
            if required:
                self.f.error(self.path + (key,), f"{key!r} is required ({want})")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in types:
            self.f.error(self.path + (key,), f"{key} must be {want}, not {type_name(value)}")
            return default
        if not isinstance(value, types):
            self.f.error(self.path + (key,), f"{key} must be {want}, not {type_name(value)} "
                         f"{value!r}" if not isinstance(value, (list, dict)) else
                         f"{key} must be {want}, not {type_name(value)}")
            return default
        return value

    def string(self, key: str, default: Any = None, required: bool = False,
               choices: Iterable[str] | None = None) -> Any:
        want = "a string"
        if choices:
            choices = list(choices)
            want = "one of " + ", ".join(repr(c) for c in choices)
        value = self._typed(key, (str,), default, required, want)
        if choices and key in self.data and isinstance(value, str) and value not in choices:
            self.f.error(self.path + (key,), f"{key} = {value!r} is not valid; use {want}")
            return default
        if isinstance(value, str) and key in self.data and not value.strip() and required:
            self.f.error(self.path + (key,), f"{key} must not be empty")
        return value

    def integer(self, key: str, default: Any = None, required: bool = False,
                minimum: int | None = None, maximum: int | None = None) -> Any:
        value = self._typed(key, (int,), default, required, _range("an integer", minimum,
                                                                       maximum))
        out_of_range = isinstance(value, int) and (
            (minimum is not None and value < minimum) or (maximum is not None and value > maximum))
        if key in self.data and out_of_range:
            self.f.error(self.path + (key,), f"{key} = {value} is out of range; use "
                         + _range("an integer", minimum, maximum))
            return default
        return value

    def number(self, key: str, default: Any = None, required: bool = False,
               minimum: float | None = None, positive: bool = False) -> Any:
        want = "a number of seconds" + (" > 0" if positive else
                                        f" >= {minimum:g}" if minimum is not None else "")
        value = self._typed(key, (int, float), default, required, want)
        if key in self.data and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                self.f.error(self.path + (key,), f"{key} must be {want}, not {value}")
                return default
            if (positive and value <= 0) or (minimum is not None and value < minimum):
                self.f.error(self.path + (key,), f"{key} = {value} is out of range; use {want}")
                return default
            return float(value)
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        return self._typed(key, (bool,), default, False, "true or false")

    def string_list(self, key: str, required: bool = False) -> list[str]:
        value = self._typed(key, (list,), [], required, "a list of strings")
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append(item)
            else:
                self.f.error(self.path + (key, i), f"{key}[{i}] must be a non-empty string, "
                             f"not {type_name(item)}")
        return out

    def params(self, key: str) -> dict[str, str]:
        """A table of agent parameters: scalars only, given to the agent as strings."""
        value = self._typed(key, (dict,), {}, False, "a table of name = value")
        out: dict[str, str] = {}
        for name, item in value.items():
            text = scalar_text(item)
            if text is None:
                self.f.error(self.path + (key, name), f"parameter {name} must be a string, "
                             f"number or boolean, not {type_name(item)}")
            else:
                out[name] = text
        return out


def _range(what: str, minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{what} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{what} >= {minimum}"
    return what
