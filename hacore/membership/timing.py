"""The built-in provider's timers, all derived from one knob: ``node_loss_timeout`` (T).

- heartbeats go out every ``interval`` = min(heartbeat_interval, T/10): ten chances per
  timeout, so 20 % random loss almost never silences a peer for a whole window
  (0.2^9 per window);
- a peer is lost after ``silence`` = T - interval without a fresh two-way exchange, checked
  every ``interval``, so a crash is declared within T (1 s at the default);
- a lease lasts ``lease`` = T/2, shorter than the silence after which survivors may start
  recovering (they also wait for fencing or the self-stop deadline, both longer);
- a peer whose acknowledgements are ``hurry`` = 3 intervals old is sent an extra heartbeat
  half an interval after each regular one, both asking for an immediate answer: under loss,
  every packet that gets through is answered at once instead of at the peer's next tick
  (at 20 % loss this happens a few percent of the time and costs nothing otherwise);
- the loop calls itself stalled when a tick comes ``stall`` = max(4 intervals, T/2) late.
"""

from __future__ import annotations

from dataclasses import dataclass

from hacore.config.model import Timing

#: how much faster than real time a node's clock may run, as a fraction (ppm are typical)
CLOCK_DRIFT = 0.01
#: last_man_standing waits this many node-loss timeouts of a stable view before each step
LMS_WINDOW_TIMEOUTS = 10


@dataclass(frozen=True)
class MembershipTiming:
    node_loss_timeout: float
    interval: float
    silence: float
    lease: float
    stall: float
    lms_window: float
    hurry: float

    @classmethod
    def from_config(cls, timing: Timing) -> MembershipTiming:
        """Derive every timer from the configuration's node-loss timeout."""
        loss = timing.node_loss_timeout
        interval = min(timing.heartbeat_interval, loss / 10)
        return cls(
            node_loss_timeout=loss,
            interval=interval,
            silence=loss - interval,
            lease=loss / 2,
            stall=max(4 * interval, loss / 2),
            lms_window=LMS_WINDOW_TIMEOUTS * loss,
            hurry=3 * interval,
        )

    @property
    def lease_credit(self) -> float:
        """The lease a holder counts on its own clock: shortened by the drift allowance."""
        return self.lease * (1 - CLOCK_DRIFT)
