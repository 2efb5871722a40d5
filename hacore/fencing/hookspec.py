"""The hook a fence device distribution implements: it registers Fencer classes."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "hacore"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

ENTRY_POINT_GROUP = "hacore.fencers"


@hookspec
def hacore_register_fencers(register: Callable[[type], None]) -> None:
    """Register the fence device classes a distribution provides.

    Call ``register(cls)`` once per :class:`hacore.fencing.Fencer` subclass. Each class is
    checked at once: a missing method, a method taking arguments, an invalid parameter
    schema, a name starting with ``fence_`` (kept for fence-agents scripts) or a name
    another distribution already uses is refused with an error naming the distribution and
    the fencer; the other fencers still load.

    Example (in the module named by your ``hacore.fencers`` entry point)::

        from hacore.fencing import hookimpl

        @hookimpl
        def hacore_register_fencers(register):
            register(MyPdu)
    """
