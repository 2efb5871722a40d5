"""Read a cluster.toml into a checked ClusterConfig, or say everything that is wrong with it.

``load_config(path)`` is what the daemon, ``hacore simulate`` and the CLI call. It raises
``ConfigError`` (an ``InputError``, exit 2) listing every problem with file, line, key and
what would be valid; warnings (e.g. an accepted split-brain risk) are logged on every load
and are available from ``check_config``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Literal

from hacore.config.build_cluster import (
    read_cluster,
    read_domains,
    read_fence_devices,
    read_message_port,
    read_nodes,
    read_quorum,
    read_timing,
)
from hacore.config.build_services import read_services
from hacore.config.checks import run_checks
from hacore.config.model import ClusterConfig, Resource
from hacore.config.positions import Path, scan_positions
from hacore.config.problems import ConfigError, Findings, Problem, ProblemList
from hacore.errors import InputError

log = logging.getLogger("hacore.config")

DEFAULT_PATH = "/etc/hacore/cluster.toml"
MAX_CONFIG_BYTES = 4 * 1024 * 1024
TOP_KEYS = ("cluster", "nodes", "quorum", "timing", "fence_devices", "domains", "resources",
            "services", "alerts", "metrics", "web")
SECRET_PARAM_NAMES = ("passwd", "password", "secret", "key", "community", "token")

#: agent name -> AgentInfo (``.parameters``, ``.actions``); raises AgentNotFound
AgentCatalogue = Callable[[str], Any]
Agents = AgentCatalogue | Literal["installed"] | None
#: fence agent name -> its parameters (hacore.fencing.catalog.fence_device_parameters)
FenceParameterSource = Callable[[str], list[Any]]
FenceAgents = FenceParameterSource | Literal["installed"] | None


@dataclass
class CheckResult(ProblemList):
    """The outcome of checking a file: the config (None when invalid) and every finding."""

    config: ClusterConfig | None
    problems: list[Problem] = field(default_factory=list)


def installed_agents() -> AgentCatalogue | None:
    """The catalogue of agents installed here (hacore.agent.describe_agent), if available."""
    try:
        from hacore.agent import describe_agent  # lazy: importing agents is not free
    except ImportError:
        return None
    return describe_agent


def _syntax_problem(filename: str, exc: tomllib.TOMLDecodeError) -> Problem:
    text = str(exc)
    line = None
    if "(at line " in text:
        try:
            line = int(text.split("(at line ")[1].split(",")[0])
        except (IndexError, ValueError):
            line = None
        text = text.split(" (at line ")[0]
    elif "(at end of document)" in text:
        text = text.replace(" (at end of document)", "") + " at the end of the file"
    return Problem(filename, line, "", f"not valid TOML: {text}")


def installed_fence_agents() -> FenceParameterSource | None:
    """Fence agent parameters from the fence agents installed here, if available."""
    try:
        from hacore.fencing.catalog import fence_device_parameters
    except ImportError:
        return None
    return fence_device_parameters


def check_config_text(text: str, filename: str = "<config>", *, agents: Agents = None,
                      local: bool = False, fence_agents: FenceAgents = None) -> CheckResult:
    """Check a TOML text; never raises for anything in the text.

    ``agents`` / ``fence_agents``: None skips those checks; ``"installed"`` uses what is
    installed here; or pass a catalogue (tests do).
    """
    if len(text) > MAX_CONFIG_BYTES:
        return CheckResult(None, [Problem(filename, None, "", f"file is larger than "
                                          f"{MAX_CONFIG_BYTES // 1024 // 1024} MiB; refused")])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return CheckResult(None, [_syntax_problem(filename, exc)])
    except RecursionError:
        return CheckResult(None, [Problem(filename, None, "", "not valid TOML: nested too "
                                          "deeply")])
    f = Findings(filename, scan_positions(text))
    catalogue = installed_agents() if agents == "installed" else agents
    if agents == "installed" and catalogue is None:
        f.warn((), "no agent catalogue is available here: agent parameters were not checked")
    config, definitions = build_config(f, data, catalogue)
    if catalogue is not None:
        from hacore.config.agent_checks import check_agents
        check_agents(f, config, catalogue, definitions)
    fence_source = installed_fence_agents() if fence_agents == "installed" else fence_agents
    if fence_source is not None:
        from hacore.fencing.checks import fence_parameter_problems
        for path, message in fence_parameter_problems(config, fence_source):
            f.error(path, message)
    if local:
        from hacore.config.local_checks import check_local
        check_local(f, config)
    check_secret_files(f, config)
    problems = sorted(f.problems, key=lambda p: p.line or 0)
    return CheckResult(None if f.has_errors else config, problems)


def build_config(f: Findings, data: dict[str, Any], catalogue: AgentCatalogue | None
                 ) -> tuple[ClusterConfig, list[tuple[Resource, Path]]]:
    """Build the model from parsed TOML, adding every problem to ``f``."""
    for key in data:
        if key not in TOP_KEYS:
            f.error((key,), f"unknown top-level key {key!r}; valid: " + ", ".join(TOP_KEYS))
    name, version = read_cluster(f, data)
    nodes = read_nodes(f, data)
    quorum = read_quorum(f, data, nodes)
    timing = read_timing(f, data)
    fence_devices = read_fence_devices(f, data)
    domains = read_domains(f, data)
    services = read_services(f, data, _timeouts(catalogue))
    from hacore.config.build_alerts import read_alerts
    from hacore.config.build_metrics import read_metrics
    from hacore.config.build_web import read_web

    alerts = read_alerts(f, data, {s.name for s in services.services})
    config = ClusterConfig(name, version, nodes, quorum, timing, fence_devices, domains,
                           services.resources, services.services, alerts,
                           metrics=read_metrics(f, data), web=read_web(f, data))
    config = dataclasses.replace(config, message_port=read_message_port(f, data))
    run_checks(f, config, services)
    return config, services.definitions


def _timeouts(catalogue: AgentCatalogue | None):
    if catalogue is None:
        return None

    def timeout(agent: str, action: str) -> float | None:
        try:
            info = catalogue(agent)
        except Exception:  # noqa: BLE001 - unknown or broken agent: the agent checks report it
            return None
        getter = getattr(info, "timeout", None)
        return getter(action) if callable(getter) else None

    return timeout


def check_secret_files(f: Findings, config: ClusterConfig) -> None:
    """Secret files must be root-only; inline passwords deserve a warning too."""
    owners = [(("fence_devices", d.name), d.secret_files) for d in config.fence_devices]
    owners += [(("resources", r.name), r.secret_files) for r in config.resources]
    for path, secrets in owners:
        for param, file in secrets.items():
            try:
                mode = os.stat(file).st_mode
            except OSError:
                continue
            if stat.S_IMODE(mode) & 0o077:
                f.warn(path + ("secrets", param), f"secret file {file} is readable by "
                       f"others (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
    inline = [d for d in config.fence_devices
              if any(k.lower() in SECRET_PARAM_NAMES for k in d.params)]
    if inline and f.file not in ("<config>", "<stdin>"):
        try:
            mode = stat.S_IMODE(os.stat(f.file).st_mode)
        except OSError:
            return
        if mode & 0o077:
            f.warn(("fence_devices", inline[0].name, "params"), f"{f.file} holds passwords "
                   f"and is readable by others (mode {mode:04o}); chmod 600 it, or move the "
                   "passwords to root-only files with secrets = {passwd = \"/etc/hacore/"
                   "secrets/NAME\"}")


def check_config(path: str | FsPath, *, agents: Agents = None, local: bool = False,
                 fence_agents: FenceAgents = None) -> CheckResult:
    """Check a file; raises InputError only when it cannot be read at all."""
    text = read_text(path)
    return check_config_text(text, str(path), agents=agents, local=local,
                             fence_agents=fence_agents)


def read_text(path: str | FsPath) -> str:
    """A config file's text, with an InputError naming the file when it cannot be read."""
    p = FsPath(path)
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise InputError(f"{p}: file is {size} bytes, larger than the "
                             f"{MAX_CONFIG_BYTES // 1024 // 1024} MiB a config may be")
        return p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file; give the path of a cluster.toml") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not a cluster.toml") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied (run as root?)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror}") from None


def _finish(result: CheckResult) -> ClusterConfig:
    for warning in result.warnings:
        log.warning("%s", warning)
    if result.config is None:
        raise ConfigError(result.problems)
    return result.config


def load_config_text(text: str, filename: str = "<config>", *, agents: Agents = None,
                     local: bool = False) -> ClusterConfig:
    """Parse and check a TOML text. Raises ConfigError with every problem at once.

    ``agents``: None (default) skips agent parameter checks; ``"installed"`` checks against
    the agents installed here; or pass a catalogue ``name -> AgentInfo``.
    """
    return _finish(check_config_text(text, filename, agents=agents, local=local))


def load_config(path: str | FsPath = DEFAULT_PATH, *, agents: Agents = None,
                local: bool = False) -> ClusterConfig:
    """Read and check a cluster.toml. Raises ConfigError (exit 2) listing every problem."""
    return _finish(check_config(path, agents=agents, local=local))
