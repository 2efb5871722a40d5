"""Fence device parameters checked against the fence agents' meta-data.

``fence_parameter_problems(config)`` returns (path, message) pairs in the config loader's
path convention, so ``hacore config validate`` can add each with ``Findings.error(path,
message)``. Checked: the agent exists; every device parameter, secret and per-node
parameter is one the agent declares (or hacore's own ``hacore_timeout``/``hacore_retries``);
values fit integer/boolean/second/select types; every required parameter is given by the
device, its secrets, or every node's use of it; ``action`` is never set by hand.
"""

from __future__ import annotations

from collections.abc import Callable

from hacore.config.model import ClusterConfig, FenceDevice
from hacore.errors import HacoreError
from hacore.fencing.catalog import fence_device_parameters
from hacore.fencing.metadata import FenceParameter

Path = tuple[str | int, ...]
ParameterSource = Callable[[str], list[FenceParameter]]
#: given by hacore on every call, never required from the configuration
PROTOCOL_PARAMS = ("action", "nodename")
_BOOL = {"0", "1", "true", "false", "yes", "no", "on", "off"}


def value_problem(spec: FenceParameter, value: str) -> str | None:
    """Why ``value`` does not fit ``spec``'s type; None when it does."""
    if spec.type == "integer":
        try:
            int(value, 10)
        except ValueError:
            return f"must be an integer, not {value!r}"
    elif spec.type == "second":
        try:
            if float(value) < 0:
                return f"must be a number of seconds >= 0, not {value!r}"
        except ValueError:
            return f"must be a number of seconds, not {value!r}"
    elif spec.type == "boolean" and value.lower() not in _BOOL:
        return f"must be true or false, not {value!r}"
    elif spec.type == "select" and spec.options and value not in spec.options:
        return f"must be one of {', '.join(spec.options)}, not {value!r}"
    return None


def _aliases(specs: dict[str, FenceParameter]) -> dict[str, set[str]]:
    """name -> every name that can stand for it (plug <-> port via obsoletes)."""
    out = {name: {name} for name in specs}
    for name, spec in specs.items():
        if spec.obsoletes and spec.obsoletes in specs:
            out[name].add(spec.obsoletes)
            out[spec.obsoletes].add(name)
    return out


def _check_values(device: FenceDevice, specs: dict[str, FenceParameter],
                  values: dict[str, str], path: Path, out: list[tuple[Path, str]]) -> None:
    valid = ", ".join(sorted(n for n in specs if n not in PROTOCOL_PARAMS))
    for name, value in values.items():
        if name in ("action", "option"):
            out.append((path + (name,), (f"fence device {device.name!r}: {name!r} is chosen by "
                        "hacore for each call; remove it")))
            continue
        spec = specs.get(name)
        if spec is None:
            out.append((path + (name,), (f"fence agent {device.agent!r} has no parameter "
                        f"{name!r}; its parameters: {valid}")))
            continue
        why = value_problem(spec, str(value))
        if why:
            out.append((path + (name,), f"parameter {name} of fence agent {device.agent!r} {why}"))


def fence_parameter_problems(config: ClusterConfig,
                             parameters: ParameterSource = fence_device_parameters
                             ) -> list[tuple[Path, str]]:
    """Every problem with fence device parameters, as (config path, message) pairs."""
    out: list[tuple[Path, str]] = []
    uses: dict[str, list[tuple[Path, dict[str, str]]]] = {}
    for i, node in enumerate(config.nodes):
        for m, method in enumerate(node.fence):
            for d, ref in enumerate(method.devices):
                uses.setdefault(ref.device, []).append(
                    (("nodes", i, "fence", m, "devices", d), dict(ref.params)))
    for device in config.fence_devices:
        path: Path = ("fence_devices", device.name)
        try:
            specs = {p.name: p for p in parameters(device.agent)}
        except HacoreError as exc:
            out.append((path + ("agent",), f"fence agent {device.agent!r} is not usable here: {exc}"))
            continue
        aliases = _aliases(specs)
        _check_values(device, specs, {k: str(v) for k, v in device.params.items()},
                      path + ("params",), out)
        for name in device.secret_files:
            if name not in specs:
                out.append((path + ("secrets", name), (f"fence agent {device.agent!r} has no "
                            f"parameter {name!r}")))
        given = set(device.params) | set(device.secret_files)
        required = [s for s in specs.values() if s.required and s.default is None
                    and s.name not in PROTOCOL_PARAMS and not s.deprecated]
        for ref_path, ref_params in uses.get(device.name, []):
            _check_values(device, specs, ref_params, ref_path, out)
            for spec in required:
                if not (aliases.get(spec.name, {spec.name}) & (given | set(ref_params))):
                    out.append((ref_path, (f"fence agent {device.agent!r} requires parameter "
                                f"{spec.name!r}; set it on device {device.name!r} or here")))
        if not uses.get(device.name):
            for spec in required:
                if not aliases.get(spec.name, {spec.name}) & given:
                    out.append((path + ("params",), (f"fence agent {device.agent!r} requires "
                                f"parameter {spec.name!r}")))
    return out
