"""`why` (the API behind `hacore why`) over three in-process daemons: the blocking reason
and the candidates in each case where a service does not run."""

from __future__ import annotations

import asyncio

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for
from test_journal import fenced_config

pytestmark = pytest.mark.slow


def _config(tmp_path, **kw):
    """web prefers n1, the coordinator (see token_config's ``first``)."""
    return token_config(tmp_path, services={"web": ["web-a"]}, first="n1", **kw)


def _cand(answer: dict) -> dict[str, tuple[bool, str]]:
    return {c["node"]: (c["eligible"], c["why"]) for c in answer["candidates"]}


def test_running_service_says_where_and_why(tmp_path, executor):
    """A running web: why names its owner and the placement reason; every node is eligible."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.service("web")["state"] == "started")
            answer = c.daemons["n3"].api_why("web")
            assert answer["running"] and answer["owner"] == "n1" and answer["blocking"] is None
            assert answer["reason"].startswith("web runs on n1: ")
            assert _cand(answer)["n1"] == (True, "runs it now")
            assert _cand(answer)["n2"] == (True, "eligible")
    asyncio.run(go())


def test_disabled_and_frozen(tmp_path, executor):
    """A disabled web says it was disabled; a frozen one says it is frozen."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.service("web")["state"] == "started")
            await c.daemons["n2"].api_service("freeze", "web", None)
            answer = c.daemons["n2"].api_why("web")
            assert not answer["running"] and answer["blocking"].startswith("frozen")
            await c.daemons["n2"].api_service("unfreeze", "web", None)
            await c.daemons["n2"].api_service("disable", "web", None)
            await wait_for(lambda: c.daemons["n3"].api_why("web")["state"] == "disabled")
            answer = c.daemons["n3"].api_why("web")
            assert not answer["running"] and "disabled by an administrator" in answer["blocking"]
    asyncio.run(go())


def test_no_quorum(tmp_path, executor):
    """n1 cut off alone answers that its partition is not quorate (S2)."""
    async def go():
        async with inproc_cluster(_config(tmp_path, stop_timeout=1.0), tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            c.bus.partition(["n1"], ["n2", "n3"])
            await wait_for(lambda: not c.daemons["n1"].provider.view().quorate, what="no quorum")
            answer = c.daemons["n1"].api_why("web")
            assert not answer["running"] and not answer["quorate"]
            assert "not quorate" in answer["blocking"]
    asyncio.run(go())


def test_restricted_domain_empty(tmp_path, executor):
    """web restricted to n3, with n3 down: no member of the domain is available."""
    extra = 'domain = "only3"\n\n[domains.only3]\nmembers = ["n3"]\nrestricted = true\n'
    config = token_config(tmp_path, services={"web": ["web-a"]}, extra=extra)

    async def go():
        async with inproc_cluster(config, tmp_path, executor, nodes=["n1", "n2"]) as c:
            await wait_for(lambda: c.daemons["n1"].api_status()["quorate"]
                           and c.daemons["n1"].cluster_snapshot() is not None
                           and c.daemons["n1"].coordinator.snap is not None)
            await asyncio.sleep(0.5)  # a few decision rounds
            answer = c.daemons["n2"].api_why("web")
            assert not answer["running"] and c.runs("web-a") == []
            assert "no member of restricted domain only3" in answer["blocking"]
            assert _cand(answer)["n1"] == (False, "outside restricted domain only3")
            assert _cand(answer)["n3"][0] is False and "not a member" in _cand(answer)["n3"][1]
    asyncio.run(go())


def test_waiting_for_fence(tmp_path, executor):
    """web's owner crashed and its fence keeps failing: web waits for the fence (S3)."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            (tmp_path / "fence.fail").write_text("")
            await c.crash("n1")
            await wait_for(lambda: "n1" not in c.daemons["n2"].provider.view().member_names()
                           and (tmp_path / "fence.log").exists(), what="a fence attempt")
            answer = c.daemons["n2"].api_why("web")
            assert not answer["running"] and answer["owner"] == "n1"
            assert "waits for n1 to be fenced" in answer["blocking"]
            assert _cand(answer)["n1"] == (False, "not a member of the cluster now (lost or down)")
            assert "n1" in c.runs("web-a") and "n2" not in c.runs("web-a")
    asyncio.run(go())


def test_failed_stop(tmp_path, executor):
    """A stop that failed on n1 (no fence method) keeps web failed, and n1 is ineligible."""
    async def go():
        async with inproc_cluster(_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            (c.tokens("n1") / "web-a.fail-stop").write_text("")
            await c.daemons["n2"].api_service("relocate", "web", "n2")
            await wait_for(lambda: c.service("web")["state"] == "failed", what="failed")
            answer = c.daemons["n3"].api_why("web")
            assert not answer["running"] and "a stop failed on n1" in answer["blocking"]
            assert _cand(answer)["n1"] == (False, "a stop of the service failed there")
    asyncio.run(go())
