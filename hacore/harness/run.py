"""run_harness: resolve an agent, run every check that fits its class, always clean up."""

from __future__ import annotations

import itertools
import os

from hacore.agent.base import Agent
from hacore.agent.catalog import AgentHandle, resolve
from hacore.agent.registry import NativeAgent, check_agent_class
from hacore.agent.scripts import ScriptAgent
from hacore.errors import InputError
from hacore.harness.checks import cleanup, lsb_checks, ocf_checks
from hacore.harness.report import HarnessReport
from hacore.harness.session import HarnessSession

_runs = itertools.count(1)


def as_handle(agent: str | AgentHandle | type[Agent], agent_class: str | None = None) -> AgentHandle:
    """An agent name, a path, a handle, or an Agent subclass (checked as the registry would)."""
    if isinstance(agent, (NativeAgent, ScriptAgent)):
        return agent
    if isinstance(agent, type):
        problem = check_agent_class(agent)
        if problem:
            raise InputError(f"agent class {agent.__name__}: {problem}")
        return NativeAgent(agent, f"class {agent.__module__}.{agent.__qualname__}")
    return resolve(str(agent), agent_class)


def run_harness(agent: str | AgentHandle | type[Agent], params: dict[str, str] | None = None,
                agent_class: str | None = None, timeout: float | None = None,
                instance: str | None = None, env: dict[str, str] | None = None) -> HarnessReport:
    """Run every conformance check against ``agent``; never hangs, always cleans up.

    ``agent`` is a name (``ip``, ``ocf:heartbeat:Dummy``, ``lsb:apache2``, a path), an
    :class:`hacore.agent.Agent` subclass or a resolved handle. ``timeout`` bounds each
    operation (default: the meta-data's recommendation, else 20 s). ``instance`` names the
    resource (default: a name unique to this run). ``env`` adds environment variables to
    every operation. Raises InputError (or AgentNotFound) for an unknown agent or parameters
    that cannot reach it; every fault of the agent itself is a failed check in the report.
    """
    handle = as_handle(agent, agent_class)
    params = dict(params or {})
    if timeout is not None and not timeout > 0:
        raise InputError(f"timeout {timeout!r} must be a positive number of seconds")
    kind = handle.agent_class if isinstance(handle, ScriptAgent) else "native"
    _check_params(handle, params)
    session = HarnessSession(
        handle=handle, params=params, agent_class=kind, timeout=timeout,
        instance=instance or f"hacore-test-{os.getpid()}-{next(_runs)}", extra_env=dict(env or {}))
    try:
        if kind == "lsb":
            lsb_checks(session)
        else:
            ocf_checks(session)
    finally:
        cleanup(session)
    return session.report


def _check_params(handle: AgentHandle, params: dict[str, str]) -> None:
    if isinstance(handle, ScriptAgent):
        problem = handle.check_params(params)
        if problem:
            raise InputError(problem)
        return
    known = {p.name for p in handle.cls.parameters}
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(f"agent {handle.name} has no parameter {', '.join(unknown)} "
                         f"(valid: {', '.join(sorted(known)) or 'none'})")
