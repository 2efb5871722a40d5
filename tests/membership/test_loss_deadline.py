"""A peer going silent is looked at the moment its silence runs out, not at the next tick.

The freshness rule is unchanged (heard, and acknowledged by it, within ``silence``); only
the moment of looking moves, which takes up to one heartbeat interval off detecting a crash.
"""

from __future__ import annotations

import asyncio

from hacore.membership.heartbeat import LOSS_CHECK_SLACK, HeartbeatMembership

from .cluster import KEY, make_config


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _provider(clock: FakeClock) -> HeartbeatMembership:
    """n1 of a 3-node cluster, not started (no sockets): driven by hand."""
    return HeartbeatMembership(make_config(3), "n1", KEY, clock=clock)


def _reach(provider: HeartbeatMembership, peer_id: int, heard: float, acked: float) -> None:
    peer = provider.state.peers[peer_id]
    peer.incarnation = 7
    peer.reachable = True
    peer.last_heard = heard
    peer.acked_sent_at = acked


def test_next_loss_is_the_earliest_deadline_of_a_reached_peer() -> None:
    """The deadline counts from the older of last heard and last acknowledged send, over
    reached peers only; with none reached there is none."""
    clock = FakeClock(50.0)
    provider = _provider(clock)
    state = provider.state
    assert state.next_loss() == float("inf")
    silence = provider.timing.silence
    _reach(provider, 2, heard=49.9, acked=49.8)
    _reach(provider, 3, heard=49.95, acked=49.95)
    assert state.next_loss() == 49.8 + silence
    state.peers[2].reachable = False
    assert state.next_loss() == 49.95 + silence


def test_a_peer_going_silent_is_checked_on_its_deadline() -> None:
    """A deadline before the next tick arms one check at it, which runs a step; a fresh
    peer arms nothing."""
    async def body() -> None:
        loop = asyncio.get_running_loop()
        clock = FakeClock(100.0)
        provider = _provider(clock)
        provider.task = loop.create_future()  # stands for a running provider
        silence = provider.timing.silence
        steps: list[float] = []
        provider._step = lambda now: steps.append(now)  # type: ignore[method-assign]
        try:
            _reach(provider, 2, heard=100.0, acked=100.0)
            provider._arm_loss_check(clock.now)
            assert provider.loss_check is None, "a fresh peer needs no extra look"

            _reach(provider, 2, heard=100.0 - silence + 0.05, acked=100.0 - silence + 0.04)
            provider._arm_loss_check(clock.now)
            check = provider.loss_check
            assert check is not None
            assert abs(check.when() - loop.time() - (0.04 + LOSS_CHECK_SLACK)) < 0.01
            clock.now += 0.04 + LOSS_CHECK_SLACK
            for _ in range(250):  # the check is due in 41 ms; wait up to 5 s
                if steps:
                    break
                await asyncio.sleep(0.02)
            assert steps == [clock.now]
            assert provider.loss_check is None
        finally:
            provider.task.cancel()
            provider.task = None

    asyncio.run(asyncio.wait_for(body(), 60))


def test_a_stopped_provider_does_not_step_on_a_pending_check() -> None:
    """stop() cancels an armed check."""
    async def body() -> None:
        clock = FakeClock(100.0)
        provider = _provider(clock)
        provider.task = asyncio.get_running_loop().create_future()
        steps: list[float] = []
        provider._step = lambda now: steps.append(now)  # type: ignore[method-assign]
        silence = provider.timing.silence
        _reach(provider, 3, heard=100.0 - silence + 0.02, acked=100.0 - silence + 0.02)
        provider._arm_loss_check(clock.now)
        assert provider.loss_check is not None
        await provider.stop()
        assert provider.loss_check is None
        await asyncio.sleep(0.2)
        assert steps == []

    asyncio.run(asyncio.wait_for(body(), 60))
