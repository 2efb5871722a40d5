"""The daemon applies the fencing rules: fence ack by hand, startup fencing's wait, the
two-node fence delay (in-process NodeDaemons with the test fence agent)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from inproc import inproc_cluster, wait_for
from test_journal import fenced_config, journal_of

from hacore.api.client import ApiError
from hacore.config import load_config
from hacore.journal import read_journal

pytestmark = pytest.mark.slow


def _edit(tmp_path: Path, old: str, new: str, tail: str = ""):
    path = tmp_path / "cluster.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new) + tail)
    return load_config(str(path))


def _fence_log(tmp_path: Path) -> list[str]:
    path = tmp_path / "fence.log"
    return path.read_text().splitlines() if path.exists() else []


def test_fence_ack_lets_recovery_go_on_when_the_fence_device_fails(tmp_path, executor):
    """n1 crashes and its fence keeps failing: web waits (S3); fence ack of a member is
    refused (exit 1), fence ack of n1 is journalled and web starts elsewhere."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web", "n3")["owner"] == "n1", what="web on n1")
            (tmp_path / "fence.fail").write_text("")
            await c.crash("n1")
            await wait_for(lambda: "off n1" in _fence_log(tmp_path), what="a fence try")
            await asyncio.sleep(1.5)
            assert c.runs("web-a") == ["n1"], "recovered without a fence"
            with pytest.raises(ApiError, match="n2 is a member") as refused:
                await c.daemons["n3"].api_node("fence-ack", "n2")
            assert refused.value.exit_code == 1
            await c.daemons["n3"].api_node("fence-ack", "n1")
            await wait_for(lambda: len(c.runs("web-a")) == 2, what="web started elsewhere")
            # the resource runs before its start result is published: wait for the state
            await wait_for(lambda: c.service("web", "n3")["state"] == "started",
                           what="web reported started")
            assert c.service("web", "n3")["owner"] in ("n2", "n3")

    asyncio.run(go())
    events = list(read_journal(journal_of(tmp_path, "n2")))
    assert any(e.kind == "admin" and e.fields["command"] == "hacore fence ack n1"
               for e in events)
    assert any(e.kind == "fence" and e.fields["subject"] == "n1" and e.fields["ok"]
               and "manual" in e.fields["method"] for e in events)


def test_startup_fencing_waits_post_join_delay_after_formation(tmp_path, executor):
    """n3 is absent when n1 and n2 form the cluster: it is fenced only post_join_delay
    (2 s) after the cluster formed, and web starts once it is."""
    fenced_config(tmp_path, services={"web": ["web-a"]})
    config = _edit(tmp_path, "post_join_delay = 0.2", "post_join_delay = 2.0")

    async def go():
        async with inproc_cluster(config, tmp_path, executor, nodes=["n1"]) as c:
            await asyncio.sleep(2.5)  # n1 alone: not quorate; its own post_join_delay passes
            await c.boot("n2")
            coord = c.daemons["n1"].coordinator
            await wait_for(lambda: coord.formed_at > 0, what="the cluster formed")
            await asyncio.sleep(max(0.0, coord.formed_at + 1.5 - time.time()))
            assert "off n3" not in _fence_log(tmp_path), "fenced before post_join_delay"
            assert c.runs("web-a") == []
            await wait_for(lambda: "off n3" in _fence_log(tmp_path), what="n3 fenced")
            await wait_for(lambda: c.runs("web-a") in (["n1"], ["n2"]), what="web started")

    asyncio.run(go())


def test_two_node_fence_race_is_won_by_the_node_running_the_service(tmp_path, executor):
    """Two nodes split: n1 (running web) fences n2 at once, n2 waits two_node_fence_delay
    before fencing n1, so n2 is gone before it could; web never leaves n1."""
    fenced_config(tmp_path, nodes=2, services={"web": ["web-a"]}, first="n1")
    config = _edit(tmp_path, "post_join_delay = 0.2",
                   "post_join_delay = 0.2\ntwo_node_fence_delay = 3.0",
                   "\n[quorum]\ntwo_node = true\n")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web", "n2")["owner"] == "n1", what="web on n1")
            await asyncio.sleep(0.5)
            cut = time.monotonic()
            c.bus.partition(["n1"], ["n2"])
            await wait_for(lambda: _fence_log(tmp_path), what="a fence")
            await asyncio.sleep(max(0.0, cut + 2.0 - time.monotonic()))
            # a daemon's reboot fence is off, then on once the fence is confirmed
            assert _fence_log(tmp_path) in (["off n2"], ["off n2", "on n2"]), \
                "n2 fenced n1 without waiting"
            await c.crash("n2")  # what the reboot does
            await asyncio.sleep(3.5)
            assert "off n1" not in _fence_log(tmp_path)
            assert c.runs("web-a") == ["n1"] and c.service("web", "n1")["owner"] == "n1"

    asyncio.run(go())


def test_a_coordinator_whose_own_stop_failed_leaves_and_a_peer_fences_it(tmp_path, executor):
    """web runs on n1, the coordinator; its stop fails there (S4: fence n1). n1 does not fence
    itself (its fence would kill it before the result is recorded, and the next coordinator
    would fence again, in a loop): it leaves the membership, a peer becomes coordinator,
    fences n1 and records it, and web is started elsewhere."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            n1 = c.daemons["n1"]
            await wait_for(lambda: c.runs("web-a") == ["n1"] and n1.coordinator.active,
                           what="web on n1, n1 coordinating")
            (c.tokens("n1") / "web-a.fail-stop").write_text("")
            await c.daemons["n2"].api_service("relocate", "web", "n2")
            await wait_for(lambda: n1.withdrawn is not None, what="n1 withdraws")
            assert not n1.coordinator.active
            await wait_for(lambda: "n2" in c.runs("web-a") or "n3" in c.runs("web-a"),
                           what="web started elsewhere after n1 was fenced")
            return n1.withdrawn

    why = asyncio.run(go())
    assert "does not fence its own node" in why
    fences = [(n, e) for n in ("n1", "n2", "n3") for e in read_journal(journal_of(tmp_path, n))
              if e.kind == "fence" and e.fields["subject"] == "n1"]
    assert fences and all(n != "n1" for n, _ in fences), "n1 fenced itself"
    assert any(e.fields["ok"] for _, e in fences)
