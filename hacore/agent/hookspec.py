"""The hooks an agent distribution implements. There is one: it registers agent classes."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "hacore"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

ENTRY_POINT_GROUP = "hacore.agents"


@hookspec
def hacore_register_agents(register: Callable[[type], None]) -> None:
    """Register the agent classes a distribution provides.

    Call ``register(cls)`` once per :class:`hacore.agent.Agent` subclass. The class is
    checked at once: a missing method, a method with the wrong signature, an invalid
    parameter schema or a name another distribution already uses is refused with an error
    naming the distribution and the agent; the other agents still load.

    Example (in the module named by your ``hacore.agents`` entry point)::

        from hacore.agent import hookimpl

        @hookimpl
        def hacore_register_agents(register):
            register(MyAgent)
    """
