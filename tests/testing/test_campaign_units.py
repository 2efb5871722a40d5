"""The fault campaign's pure parts: the schedule generator, the checks, the summary."""

from __future__ import annotations

from itertools import pairwise

import pytest

from hacore.testing.campaign import (
    append_progress,
    load_progress,
    main,
    render,
    seeds_of,
    summarize,
)
from hacore.testing.campaign_bed import strip_fencing
from hacore.testing.campaign_checks import (
    AdminRecord,
    check_admin,
    check_daemon_logs,
    check_leaks,
    check_recovery,
    check_running,
    check_s1,
    expected_states,
    pause_windows,
)
from hacore.testing.campaign_schedule import (
    ALL_KINDS,
    NET_KINDS,
    NODE_KINDS,
    Fault,
    count_kinds,
    make_schedule,
)
from hacore.testing.s1_checker import Violation

NODES = ["n1", "n2", "n3", "n4", "n5"]
SERVICES = ["web", "job", "data"]


def test_same_seed_same_schedule():
    """A seed gives the same schedule every time; another seed gives another one."""
    a = make_schedule(7, NODES, SERVICES, 30)
    assert a == make_schedule(7, NODES, SERVICES, 30)
    assert a != make_schedule(8, NODES, SERVICES, 30)
    assert [Fault.from_json(f.to_json()) for f in a] == a


def test_every_fault_kind_is_reachable():
    """Over 200 seeds every kind, every admin operation and owner targets all occur."""
    seen: set[str] = set()
    targets: set[str] = set()
    for seed in range(200):
        for f in make_schedule(seed, NODES, SERVICES, 30):
            seen.add(f.kind)
            seen.update(count_kinds([f]))
            targets.add(f.target or "")
    assert set(ALL_KINDS) <= seen
    assert {"admin_disable", "admin_enable", "admin_relocate"} <= seen
    assert {"owner:web", "owner:job", "owner:data"} <= targets


def test_schedule_keeps_its_limits():
    """Never two network faults at once, never more than two nodes faulted, all in time."""
    for seed in range(300):
        faults = make_schedule(seed, NODES, SERVICES, 30)
        net = sorted((f.at, f.end) for f in faults if f.kind in NET_KINDS)
        assert all(b[0] >= a[1] for a, b in pairwise(net)), seed
        assert all(f.at <= 30 and f.end <= 42 for f in faults)
        node = [f for f in faults if f.kind in NODE_KINDS]
        for f in node:
            overlapping = [g for g in node if g.at <= f.at < g.end + 5.0]
            assert len(overlapping) <= 2, (seed, f)
        agents = {f.target for f in faults if f.kind.startswith("agent_")}
        assert all(not t.startswith("owner:") or t == "owner:job" for t in agents)


def test_schedule_honours_kinds():
    """Only the requested kinds are drawn."""
    faults = [f for s in range(50) for f in make_schedule(s, NODES, SERVICES, 30, ("cut",))]
    assert faults and {f.kind for f in faults} == {"cut"}


def _cmd(at, op, svc="web", exit_code=0):
    return AdminRecord(at, op, svc, "n1", exit_code=exit_code)


def test_admin_check_reports_a_lost_acknowledged_disable():
    """An acknowledged disable of a service found started afterwards is a violation."""
    found = check_admin([_cmd(1.0, "disable")], {"web": "started", "job": "started"})
    assert len(found) == 1 and found[0].check == "admin" and "web is started" in found[0].detail
    assert check_admin([_cmd(1.0, "disable")], {"web": "disabled", "job": "started"}) == []


def test_admin_check_allows_what_unacknowledged_commands_may_have_done():
    """A later command that was not acknowledged may or may not have been applied."""
    cmds = [_cmd(1.0, "disable"), _cmd(2.0, "enable", exit_code=1)]
    assert expected_states(cmds, ["web"]) == {"web": {"disabled", "enabled"}}
    assert check_admin(cmds, {"web": "started"}) == []
    assert check_admin([_cmd(1.0, "disable", exit_code=1)], {"web": "started"}) == []
    later_ack = [_cmd(1.0, "disable", exit_code=None), _cmd(2.0, "enable")]
    assert check_admin(later_ack, {"web": "disabled"})[0].check == "admin"


def test_recovery_check_fails_past_the_bound():
    """Recovery slower than the bound, or none, is a violation; within it is not."""
    assert check_recovery(3.0, 60, "") == []
    assert "after 61.0 s" in check_recovery(61.0, 60, "x")[0].detail
    assert "never" in check_recovery(None, 60, "web is failed")[0].detail


def test_s1_check_reports_double_holds_and_marks_the_pause_window():
    """A double hold is one finding per item; one during n2's pause is marked in_window."""
    v = [Violation(10.0, 1010.0, "address", "10.0.0.1", ("n1", "n2")),
         Violation(10.1, 1010.1, "address", "10.0.0.1", ("n1", "n2")),
         Violation(30.0, 1030.0, "mount", "/dev/loop0", ("n3", "n4"))]
    found = check_s1(v, 1000.0, windows=[("n2", 5.0, 15.0)])
    assert len(found) == 2
    by_item = {f.detail.split()[1]: f for f in found}
    assert by_item["10.0.0.1"].in_window and by_item["10.0.0.1"].at == 10.0
    assert not by_item["/dev/loop0"].in_window
    assert check_s1([], 0.0) == []


def test_daemon_check_reports_unexpected_deaths_and_tracebacks():
    """Deaths beyond the campaign's kill -9 and tracebacks are violations."""
    died = "2026 n2 supervisor ERROR: supervisor: the daemon of n2 died (signal 9); stopping"
    assert check_daemon_logs({"n2": [died]}, {"n2": 1}) == []
    assert check_daemon_logs({"n2": [died]}, {})[0].check == "daemon"
    other = died.replace("signal 9", "exit 1")
    assert "exit 1" in check_daemon_logs({"n2": [other]}, {"n2": 1})[0].detail
    tb = ["Traceback (most recent call last):", '  File "x", line 1', "KeyError: 'web'"]
    assert "KeyError" in check_daemon_logs({"n1": tb}, {})[0].detail
    assert check_running({"n1": True, "n2": False})[0].nodes == ("n2",)


def test_leak_check_reports_what_was_left():
    """Anything left is a finding naming it."""
    assert check_leaks({}) == []
    assert "loop7" in check_leaks({"loop_devices": ["/dev/loop7"]})[0].detail


def test_summary_counts_and_separates_the_window():
    """The summary sums fault kinds, lists violations with seed and schedule, and puts
    in-window ones apart; the recovery median and max come from the episodes."""
    results = [
        {"seed": 1, "counts": {"crash": 2}, "recovery": 4.0, "schedule": ["t=1 crash n1"],
         "findings": [{"check": "s1", "detail": "d", "at": 2.0, "in_window": True}]},
        {"seed": 2, "counts": {"crash": 1, "cut": 1}, "recovery": 8.0, "schedule": ["s"],
         "findings": [{"check": "admin", "detail": "lost", "at": None, "in_window": False}]},
        {"seed": 3, "counts": {}, "recovery": 6.0, "schedule": [], "findings": []},
    ]
    s = summarize(results)
    assert s["episodes"] == 3 and s["faults"] == {"crash": 3, "cut": 1}
    assert s["failed_seeds"] == [2] and len(s["window_violations"]) == 1
    assert s["recovery"] == {"median": 6.0, "max": 8.0, "count": 3}
    text = render(s, fencing=False)
    assert "seed 2: admin: lost" in text and "1 inside it" in text and "t=1 crash n1" in text


def test_progress_file_resumes(tmp_path):
    """Recorded episodes are read back by seed; a line cut short is ignored."""
    path = tmp_path / "p.jsonl"
    append_progress(path, {"seed": 5, "findings": []})
    with open(path, "a") as f:
        f.write('{"seed": 6, "find')
    assert list(load_progress(path)) == [5]
    assert load_progress(tmp_path / "none") == {}


def test_seeds_of_parts():
    """Parts are consecutive blocks of seeds; a bad part is refused."""
    assert seeds_of(3, 10) == [10, 11, 12]
    assert seeds_of(50, 1000, "2/4")[:2] == [1050, 1051]
    assert seeds_of(50, 1000, "4/4")[-1] == 1199
    with pytest.raises(ValueError):
        seeds_of(5, 0, "5/4")


def test_cli_refuses_bad_input(capsys):
    """Unknown fault kinds and --resume without --progress exit 2 with a message."""
    assert main(["--kinds", "crash,meteor"]) == 2
    assert "meteor" in capsys.readouterr().err
    assert main(["--resume"]) == 2
    assert main(["--part", "x"]) == 2


def test_strip_fencing_removes_devices_and_methods():
    """The no-fence config has no fence device table and no node fence methods."""
    text = ('[[nodes]]\nname = "n1"\nfence = [{ method = "t", devices = [] }]\n\n'
            '[fence_devices.testbed]\nagent = "x"\nparams = { a = 1 }\n\n[resources.vip]\n'
            'agent = "ip"\n')
    out = strip_fencing(text)
    assert "fence" not in out and '[resources.vip]\nagent = "ip"' in out


class _FakeNode:
    def __init__(self, name):
        self.name, self.up = name, True


class _FakeBed:
    """What Episode.settled reads from a CampaignBed, fabricated."""

    def __init__(self, fencing=True):
        self.fencing = fencing
        self.c = type("C", (), {"nodes": [_FakeNode(n) for n in NODES]})()
        self.services = {"web": ("started", "n1"), "job": ("started", "n2"),
                         "data": ("disabled", None)}
        self.holds = {"web": {"vip": {"n1"}, "res": {"n1"}},
                      "job": {"vip": {"n2"}, "res": {"n2"}},
                      "data": {"vip": set(), "res": set()}}
        self.answer = "n1"
        self.vips = {"web": "10.0.0.100", "job": "10.0.0.101", "data": "10.0.0.102"}

    def api_status(self, node, timeout=5.0):
        return {"quorate": True, "members": [{"state": "Online"}] * 5,
                "services": [{"name": s, "state": st, "owner": o, "last_owner": o,
                              "intent": None, "reason": None}
                             for s, (st, o) in self.services.items()]}

    def held(self):
        return self.holds

    def web_answer(self):
        return self.answer


def _settled(bed, allowed=None, applied=()):
    from hacore.testing.campaign_episode import Episode, EpisodeOptions

    ep = Episode(bed, 1, EpisodeOptions(length=5))
    ep.applied = list(applied)
    return ep.settled(allowed or {"web": {"enabled"}, "job": {"enabled"},
                                  "data": {"disabled"}})


def test_recovery_needs_what_status_says_to_be_really_held():
    """Settled only when owners really hold their VIP and resource, nobody else does,
    disabled services are held nowhere and web answers from its owner."""
    bed = _FakeBed()
    assert _settled(bed) == (True, "settled")
    bed.holds["web"]["vip"] = {"n1", "n3"}
    assert "web vip held by ['n1', 'n3']" in _settled(bed)[1]
    bed = _FakeBed()
    bed.holds["data"]["res"] = {"n4"}
    assert not _settled(bed)[0]
    bed = _FakeBed()
    bed.answer = "n5"
    assert _settled(bed) == (False, "web does not answer from n1")
    assert not _settled(_FakeBed(), {"web": {"disabled"}, "job": {"enabled"},
                                     "data": {"disabled"}})[0]


def test_failed_job_is_settled_only_without_fencing_after_a_bad_agent():
    """A job failed by a failed stop counts as settled only with no fence device and a
    bad-agent fault in the episode, and only while no other node holds any of it."""
    hang = [{"kind": "agent_hang", "node": "n2"}]
    bed = _FakeBed(fencing=False)
    bed.services["job"] = ("failed", "n2")
    assert _settled(bed, applied=hang)[0]
    assert not _settled(bed)[0]
    bed.holds["job"]["vip"] = {"n3"}
    assert "failed job held by" in _settled(bed, applied=hang)[1]
    fenced = _FakeBed(fencing=True)
    fenced.services["job"] = ("failed", "n2")
    assert not _settled(fenced, applied=hang)[0]


def test_pause_windows_open_only_for_pauses_long_enough_to_lose_the_node():
    """A freeze shorter than the node-loss timeout opens no window (a double hold then is a
    plain violation, seed 5011); a longer one opens at start + timeout, closes grace after
    it ended (or after the heal, when it never ended on its own)."""
    applied = [{"kind": "freeze", "node": "n3", "started": 3.9, "ended": 4.3},
               {"kind": "pause", "node": "n2", "started": 10.0, "ended": 60.0},
               {"kind": "freeze", "node": "n4", "started": 20.0},
               {"kind": "crash", "node": "n1", "started": 5.0, "ended": 30.0}]
    assert pause_windows(applied, healed=40.0, loss_timeout=1.0, grace=20.0) == [
        ("n2", 11.0, 80.0), ("n4", 21.0, 60.0)]
