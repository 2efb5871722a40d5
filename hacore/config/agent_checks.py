"""Resource parameters checked against the meta-data of the agents installed where we run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hacore.config.model import ClusterConfig, Resource
from hacore.config.positions import Path
from hacore.config.problems import Findings
from hacore.errors import AgentNotFound

_TRUE = {"1", "yes", "true", "on", "y"}
_FALSE = {"0", "no", "false", "off", "n"}


def value_problem(ptype: str, value: str, options: tuple[str, ...] | list[str]) -> str | None:
    """Why ``value`` does not fit a parameter of type ``ptype``; None when it fits."""
    if ptype == "integer":
        try:
            int(value, 10)
        except ValueError:
            return f"must be an integer, not {value!r}"
    elif ptype == "boolean":
        if value.lower() not in _TRUE | _FALSE:
            return f"must be true or false, not {value!r}"
    elif ptype == "select" and options:
        if value not in options:
            return f"must be one of {', '.join(options)}, not {value!r}"
    elif ptype in ("number", "float", "time"):
        try:
            float(value.rstrip("smh") if ptype == "time" else value)
        except ValueError:
            return f"must be a number, not {value!r}"
    return None


def check_resource(f: Findings, res: Resource, path: Path, info: Any) -> None:
    """Unknown, missing required, and mistyped parameters of one resource definition."""
    params = {p.name: p for p in getattr(info, "parameters", ())}
    for name, value in res.params.items():
        spec = params.get(name)
        if spec is None:
            valid = ", ".join(sorted(params)) or "none"
            f.error(path + ("params", name), f"agent {res.agent!r} has no parameter "
                    f"{name!r}; its parameters: {valid}")
            continue
        why = value_problem(getattr(spec, "type", "string") or "string", value,
                            tuple(getattr(spec, "options", ()) or ()))
        if why:
            f.error(path + ("params", name), f"parameter {name} of agent {res.agent!r} {why}")
    for name in res.secret_files:
        if name not in params:
            f.error(path + ("secrets", name), f"agent {res.agent!r} has no parameter "
                    f"{name!r}; its parameters: {', '.join(sorted(params)) or 'none'}")
    for name, spec in params.items():
        if getattr(spec, "required", False) and name not in res.params \
                and name not in res.secret_files and getattr(spec, "default", None) is None:
            f.error(path + ("params",) if f.positions.line(path + ("params",)) else path,
                    f"agent {res.agent!r} requires parameter {name!r}")


def check_agents(f: Findings, config: ClusterConfig, catalogue: Callable[[str], Any],
                 definitions: list[tuple[Resource, Path]]) -> None:
    """Check every resource definition's agent and parameters against ``catalogue``."""
    cache: dict[str, Any] = {}
    for res, path in definitions:
        if not res.agent:
            continue
        if res.agent not in cache:
            try:
                cache[res.agent] = catalogue(res.agent)
            except AgentNotFound as exc:
                cache[res.agent] = exc
            except Exception as exc:  # noqa: BLE001 - a broken agent must not break validation
                cache[res.agent] = AgentNotFound(f"agent {res.agent!r} could not describe "
                                                 f"itself: {exc}")
        info = cache[res.agent]
        if isinstance(info, Exception):
            f.error(path + ("agent",), f"agent {res.agent!r} is not usable here: {info}")
            continue
        check_resource(f, res, path, info)
