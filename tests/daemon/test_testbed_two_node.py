"""A two-node cluster (two_node) on the testbed: when the link between them breaks, both
keep quorum and race to fence; the node running web wins (two_node_fence_delay), so web
never moves and is never active twice. Run under ``flock /work/netns.lock``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hacore.daemon.testbed import HacoreTestbed, wait_for_namespace_turn
from hacore.testing.pytest_fixtures import skip_unless_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]


class TwoNodeTestbed(HacoreTestbed):
    """The usual VIP + Apache on two nodes with two_node and a 3 s fence delay."""

    def write_config(self) -> None:
        super().write_config()
        for node in self.c.nodes:
            path = Path(node.etc_dir) / "cluster.toml"
            text = path.read_text().replace("post_join_delay = 2.0",
                                            "post_join_delay = 2.0\ntwo_node_fence_delay = 3.0")
            path.write_text(text + "\n[quorum]\ntwo_node = true\n")


def test_two_node_split_the_node_running_web_wins_the_fence_race():
    """Partition n1|n2 with web on one of them: that node fences the other; the other's
    delayed fence never comes; web answers from the same node throughout (S1 holds)."""
    skip_unless_testbed()
    why = wait_for_namespace_turn()
    if why:
        pytest.skip(f"namespace tests busy: {why}")
    from hacore.testing import Cluster
    from hacore.testing.leaks import leak_check

    with leak_check(), Cluster(nodes=2) as c:
        bed = TwoNodeTestbed(c).start()
        s1 = c.s1_checker(addresses=[bed.vip])
        poller = c.http_poller(f"http://{bed.vip}/")
        try:
            n1, n2 = c.nodes

            def owner():
                web = bed.web(n1) or {}
                return web.get("owner") if web.get("state") == "started" else None

            bed.wait(lambda: owner() is not None, 90, "web running")
            winner = next(n for n in c.nodes if n.name == owner())
            loser = next(n for n in c.nodes if n is not winner)
            assert poller.wait_for_answer(node=winner.name, timeout=30) is not None
            cut = time.monotonic()
            c.partition([[n1], [n2]])
            bed.wait(lambda: bed.log_lines(rf"fenced {loser.name}\b"), 60,
                     f"{loser.name} fenced by {winner.name}")
            time.sleep(5.0)  # past the 3 s delay the loser would have waited
            c.heal()
            assert not bed.log_lines(rf"fenced {winner.name}\b"), "the favoured node was fenced"
            assert poller.first_answer_after(cut + 5.0, node=winner.name) is not None or \
                poller.wait_for_answer(node=winner.name, timeout=30) is not None
            assert not [s for s in poller.samples if s.ok and s.sent > cut and
                        s.node == loser.name], "web answered from the loser"
        finally:
            poller.stop()
            violations = s1.stop()
            bed.stop()
        assert not violations, "S1 violated: " + "; ".join(str(v) for v in violations)
