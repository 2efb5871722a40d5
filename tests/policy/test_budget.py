"""The failover budget of budget_cluster.toml, worked out by hand, and the timing warnings.

Hand arithmetic (node_loss_timeout 2, margin 4, fence_timeout 10 with 3 tries):
web (n1, n2; vip start 5 stop 3, app start 7 stop 4): node lost 2 + 10..30 + 12 = 24..44;
resource failed 0..30 (vip 20 + 10) + 7 + 12..(12 + 5 kill + 7 + 12) = 19..73.
db (n1..n3; start 30 stop 8): fencing 10..30, n3 self-stop 8 + 5 + 4 = 17 alone,
  8 + 5 + 20 + 5 + 4 = 42 with batch too (each stop may be killed, then awaited 5 s);
start 30..(30 + 5 + 8 + 30); node lost 42..117; resource failed 38..161.
"""

from pathlib import Path

import pytest

from hacore.config import load_config, load_config_text
from hacore.policy.budget import failover_budgets

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def report():
    return failover_budgets(load_config(HERE / "budget_cluster.toml"))


def scenario(report, service, name):
    budget = next(b for b in report.budgets if b.service == service)
    return next(s for s in budget.scenarios if s.name == name)


def phases(s):
    return {p.name: (p.best, p.worst) for p in s.phases}


def test_node_loss_with_fencing_is_detection_fence_and_start(report):
    """web: 2 s detection, 10 s (one try) to 30 s (three tries) fencing, 12 s start."""
    s = scenario(report, "web", "node lost")
    assert phases(s) == {"detection": (2, 2), "fencing": (10, 30), "start": (12, 12)}
    assert (s.best, s.worst) == (24, 44)


def test_resource_failure_is_monitor_stop_and_start_with_one_failed_start(report):
    """web: monitor 20+10, stop 3+4, start 12 or a timed-out start, kill, stop, restart."""
    s = scenario(report, "web", "resource failed")
    assert phases(s) == {"detection": (0, 30), "stop": (7, 7), "start": (12, 36)}
    assert (s.best, s.worst) == (19, 73)


def test_an_unfenced_node_counts_its_self_stop_deadline_with_every_service_it_may_run(report):
    """db: n3 has no fence method; worst, it ran db and batch: 8 + 20 stops, 5 s of kill
    escalation after each, 2 of election grace, 4 margin."""
    s = scenario(report, "db", "node lost")
    assert phases(s) == {"detection": (2, 2), "fencing or self-stop wait": (10, 44),
                         "start": (30, 73)}
    assert (s.best, s.worst) == (42, 119)
    assert (scenario(report, "db", "resource failed").best,
            scenario(report, "db", "resource failed").worst) == (38, 161)


def test_a_service_with_one_possible_node_has_no_node_loss_budget():
    """A restricted domain of one node: no failover, the note says so."""
    cfg = load_config_text("""
[cluster]
name = "one"
config_version = 1
[[nodes]]
name = "n1"
id = 1
addresses = ["10.0.0.1"]
fence = ["pdu"]
[[nodes]]
name = "n2"
id = 2
addresses = ["10.0.0.2"]
fence = ["pdu"]
[fence_devices.pdu]
agent = "fence_apc"
[domains.only]
members = ["n1"]
restricted = true
[services.s]
domain = "only"
recovery = "disable"
tree = ["r"]
[services.s.resources.r]
agent = "script"
params = { file = "/bin/true" }
""")
    (budget,) = failover_budgets(cfg).budgets
    lost, failed = budget.scenarios
    assert lost.best is None and "no other node" in lost.note
    assert failed.best is None and "disable" in failed.note


def test_warnings_name_each_contradiction(report):
    """A monitor slower than its interval, a margin under the kill wait with an unfenced node,
    and an unreachable restart window are each reported at their key."""
    keys = [w.key for w in report.warnings]
    assert keys == ["services.batch.resources.job.operations.monitor",
                    "timing.self_stop_margin", "services.batch.restart_expire_time"]
    assert "90 s" in str(report.warnings[2])


def test_a_fence_agent_slower_than_its_timeout_is_warned_about():
    """With the agent's own time known (25 s > 10 s allowed), the device is named once."""
    cfg = load_config(HERE / "budget_cluster.toml")
    seen = []

    def agent_time(agent, options):
        seen.append((agent, options.get("port")))
        return 25.0

    report = failover_budgets(cfg, fence_agent_time=agent_time)
    fence = [w for w in report.warnings if w.key == "fence_devices.pdu"]
    assert len(fence) == 1 and "10 s per call" in fence[0].message
    assert ("fence_apc", "1") in seen


def test_json_form_holds_the_same_figures(report):
    """to_dict carries best/worst per scenario and the phases."""
    data = report.to_dict()
    web = next(s for s in data["services"] if s["service"] == "web")
    assert web["scenarios"][0] == {**web["scenarios"][0], "best": 24, "worst": 44}
    assert [p["phase"] for p in web["scenarios"][0]["phases"]] == ["detection", "fencing",
                                                                   "start"]
    assert data["membership"]["node_loss_timeout"] == 2.0


TWO_NODE = """
[cluster]
name = "pair"
config_version = 1
[[nodes]]
name = "a"
id = 1
addresses = ["10.0.0.1"]
fence = [{ method = "psu", devices = [{ device = "pdu1", port = "1" }, { device = "pdu2", port = "1" }] }]
[[nodes]]
name = "b"
id = 2
addresses = ["10.0.0.2"]
fence = [{ method = "psu", devices = [{ device = "pdu1", port = "2" }, { device = "pdu2", port = "2" }] }]
[quorum]
two_node = true
[timing]
fence_timeout = 10
two_node_fence_delay = 5
[fence_devices.pdu1]
agent = "fence_apc"
[fence_devices.pdu2]
agent = "fence_apc"
params = { hacore_timeout = 4 }
[services.s]
tree = ["r"]
[services.s.resources.r]
agent = "script"
params = { file = "/bin/true" }
operations = { start = { timeout = 2 }, stop = { timeout = 2 } }
"""


def test_dual_power_supplies_and_the_two_node_delay():
    """Two devices: off, off, on, on = 2 x (10 + 4) = 28 s best; worst each call twice (one
    retry) = 56 s, plus the 5 s two-node fence delay."""
    (budget,) = failover_budgets(load_config_text(TWO_NODE)).budgets
    lost = budget.scenarios[0]
    assert phases(lost)["fencing"] == (28, 61)
