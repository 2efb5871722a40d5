"""The `hacore nodes` table and JSON rendered from a live view."""

from __future__ import annotations

from hacore.membership.render import nodes_json, nodes_table

from .test_cluster import run, started


def test_nodes_json_and_table_after_a_crash() -> None:
    """Members and the lost node appear with their state, votes, address, local and
    coordinator flags, and the quorum figures."""
    async def body() -> None:
        c = await started(3)
        try:
            await c.crash("n3")
            await c.wait_for(lambda: c.agreed(["n1", "n2"], "n1"), 15)
            view = c.nodes["n2"].view()
            data = nodes_json(view, c.config)
            rows = {r["name"]: r for r in data["nodes"]}
            assert [r["id"] for r in data["nodes"]] == [1, 2, 3]
            assert rows["n1"]["state"] == "member" and rows["n1"]["coordinator"]
            assert rows["n2"]["local"] and not rows["n2"]["coordinator"]
            assert rows["n3"]["state"] == "lost" and rows["n3"]["last_heard"]
            assert rows["n2"]["address"] == c.config.node("n2").addresses[0]
            assert data["quorum"] == {"expected": 3, "total": 2, "quorum": 2, "quorate": True,
                                      "reason": ""}
            text = nodes_table(view, c.config)
            assert "n1 (coordinator)" in text and "n2*" in text
            assert "quorum 2: quorate" in text
            assert any(line.split()[1] == "X" for line in text.splitlines() if "n3" in line)
        finally:
            await c.stop_all()
    run(body())
