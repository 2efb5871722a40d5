"""The agent_harness fixture, as an agent author uses it, through pytest itself."""

from __future__ import annotations

import harness_agents as agents

pytest_plugins = ["pytester"]


def test_fixture_runs_the_harness_on_a_class(agent_harness, tmp_path):
    """agent_harness takes an Agent class and returns a passing report."""
    report = agent_harness(agents.HonestAgent, params={"state": tmp_path / "s"})
    assert report.passed, report.summary()


def test_failed_report_reads_well_in_pytest(pytester, data):
    """An author's failing test shows the ✗ line of the broken rule in pytest's output."""
    pytester.makepyfile(f"""
        def test_my_agent(agent_harness, tmp_path):
            report = agent_harness({str(data / 'stop-fails-when-stopped.sh')!r},
                                   params={{"state": str(tmp_path / "s")}})
            assert report.passed, report.summary()

        def test_assert_passes(agent_harness, tmp_path):
            agent_harness.assert_passes({str(data / 'stop-fails-when-stopped.sh')!r},
                                        params={{"state": str(tmp_path / "s")}})
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*✗ stop on a stopped resource*", "*agent harness found problems:*"])
