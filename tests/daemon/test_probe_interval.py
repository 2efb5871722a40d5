"""The daemon probes the services it does not run every [timing] probe_interval seconds
(S1: a copy started by hand), and a pushed configuration changes the interval at once."""

from __future__ import annotations

import asyncio

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

pytestmark = pytest.mark.slow


def test_a_pushed_probe_interval_is_used_by_every_running_daemon(tmp_path, executor):
    """At the default (60 s) every daemon waits a minute between idle probes; once a config
    with probe_interval = 1 is pushed, each uses it and a copy started by hand on n3 is
    found and stopped while web keeps running on n1."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, first="n1")
    text = (tmp_path / "cluster.toml").read_text()
    pushed = text.replace("config_version = 1", "config_version = 2").replace(
        "[timing]\n", "[timing]\nprobe_interval = 1\n")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"], what="web on n1")
            assert {d.probe_interval for d in c.daemons.values()} == {60.0}
            reply = await c.daemons["n2"].api_config_push(pushed, "pushed.toml")
            assert reply["version"] == 2
            await wait_for(lambda: {d.probe_interval for d in c.daemons.values()} == {1.0},
                           what="every daemon on the pushed interval")
            (c.tokens("n3") / "web-a.running").write_text("by hand")
            await wait_for(lambda: c.runs("web-a") == ["n1"], timeout=30,
                           what="the copy on n3 found by a probe and stopped")
            assert c.service("web")["owner"] == "n1"

    asyncio.run(go())
