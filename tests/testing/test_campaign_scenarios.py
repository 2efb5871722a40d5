"""Fault campaign scenarios: hand-written schedules on the 5-node testbed cluster.

The paused-node window of DESIGN.md (S3): without a fence device, an owner frozen (a paused
VM) past its self-stop deadline still holds its services while the survivors start them
elsewhere. data is the bare file system in the no-fence bed (an address in front closes the
window: the ip agent will not add an address the frozen kernel still answers ARP for). The campaign must put such a double hold inside the window and
nothing outside it; with the fence device the same pause leaves no double hold at all.
"""

from __future__ import annotations

import pytest

from hacore.testing.campaign_checks import Finding
from hacore.testing.campaign_episode import EpisodeOptions, run_episode
from hacore.testing.campaign_schedule import Fault
from hacore.testing.pytest_fixtures import skip_unless_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]

# the self-stop wait is 19-97 s for data without a fence device (hacore timing): 130 s
# passes it
LONG_PAUSE = (Fault(1.0, "freeze", "owner:data", 130.0),)


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
    """No fence device, data's owner frozen 130 s: every violation is an S1 double hold
    inside the freeze window (plus its grace); recovery, admin, daemons, leaks hold."""
    result = _episode(False, LONG_PAUSE)
    assert result["ready"], result
    findings = [Finding(**f) for f in result["findings"]]
    outside = [f for f in findings if not f.in_window]
    assert not outside, "\n".join(f.detail for f in outside)
    assert result["applied"][0]["node"], "the pause hit no node"
    print("inside the window:", [f.detail for f in findings])


def test_paused_owner_with_fencing_is_fenced_not_doubled():
    """With the fence device the same freeze ends in a fence: no violation at all."""
    result = _episode(True, LONG_PAUSE)
    assert result["ready"], result
    assert result["findings"] == [], result["findings"]


def test_checks_catch_copies_started_by_hand():
    """A VIP, the shared disk's mount and the job process copied by hand onto a node that
    does not own them: the S1 checker and the recovery check both report it."""
    import os
    import subprocess
    import time

    from hacore.daemon.testbed import wait_for_namespace_turn
    from hacore.testing import Cluster
    from hacore.testing.campaign_bed import JOB_PROCESS, CampaignBed
    from hacore.testing.campaign_checks import check_s1
    from hacore.testing.campaign_episode import Episode, reset

    skip_unless_testbed()
    if wait_for_namespace_turn():
        pytest.skip("namespace tests busy")
    with Cluster(nodes=5) as c:
        bed = CampaignBed(c).start()
        try:
            assert reset(bed, 240) is None
            owners = {s: bed.owner_of(s) for s in ("web", "data", "job")}
            other = {s: next(n for n in c.nodes if n.name != o) for s, o in owners.items()}
            s1 = c.s1_checker(addresses=list(bed.vips.values()), mounts=[bed.device],
                              processes=[JOB_PROCESS])
            wall = time.time()
            other["web"].run(["ip", "addr", "add", f"{bed.vip}/24", "dev", "eth0"])
            other["data"].run(["mkdir", "-p", "/tmp/copy"])
            other["data"].run(["mount", bed.device, "/tmp/copy"])
            job = other["job"].popen(["bash", "-c", "exec -a hacore-campaign-job sleep 60"],
                                     stdout=subprocess.DEVNULL)
            ep = Episode(bed, 0, EpisodeOptions(length=0))
            ok, why = ep.settled({"web": {"enabled"}, "job": {"enabled"}, "data": {"enabled"}})
            time.sleep(1.0)
            found = check_s1(s1.stop(), wall)
            for pid in other["job"].find_pids(r"^hacore-campaign-job"):
                os.kill(pid, 9)
            job.wait(timeout=30)
            other["data"].run(["umount", "/tmp/copy"], check=False)
            other["web"].run(["ip", "addr", "del", f"{bed.vip}/24", "dev", "eth0"], check=False)
            kinds = {f.detail.split()[0] for f in found}
            assert {"address", "mount", "process"} <= kinds, [f.detail for f in found]
            assert not ok and "held by" in why
        finally:
            bed.close()
    bed.detach_disk()


def test_hanging_agent_on_the_coordinator_recovers():
    """job runs on the coordinator and its agent hangs 20 s: the coordinator does not fence
    itself for its failed stop (that looped: the fence killed it before the result was
    recorded, seen in CI seeds 1006-1008); it leaves, a peer fences it once, and job runs
    again within the bound (L1)."""
    from hacore.daemon.testbed import wait_for_namespace_turn
    from hacore.testing import Cluster
    from hacore.testing.campaign_bed import CampaignBed
    from hacore.testing.campaign_episode import reset

    skip_unless_testbed()
    if wait_for_namespace_turn():
        pytest.skip("namespace tests busy")
    with Cluster(nodes=5) as c:
        bed = CampaignBed(c).start()
        try:
            assert reset(bed, 240) is None
            st = bed.api_status(c.nodes[1])
            coordinator = st["coordinator"]
            if bed.owner_of("job") != coordinator:
                bed.hacore(c.nodes[1], "service", "relocate", "job", "--to", coordinator)
            result = run_episode(bed, 0, EpisodeOptions(
                schedule=(Fault(1.0, "agent_hang", "owner:job", 20.0),), recovery_bound=120.0))
        finally:
            bed.close()
    bed.detach_disk()
    assert result["applied"][0]["node"] == coordinator
    assert result["findings"] == [], result["findings"]
