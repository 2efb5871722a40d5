"""A function called every so often from the event loop's timers.

A task that sleeps between rounds wakes the loop twice a round (the timer completes the
sleep, then the task resumes in the next iteration); a timer calling the function directly
wakes it once. On an idle node the heartbeat and the daemon's tick are most of the wake-ups.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("hacore")


def call_every(period: float, fn: Callable[[], None], what: str) -> asyncio.Future[None]:
    """Call ``fn`` now and then every ``period`` seconds (counted from the start of each
    call) until the returned future is cancelled; an exception in ``fn`` is logged and the
    calls go on. The future never completes by itself: cancel it, then await it (it raises
    CancelledError), as one would a task."""
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[None] = loop.create_future()
    handle: list[asyncio.TimerHandle | asyncio.Handle] = []

    def call() -> None:
        if stopped.done():
            return
        started = loop.time()
        try:
            fn()
        except Exception:  # the round must go on: log it, call again next period
            log.exception("%s failed; going on", what)
        if not stopped.done():
            handle[:] = [loop.call_at(max(started + period, loop.time()), call)]

    handle.append(loop.call_soon(call))
    stopped.add_done_callback(lambda _: handle[0].cancel())
    return stopped
