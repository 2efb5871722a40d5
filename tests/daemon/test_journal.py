"""The daemon's event journal: a crash failover told in order, under one incident id."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.config import load_config
from hacore.journal import merge, read_journal

pytestmark = pytest.mark.slow

FENCE_OK = str(Path(__file__).parent / "agents" / "fence_ok")


def fenced_config(tmp_path: Path, **kw):
    """token_config with every node fenced by the always-successful test fence agent."""
    token_config(tmp_path, **kw)
    path = tmp_path / "cluster.toml"
    text = re.sub(r'(addresses = \["127\.0\.0\.(\d)"\])',
                  r'\1\nfence = [{ method = "power", devices = [{ device = "ok", plug = "n\2" }] }]',
                  path.read_text())
    text += (f'\n[fence_devices.ok]\nagent = "{FENCE_OK}"\n'
             f'params = {{ log = "{tmp_path / "fence.log"}", '
             f'fail_if = "{tmp_path / "fence.fail"}" }}\n')
    path.write_text(text)
    return load_config(str(path))


def journal_of(tmp_path: Path, node: str) -> Path:
    return tmp_path / node / "state" / "journal"


def test_crash_failover_is_told_in_order_under_one_incident(tmp_path, executor):
    """After n1 crashes, the survivors' journals say: n1 lost, fenced, start decided, started
    on the new owner, web started, in that order and with one incident id."""
    config = fenced_config(tmp_path, services={"web": ["web-a"]}, first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web")["state"] == "started", what="web on n1")
            await c.crash("n1")
            await wait_for(lambda: any(n != "n1" for n in c.runs("web-a"))
                           and c.service("web", "n2")["state"] == "started"
                           and c.service("web", "n2")["owner"] != "n1", what="web moved")
            return c.service("web", "n2")["owner"]

    owner = asyncio.run(go())
    assert (tmp_path / "fence.log").read_text().split()[:2] == ["off", "n1"]  # then on
    events = list(merge(read_journal(journal_of(tmp_path, n)) for n in ("n2", "n3")))
    lost = next(e for e in events if e.kind == "membership"
                and e.fields["change"] == "lost" and e.fields["subject"] == "n1")
    assert lost.incident and lost.fields["services"] == ["web"]
    story = [e for e in events if e.incident == lost.incident]
    steps = [
        lambda e: e is lost,
        lambda e: e.kind == "fence" and e.fields["subject"] == "n1" and e.fields["ok"],
        lambda e: e.kind == "decision" and e.fields["action"] == "start"
        and e.fields["target"] == owner and e.service == "web",
        lambda e: e.kind == "operation" and e.node == owner and e.fields["action"] == "start"
        and e.fields["result"] == "succeeded" and e.fields["resource"] == "web-a",
        lambda e: e.kind == "service" and e.fields["change"] == "started"
        and e.fields["owner"] == owner and e.fields["failover"],
    ]
    at = 0
    for step in steps:  # each step is found after the previous one
        at = next((i for i in range(at, len(story)) if step(story[i])), None)
        assert at is not None, "story out of order or incomplete:\n" + "\n".join(
            f"{e.node} {e.kind} {e.incident} {e.message}" for e in story)
    assert all(e.incident == lost.incident for e in story)


def test_a_journal_that_cannot_be_written_does_not_stop_the_daemon(tmp_path, executor, caplog):
    """With n1's journal path taken by a plain file, the error is logged and web still starts."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, first="n1")
    journal_of(tmp_path, "n1").parent.mkdir(parents=True)
    journal_of(tmp_path, "n1").write_text("not a directory")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"], what="web on n1")
            c.daemons["n1"].events.journal = _Broken()  # a journal that fails from now on
            await c.daemons["n2"].api_service("relocate", "web", "n2")
            await wait_for(lambda: c.runs("web-a") == ["n2"], what="web on n2")

    asyncio.run(go())
    assert "cannot open the event journal" in caplog.text
    assert "journal write failed" in caplog.text


class _Broken:
    def append(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        pass
