"""Alert hooks with a real script and a real HTTP server on 127.0.0.1."""

import json
import os
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hacore.alerts.dispatcher import AlertDispatcher, alert_for, wants
from hacore.config.model import AlertHook
from hacore.journal import Event, compose

RECORDER = """#!/bin/sh
# appends one line per alert: seq topic service, then the JSON from stdin
printf '%s %s %s ' "$HACORE_ALERT_SEQ" "$HACORE_ALERT_TOPIC" "$HACORE_ALERT_SERVICE" >> {out}
cat >> {out}
echo >> {out}
"""


def script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def event(seq, draft, node="n1", incident=None):
    return Event(seq, 1000.0 + seq, node, draft["kind"], draft["message"],
                 draft.get("service"), incident, draft["fields"])


def failover(seq, service="web"):
    return event(seq, compose.service_changed(service, change="started", owner="n2",
                                              previous_owner="n1"))


def test_a_script_gets_the_event_as_environment_and_json_in_order(tmp_path):
    """Each alert runs the script once, in sequence order, with HACORE_ALERT_* and stdin."""
    out = tmp_path / "out.txt"
    hook = AlertHook("rec", script=script(tmp_path, "rec.sh", RECORDER.format(out=out)))
    d = AlertDispatcher([hook]).start()
    try:
        for seq in range(1, 6):
            assert d.submit(failover(seq, service=f"s{seq % 2}")) == 1
        assert d.wait_idle(30)
    finally:
        d.stop()
    lines = out.read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["1", "2", "3", "4", "5"]
    seq, topic, service, body = lines[2].split(" ", 3)
    assert (topic, service) == ("failover", "s1")
    data = json.loads(body)
    assert data["seq"] == 3 and data["topic"] == "failover" and data["node"] == "n1"
    assert data["fields"]["previous_owner"] == "n1"
    assert d.counters.delivered == 5 and d.counters.failed == 0


def test_a_hung_script_is_killed_at_its_timeout_and_other_hooks_do_not_wait(tmp_path):
    """A script that sleeps past its timeout fails (with its whole group killed); another
    hook's later alert is delivered meanwhile, not after it."""
    pidfile = tmp_path / "child.pid"
    hung = AlertHook("hung", script=script(tmp_path, "hung.sh",
                                           f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\nwait\n"),
                     timeout=0.5, events=("node-lost",))
    out = tmp_path / "out.txt"
    rec = AlertHook("rec", script=script(tmp_path, "rec.sh", RECORDER.format(out=out)),
                    events=("failover",))
    results = []
    d = AlertDispatcher([hung, rec], on_result=lambda h, a, r: results.append((h.name, r)))
    d.start()
    try:
        d.submit(event(1, compose.node_lost("n1", silent_for=1.0, services=["web"])))
        d.submit(failover(2))
        assert d.wait_idle(60)
    finally:
        d.stop()
    assert [name for name, _ in results] == ["rec", "hung"]
    assert not results[1][1].ok and "timed out after 0.5 s" in results[1][1].detail
    assert results[0][1].ok and out.read_text().startswith("2 failover web")
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{child}"):
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{child}"), "the script's child survived the timeout"


def test_a_failing_script_is_reported_with_its_stderr(tmp_path):
    """Exit status and the last stderr line come back as the failure detail."""
    bad = AlertHook("bad", script=script(tmp_path, "bad.sh",
                                         "#!/bin/sh\necho 'pager down' >&2\nexit 3\n"))
    results = []
    d = AlertDispatcher([bad], on_result=lambda h, a, r: results.append(r)).start()
    try:
        d.submit(failover(1))
        assert d.wait_idle(30)
    finally:
        d.stop()
    assert not results[0].ok
    assert "exited with 3: pager down" in results[0].detail
    assert d.counters.failed == 1


class Recorder(BaseHTTPRequestHandler):
    received: list = []  # noqa: RUF012 - reset by the fixture, read by the tests
    status = 204

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers["X-Hacore-Alert-Seq"],
                                    self.headers["Content-Type"], json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    Recorder.received = []
    Recorder.status = 204
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_a_url_gets_a_json_post_per_event_in_order(http_server):
    """POSTs carry the JSON and the sequence number header, in order; 2xx is delivered."""
    hook = AlertHook("web", url=http_server, events=("failover", "quorum-lost"))
    d = AlertDispatcher([hook]).start()
    try:
        d.submit(failover(7))
        d.submit(event(8, compose.quorum_changed(quorate=False, votes=1, needed=2)))
        d.submit(event(9, compose.node_joined("n3")))  # not asked for
        assert d.wait_idle(30)
    finally:
        d.stop()
    assert [(seq, ctype) for seq, ctype, _ in Recorder.received] == [
        ("7", "application/json"), ("8", "application/json")]
    assert Recorder.received[1][2]["topic"] == "quorum-lost"
    assert d.counters.delivered == 2


def test_an_error_status_counts_as_failed(http_server):
    """A 500 answer is a failed delivery naming the status."""
    Recorder.status = 500
    results = []
    d = AlertDispatcher([AlertHook("web", url=http_server)],
                        on_result=lambda h, a, r: results.append(r)).start()
    try:
        d.submit(failover(1))
        assert d.wait_idle(30)
    finally:
        d.stop()
    assert not results[0].ok and "500" in results[0].detail


def test_submit_never_blocks_and_a_full_queue_drops_the_oldest(tmp_path, caplog):
    """While a hook is stuck, submit returns at once; beyond max_queue the oldest queued
    alerts are dropped, counted and logged, and the newest are delivered."""
    gate = tmp_path / "gate"
    out = tmp_path / "out.txt"
    body = (f"#!/bin/sh\nwhile [ ! -e {gate} ]; do sleep 0.05; done\n"
            f"printf '%s\\n' \"$HACORE_ALERT_SEQ\" >> {out}\n")
    hook = AlertHook("slow", script=script(tmp_path, "slow.sh", body), timeout=60)
    d = AlertDispatcher([hook], max_queue=3).start()
    try:
        d.submit(failover(1))
        deadline = time.monotonic() + 10
        while d.queued() and time.monotonic() < deadline:
            time.sleep(0.01)  # the worker has taken alert 1 and is stuck in it
        for seq in range(2, 8):
            d.submit(failover(seq))
        assert d.pending() == 4  # 1 running + 3 queued
        assert d.counters.dropped == 3
        gate.touch()
        assert d.wait_idle(60)
    finally:
        d.stop()
    assert out.read_text().split() == ["1", "5", "6", "7"]
    assert "dropped" in caplog.text


def test_topics_and_service_filters():
    """Decisions carry no alert; a hook limited to a service still gets events about no
    service (quorum), and not other services' events."""
    assert alert_for(event(1, compose.decision("start", service="web", target="n1",
                                               reason="r"))) is None
    hook = AlertHook("db-only", url="http://127.0.0.1:1/", services=("db",))
    assert wants(hook, "quorum-lost", None)
    assert wants(hook, "failover", "db")
    assert not wants(hook, "failover", "web")
