"""call_every: a function called from the loop's timers until the returned future is cancelled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hacore.periodic import call_every


def test_calls_repeat_survive_exceptions_and_stop_on_cancel(caplog: pytest.LogCaptureFixture) -> None:
    """The first call comes at once, the next ones a period apart; a raising call is logged
    and the calls go on; after cancel no call comes and awaiting raises CancelledError."""
    async def body() -> None:
        loop = asyncio.get_running_loop()
        calls: list[float] = []

        def fn() -> None:
            calls.append(loop.time())
            if len(calls) == 2:
                raise ValueError("second call breaks")

        ticks = call_every(0.02, fn, "the test's round")
        for _ in range(250):  # 5 calls take 0.08 s; wait up to 5 s
            if len(calls) >= 5:
                break
            await asyncio.sleep(0.02)
        ticks.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ticks
        seen = len(calls)
        await asyncio.sleep(0.1)
        assert len(calls) == seen, "called after cancel"
        assert seen >= 5
        gaps = [b - a for a, b in zip(calls, calls[1:])]
        assert min(gaps) >= 0.02 - 0.002, gaps

    with caplog.at_level(logging.ERROR, logger="hacore"):
        asyncio.run(asyncio.wait_for(body(), 30))
    assert any("the test's round failed" in r.getMessage() for r in caplog.records)
