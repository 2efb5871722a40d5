"""The running daemon's alerts, /metrics and cluster-wide journal, over a crash failover."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from inproc import InprocCluster, wait_for
from test_journal import fenced_config

from hacore.cli.events import events as events_command
from hacore.config import load_config
from hacore.daemon.node import NodeDaemon
from hacore.journal import read_journal
from hacore.observability import parse_exposition

pytestmark = pytest.mark.slow

ALERT_SCRIPT = """#!/bin/sh
echo "$HACORE_ALERT_NODE $HACORE_ALERT_SEQ $HACORE_ALERT_TOPIC $HACORE_ALERT_SERVICE" >> {out}
"""
HANGING_SCRIPT = """#!/bin/sh
echo "$HACORE_ALERT_SEQ $HACORE_ALERT_TOPIC" >> {out}
sleep 60
"""


class _Posts(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.headers["X-Hacore-Alert-Seq"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _config(tmp_path: Path, alerts: str):
    fenced_config(tmp_path, services={"web": ["web-a"]}, first="n1")
    path = tmp_path / "cluster.toml"
    path.write_text(path.read_text() + alerts)
    return load_config(str(path))


async def _boot(c: InprocCluster, node: str) -> NodeDaemon:
    """Like InprocCluster.boot, with a socket and /metrics on a free loopback port."""
    c.tokens(node).mkdir(parents=True, exist_ok=True)
    daemon = NodeDaemon(c.config, node, c.bus.provider(node),
                        state_dir=str(c.base / node / "state"),
                        socket_path=str(c.base / node / "hacore.sock"), executor=c.executor,
                        env={"HACORE_TOKEN_DIR": str(c.tokens(node))}, tick=0.05,
                        metrics_listen="127.0.0.1:0")
    c.daemons[node] = daemon
    await daemon.start()
    return daemon


def _scrape(daemon: NodeDaemon) -> dict:
    host, port = daemon.metrics_server.address
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_exposition(reply.read().decode())


async def _scrape_async(daemon: NodeDaemon) -> dict:
    return await asyncio.to_thread(_scrape, daemon)


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_crash_failover_alerts_metrics_and_the_cluster_journal(tmp_path, executor):
    """After n1 (running web) crashes: the script and URL hooks get node-lost then failover
    with the journal's seqs, in order; /metrics shows the failover, the smaller membership
    and one instance of web; `hacore events` on the node that did not coordinate tells the
    whole story, with the events written on other nodes."""
    out = tmp_path / "alerts.log"
    script = tmp_path / "alert.sh"
    script.write_text(ALERT_SCRIPT.format(out=out))
    script.chmod(0o755)
    _Posts.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Posts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    config = _config(tmp_path, f'\n[[alerts]]\nname = "log"\nscript = "{script}"\n'
                               f'events = ["node-lost", "node-fenced", "failover"]\n'
                               f'\n[[alerts]]\nname = "web"\nurl = "{url}"\n'
                               f'events = ["failover"]\ntimeout = 5\n')

    async def go():
        c = InprocCluster(config, tmp_path, executor)
        try:
            for name in ("n1", "n2", "n3"):
                await _boot(c, name)
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web")["state"] == "started", what="web on n1")
            before = await _scrape_async(c.daemons["n2"])
            await c.crash("n1")
            await wait_for(lambda: any(n != "n1" for n in c.runs("web-a"))
                           and c.service("web", "n2")["state"] == "started"
                           and c.service("web", "n2")["owner"] != "n1", what="web moved")
            owner = c.service("web", "n2")["owner"]
            coordinator = c.daemons["n2"].provider.view().coordinator
            await wait_for(lambda: out.exists() and " failover " in out.read_text()
                           and _Posts.received, timeout=30, what="the failover alerts")
            after = await _scrape_async(c.daemons[coordinator])
            on_owner = await _scrape_async(c.daemons[owner])
            asker = next(n for n in ("n2", "n3") if n != coordinator)
            cli = await asyncio.to_thread(
                CliRunner().invoke, events_command,
                ["--socket", str(tmp_path / asker / "hacore.sock"), "--json"])
            coord_events = list(read_journal(tmp_path / coordinator / "state" / "journal"))
            return before, after, on_owner, owner, coordinator, asker, cli, coord_events
        finally:
            for name in list(c.daemons):
                await c.daemons.pop(name).stop()

    before, after, on_owner, owner, coordinator, asker, cli, coord_events = asyncio.run(go())
    server.shutdown()

    # alerts: from the coordinator, in its journal's order, with its seqs
    lines = [ln.split() for ln in out.read_text().splitlines()]
    lost = next(ln for ln in lines if ln[2] == "node-lost")
    failover = next(ln for ln in lines if ln[2] == "failover")
    assert lines.index(lost) < lines.index(failover)
    assert failover[0] == coordinator and failover[3] == "web"
    seqs = [int(ln[1]) for ln in lines if ln[0] == coordinator]
    assert seqs == sorted(seqs)
    by_seq = {e.seq: e for e in coord_events}
    assert by_seq[int(failover[1])].fields.get("failover")
    assert by_seq[int(lost[1])].fields["subject"] == "n1"
    seq, body = _Posts.received[0]
    assert body["topic"] == "failover" and body["service"] == "web" and seq == failover[1]
    assert body["node"] == coordinator

    # metrics: the failover counted, n1 gone from the view, web once
    assert _value(before, "hacore_membership_size") == 3
    assert not _value(before, "hacore_failovers_total", service="web")
    assert _value(after, "hacore_failovers_total", service="web") == 1
    assert _value(after, "hacore_failover_duration_seconds_count", service="web") == 1
    assert _value(after, "hacore_membership_size") == 2
    assert _value(after, "hacore_quorate") == 1
    assert _value(after, "hacore_service_active_instances", service="web") == 1
    assert _value(after, "hacore_service_state", service="web", state="started") == 1
    assert _value(after, "hacore_services_active") == 1
    assert _value(after, "hacore_alerts_total", hook="web", result="delivered") == 1
    assert _value(on_owner, "hacore_service_active_local", service="web") == 1
    assert _value(on_owner, "hacore_operation_duration_seconds_count", action="start",
                  resource="web-a") >= 1

    # the journal, asked of one node, tells the story written on the others
    assert cli.exit_code == 0, cli.output
    story = [json.loads(line) for line in cli.output.splitlines() if line.startswith("{")]
    assert {e["node"] for e in story} >= {coordinator, owner}
    assert any(e["node"] != asker for e in story)

    def find(pred, start=0):
        return next((i for i in range(start, len(story)) if pred(story[i])), None)

    at = find(lambda e: e["kind"] == "membership" and e["fields"].get("change") == "lost"
              and e["fields"].get("subject") == "n1")
    assert at is not None, cli.output
    incident = story[at]["incident"]
    for pred in (
        lambda e: e["kind"] == "fence" and e["fields"]["subject"] == "n1" and e["fields"]["ok"],
        lambda e: e["kind"] == "operation" and e["node"] == owner
        and e["fields"]["action"] == "start" and e["incident"] == incident,
        lambda e: e["kind"] == "service" and e["fields"].get("failover")
        and e["incident"] == incident,
    ):
        at = find(pred, at + 1)
        assert at is not None, "story out of order or incomplete:\n" + cli.output


def test_a_hanging_alert_script_does_not_delay_recovery(tmp_path, executor):
    """A hook that hangs for 60 s on every event (timeout 50 s) leaves the failover as fast
    as without it: web runs again well within the hook's timeout."""
    out = tmp_path / "hung.log"
    script = tmp_path / "hang.sh"
    script.write_text(HANGING_SCRIPT.format(out=out))
    script.chmod(0o755)
    config = _config(tmp_path, f'\n[[alerts]]\nname = "hang"\nscript = "{script}"\n'
                               'timeout = 50\n')

    async def go():
        c = InprocCluster(config, tmp_path, executor)
        try:
            for name in ("n1", "n2", "n3"):
                await _boot(c, name)
            await wait_for(lambda: c.runs("web-a") == ["n1"] and
                           c.service("web")["state"] == "started", what="web on n1")
            await wait_for(lambda: out.exists(), what="the hook hanging")
            crashed = time.monotonic()
            await c.crash("n1")
            await wait_for(lambda: any(n != "n1" for n in c.runs("web-a"))
                           and c.service("web", "n2")["state"] == "started",
                           timeout=25, what="web moved while the hook hangs")
            return time.monotonic() - crashed, c.daemons["n2"].alerts.dispatcher.pending()
        finally:
            for name in list(c.daemons):
                await c.daemons.pop(name).stop()

    took, pending = asyncio.run(go())
    assert took < 50, f"recovery waited for the hook ({took:.1f} s)"
    assert pending >= 1  # the hook was still busy (or queued) when web ran again


def test_a_node_cut_off_alone_sends_its_own_quorum_lost_alert(tmp_path, executor):
    """n3 is partitioned away: n3 (and only n3) alerts quorum-lost, and quorum-regained
    once healed; its /metrics say it is not quorate while cut off."""
    out = tmp_path / "alerts.log"
    script = tmp_path / "alert.sh"
    script.write_text(ALERT_SCRIPT.format(out=out))
    script.chmod(0o755)
    config = _config(tmp_path, f'\n[[alerts]]\nname = "q"\nscript = "{script}"\n'
                               'events = ["quorum-lost", "quorum-regained"]\n')

    def topics() -> list[tuple[str, str]]:
        return [(ln.split()[0], ln.split()[2]) for ln in out.read_text().splitlines()] \
            if out.exists() else []

    async def go():
        c = InprocCluster(config, tmp_path, executor)
        try:
            for name in ("n1", "n2", "n3"):
                await _boot(c, name)
            await wait_for(lambda: c.service("web")["state"] == "started", what="web")
            await wait_for(lambda: ("n3", "quorum-regained") in topics(), what="formed")
            formed = len(topics())
            c.bus.partition(["n1", "n2"], ["n3"])
            await wait_for(lambda: ("n3", "quorum-lost") in topics(), what="quorum-lost")
            cut = await _scrape_async(c.daemons["n3"])
            c.bus.heal()
            await wait_for(lambda: topics()[-1] == ("n3", "quorum-regained"),
                           what="quorum-regained")
            await asyncio.sleep(0.5)  # any further (wrong) alert would show by now
            return topics()[formed:], cut
        finally:
            for name in list(c.daemons):
                await c.daemons.pop(name).stop()

    sent, cut = asyncio.run(go())
    assert sent == [("n3", "quorum-lost"), ("n3", "quorum-regained")]
    assert _value(cut, "hacore_quorate") == 0 and _value(cut, "hacore_membership_size") == 1
