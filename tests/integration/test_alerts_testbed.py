"""Alerts, /metrics and the cluster-wide journal of real daemons on the namespace testbed.

One crash failover of web (VIP + Apache) on 3 nodes: the failover alert reaches a script
(in order, with the journal's seq) and a URL served in the client namespace, a hook that
hangs on every event does not hold the recovery back, the coordinator's /metrics counts the
failover, and `hacore events` on one node tells the story written on the others.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from hacore.daemon.testbed import HacoreTestbed, wait_for_namespace_turn
from hacore.observability import parse_exposition
from hacore.testing.pytest_fixtures import skip_unless_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ALERT_SCRIPT = """#!/bin/sh
echo "$HACORE_ALERT_NODE $HACORE_ALERT_SEQ $HACORE_ALERT_TOPIC $HACORE_ALERT_SERVICE" \
    >> /etc/hacore/alerts.log
"""
HANGING_SCRIPT = "#!/bin/sh\nsleep 120\n"


class _Posts(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append({**body, "header_seq": self.headers["X-Hacore-Alert-Seq"]})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class _AlertingTestbed(HacoreTestbed):
    """The standard testbed cluster plus hooks and a metrics endpoint on every address."""

    url = ""

    def write_config(self) -> None:
        super().write_config()
        extra = (
            '\n[metrics]\nlisten = "0.0.0.0:9664"\n'
            '\n[[alerts]]\nname = "log"\nscript = "/etc/hacore/alert.sh"\n'
            'events = ["node-lost", "node-fenced", "failover"]\n'
            f'\n[[alerts]]\nname = "hook"\nurl = "{self.url}"\nevents = ["failover"]\n'
            '\n[[alerts]]\nname = "hang"\nscript = "/etc/hacore/hang.sh"\ntimeout = 60\n')
        for node in self.c.nodes:
            etc = Path(node.etc_dir)
            (etc / "cluster.toml").write_text((etc / "cluster.toml").read_text() + extra)
            for name, text in (("alert.sh", ALERT_SCRIPT), ("hang.sh", HANGING_SCRIPT)):
                (etc / name).write_text(text)
                (etc / name).chmod(0o755)


def _scrape(client, address: str) -> dict:
    with client.in_netns(), urllib.request.urlopen(f"http://{address}:9664/metrics",
                                                   timeout=10) as reply:
        return parse_exposition(reply.read().decode())


def test_crash_failover_alerts_metrics_and_cluster_journal_on_the_testbed():
    """See the module docstring; the hanging hook runs on every event of every node."""
    skip_unless_testbed()
    why = wait_for_namespace_turn()
    if why:
        pytest.skip(f"namespace tests busy: {why}")
    from hacore.testing import Cluster
    from hacore.testing.leaks import leak_check

    _Posts.received = []
    with leak_check(), Cluster(nodes=3) as c:
        with c.client.in_netns():  # the socket lives in the client's namespace
            server = ThreadingHTTPServer((c.client.address, 0), _Posts)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        bed = _AlertingTestbed(c)
        bed.url = f"http://{c.client.address}:{server.server_address[1]}/alert"
        bed.start()
        try:
            _story(bed, c)
        finally:
            server.shutdown()
            bed.stop()


def _story(bed: _AlertingTestbed, c) -> None:
    nodes = {n.name: n for n in c.nodes}
    n2 = nodes["n2"]
    bed.wait(lambda: (bed.web(n2) or {}).get("state") == "started", 90, "web running")
    victim = nodes[bed.web(n2)["owner"]]
    survivors = [n for n in c.nodes if n is not victim]
    before = {n.name: _scrape(c.client, n.address) for n in survivors}
    assert all(m[("hacore_membership_size", ())] == 3 for m in before.values())
    c.crash(victim)
    crashed = time.monotonic()

    def moved() -> bool:
        web = bed.web(survivors[0]) or {}
        return web.get("state") == "started" and web.get("owner") not in (None, victim.name)

    bed.wait(moved, 60, "web started on a survivor while a hook hangs on every event")
    took = time.monotonic() - crashed
    assert took < 60, f"recovery took {took:.1f} s: as long as the hanging hook's timeout"
    owner = bed.web(survivors[0])["owner"]
    coordinator = bed.status(survivors[0])["coordinator"]

    log = Path(nodes[coordinator].etc_dir) / "alerts.log"
    bed.wait(lambda: log.exists() and " failover " in log.read_text(), 30, "failover alert")
    bed.wait(lambda: bool(_Posts.received), 30, "failover posted to the client's server")
    lines = [ln.split() for ln in log.read_text().splitlines()]
    topics = [ln[2] for ln in lines]
    assert topics.index("node-lost") < topics.index("failover"), lines
    assert all(ln[0] == coordinator for ln in lines)
    seqs = [int(ln[1]) for ln in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    failover = next(ln for ln in lines if ln[2] == "failover")
    posted = _Posts.received[0]
    assert posted["topic"] == "failover" and posted["service"] == "web"
    assert posted["header_seq"] == failover[1] == str(posted["seq"])

    after = _scrape(c.client, nodes[coordinator].address)
    assert after[("hacore_failovers_total", (("service", "web"),))] == 1
    assert after[("hacore_membership_size", ())] == 2
    assert after[("hacore_service_active_instances", (("service", "web"),))] == 1
    on_owner = _scrape(c.client, nodes[owner].address)
    assert on_owner[("hacore_service_active_local", (("service", "web"),))] == 1

    asker = next(n for n in survivors if n.name != coordinator)
    proc = bed.hacore(asker, "events", "--json")
    story = [json.loads(line) for line in proc.stdout.splitlines()]
    assert victim.name in proc.stderr  # the crashed node's events are named missing
    lost = next(i for i, e in enumerate(story) if e["kind"] == "membership"
                and e["fields"].get("change") == "lost"
                and e["fields"].get("subject") == victim.name)
    incident = story[lost]["incident"]
    rest = story[lost + 1:]
    fence = next(i for i, e in enumerate(rest) if e["kind"] == "fence" and e["fields"]["ok"])
    start = next(i for i, e in enumerate(rest) if e["kind"] == "operation"
                 and e["node"] == owner and e["fields"]["action"] == "start"
                 and e["incident"] == incident)
    done = next(i for i, e in enumerate(rest) if e["kind"] == "service"
                and e["fields"].get("failover") and e["incident"] == incident)
    assert fence < start < done, proc.stdout
    assert {e["node"] for e in story} >= {coordinator, owner}
