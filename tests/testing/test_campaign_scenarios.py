"""Fault campaign scenarios: hand-written schedules on the 5-node testbed cluster.

The paused-node window of DESIGN.md (S3): without a fence device, an owner whose daemon is
stopped (SIGSTOP) past its self-stop deadline still holds its services while the survivors
start them elsewhere. The campaign must put such a double hold inside the window and
nothing outside it; with the fence device the same pause leaves no double hold at all.
"""

from __future__ import annotations

import pytest

from hacore.testing.campaign_checks import Finding
from hacore.testing.campaign_episode import EpisodeOptions, run_episode
from hacore.testing.campaign_schedule import Fault
from hacore.testing.pytest_fixtures import skip_unless_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]

# the self-stop wait is 44-122 s with these timeouts (hacore timing): 130 s passes it
LONG_PAUSE = (Fault(1.0, "pause", "owner:web", 130.0),)


def _episode(fencing: bool, schedule: tuple[Fault, ...]) -> dict:
    from hacore.daemon.testbed import wait_for_namespace_turn
    from hacore.testing import Cluster
    from hacore.testing.campaign_bed import CampaignBed
    from hacore.testing.leaks import leak_check

    skip_unless_testbed()
    why = wait_for_namespace_turn()
    if why:
        pytest.skip(f"namespace tests busy: {why}")
    with leak_check(settle=10.0):
        with Cluster(nodes=5) as c:
            bed = CampaignBed(c, fencing=fencing).start()
            try:
                result = run_episode(bed, 0, EpisodeOptions(schedule=schedule))
            finally:
                bed.close()
        bed.detach_disk()
    return result


def test_paused_owner_without_fencing_stays_inside_the_window():
    """No fence device, web's owner's daemon paused 130 s: every violation is an S1 double
    hold inside the pause window (plus its grace); recovery, admin, daemons, leaks hold."""
    result = _episode(False, LONG_PAUSE)
    assert result["ready"], result
    findings = [Finding(**f) for f in result["findings"]]
    outside = [f for f in findings if not f.in_window]
    assert not outside, "\n".join(f.detail for f in outside)
    assert result["applied"][0]["node"], "the pause hit no node"
    print("inside the window:", [f.detail for f in findings])


def test_paused_owner_with_fencing_is_fenced_not_doubled():
    """With the fence device the same pause ends in a fence: no violation at all."""
    result = _episode(True, LONG_PAUSE)
    assert result["ready"], result
    assert result["findings"] == [], result["findings"]
