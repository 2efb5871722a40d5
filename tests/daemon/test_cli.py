"""The CLI against three in-process daemons serving their control sockets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.api.client import ApiClient, ApiError
from hacore.api.handlers import Api
from hacore.api.server import UnixApiServer
from hacore.errors import OperationFailed

pytestmark = pytest.mark.slow


class ClusterThread:
    """Runs the in-process cluster on an event loop in a thread, for blocking clients."""

    def __init__(self, tmp_path, executor):
        self.config = token_config(tmp_path, services={"web": ["web-a"], "db": ["db-a"]})
        self.tmp_path, self.executor = tmp_path, executor
        self.ready = threading.Event()
        self.done: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cluster = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self):
        self.loop = asyncio.get_running_loop()
        self.done = asyncio.Event()
        async with inproc_cluster(self.config, self.tmp_path, self.executor, socket=True) as c:
            self.cluster = c
            await wait_for(lambda: all(c.service(s)["state"] == "started" for s in ("web", "db")))
            self.ready.set()
            await self.done.wait()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(60), "the in-process cluster did not start"
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.done.set)
        self.thread.join(60)

    def socket(self, node):
        return str(self.tmp_path / node / "hacore.sock")


def hacore(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "hacore.cli.main", *args], capture_output=True,
                          text=True, timeout=180, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"hacore {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def cluster(tmp_path, executor):
    with ClusterThread(tmp_path, executor) as c:
        yield c


def test_status_and_nodes(cluster):
    """status shows quorum, members and owners; nodes lists every node as a member."""
    out = hacore("status", "--socket", cluster.socket("n2")).stdout
    assert "Member Status: Quorate" in out
    assert "n2" in out and "Online, Local" in out and "coordinator" in out
    st = json.loads(hacore("status", "--json", "--socket", cluster.socket("n3")).stdout)
    owners = {s["name"]: (s["owner"], s["state"]) for s in st["services"]}
    assert owners["web"][1] == "started" and owners["db"][1] == "started"
    assert owners["web"][0] != owners["db"][0], "the two services spread over two nodes"
    nodes = json.loads(hacore("nodes", "--json", "--socket", cluster.socket("n1")).stdout)
    assert [n["state"] for n in nodes["nodes"]] == ["member"] * 3


def test_service_verbs_wait_for_the_outcome(cluster):
    """relocate, disable, enable and freeze through the CLI print the outcome."""
    sock = cluster.socket("n3")
    out = hacore("service", "relocate", "web", "--to", "n3", "--socket", sock).stdout
    assert out.strip() == "service web is now running on n3"
    assert cluster.cluster.runs("web-a") == ["n3"]
    out = hacore("service", "disable", "web", "--socket", sock).stdout
    assert out.strip() == "service web is disabled" and cluster.cluster.runs("web-a") == []
    out = hacore("service", "enable", "web", "--socket", sock).stdout
    assert "service web is now running on" in out and len(cluster.cluster.runs("web-a")) == 1
    assert hacore("service", "freeze", "web", "--socket", sock).stdout.strip() == \
        "service web is frozen"
    refused = hacore("service", "relocate", "web", "--socket", sock, check=False)
    assert refused.returncode == 1 and "frozen; unfreeze it first" in refused.stderr
    hacore("service", "unfreeze", "web", "--socket", sock)


def test_bad_target_is_refused_with_exit_2(cluster):
    """An unknown node is an input error (exit 2) that names the valid ones."""
    proc = hacore("service", "enable", "web", "--to", "n9", "--socket", cluster.socket("n1"),
                  check=False)
    assert proc.returncode == 2 and "no node named 'n9'" in proc.stderr


def test_standby_drains_a_node(cluster):
    """node standby moves every service off the node; unstandby lets them land again."""
    st = json.loads(hacore("status", "--json", "--socket", cluster.socket("n1")).stdout)
    busy = next(s["owner"] for s in st["services"] if s["name"] == "web")
    out = hacore("node", "standby", busy, "--socket", cluster.socket("n1")).stdout
    assert f"{busy} is in standby" in out
    assert busy not in cluster.cluster.runs("web-a") + cluster.cluster.runs("db-a")
    hacore("node", "unstandby", busy, "--socket", cluster.socket("n1"))


def test_no_daemon_is_one_line_exit_1(tmp_path):
    """Without a daemon the CLI says where it looked, exit 1, no traceback."""
    proc = hacore("status", "--socket", str(tmp_path / "none.sock"), check=False)
    assert proc.returncode == 1 and "no hacore daemon socket at" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_socket_refuses_other_users(tmp_path):
    """A peer whose uid is not allowed gets an error reply, not an answer."""
    class Backend:
        def api_status(self):
            return {"secret": True}

    async def go():
        server = UnixApiServer(str(tmp_path / "s.sock"), Api(Backend()),
                               allowed_uids=frozenset({4242}))
        await server.start()
        try:
            with pytest.raises(ApiError, match="root only"):
                await asyncio.to_thread(ApiClient(str(tmp_path / "s.sock")).call, "status")
        finally:
            await server.close()
    asyncio.run(go())


def test_api_reports_unknown_methods(tmp_path):
    """An unknown method is an input error naming the valid ones."""
    async def go():
        server = UnixApiServer(str(tmp_path / "s.sock"), Api(object()))  # type: ignore[arg-type]
        await server.start()
        try:
            with pytest.raises(ApiError, match="unknown API method 'nope'") as err:
                await asyncio.to_thread(ApiClient(str(tmp_path / "s.sock")).call, "nope")
            assert err.value.exit_code == 2
            reply = await asyncio.to_thread(ApiClient(str(tmp_path / "s.sock")).call, "ping")
            assert reply == {"pong": True}
        finally:
            await server.close()
        assert not (tmp_path / "s.sock").exists()
    asyncio.run(go())


def test_unreachable_is_operation_failed(tmp_path):
    """A socket path that is not a daemon is an OperationFailed, exit 1."""
    with pytest.raises(OperationFailed):
        ApiClient(str(tmp_path / "missing.sock")).call("status")


def test_daemon_refuses_bad_arguments_before_running(tmp_path):
    """hacore daemon refuses an unknown node (exit 2) and a missing key, in one line each."""
    config = token_config(tmp_path, services={})
    del config
    path = str(tmp_path / "cluster.toml")
    bad_node = hacore("daemon", "--config", path, "--node", "n9", "--state-dir",
                      str(tmp_path / "s"), check=False)
    assert bad_node.returncode == 2 and "not a node of cluster 't'" in bad_node.stderr
    no_key = hacore("daemon", "--config", path, "--node", "n1", "--state-dir",
                    str(tmp_path / "s"), "--key-file", str(tmp_path / "nokey"), check=False)
    assert no_key.returncode != 0 and "nokey" in no_key.stderr
    assert "Traceback" not in bad_node.stderr + no_key.stderr
    assert not (tmp_path / "s").exists(), "nothing was started"


def test_why_says_where_it_runs_and_why_not(cluster):
    """`hacore why web` names the owner (exit 0); disabled, it says so and exits 1; --json."""
    sock = cluster.socket("n2")
    out = hacore("why", "web", "--socket", sock).stdout
    assert out.startswith("web runs on n") and "Candidates:" in out and "eligible" in out
    hacore("service", "disable", "web", "--socket", sock)
    try:
        proc = hacore("why", "web", "--socket", sock, check=False)
        assert proc.returncode == 1 and "disabled by an administrator" in proc.stdout
        answer = json.loads(hacore("why", "web", "--json", "--socket", sock, check=False).stdout)
        assert answer["state"] == "disabled" and not answer["running"]
        assert {c["node"] for c in answer["candidates"]} == {"n1", "n2", "n3"}
        bad = hacore("why", "nope", "--socket", sock, check=False)
        assert bad.returncode == 2 and "no service named 'nope'" in bad.stderr
    finally:
        hacore("service", "enable", "web", "--socket", sock)


def test_events_through_the_api(cluster):
    """`hacore events --socket ...` merges the daemons' journals: the starts were decided
    (on the coordinator) and carried out (where they run), with the admin command."""
    hacore("service", "relocate", "web", "--to", "n3", "--socket", cluster.socket("n1"))
    args = [a for n in ("n1", "n2", "n3") for a in ("--socket", cluster.socket(n))]
    lines = hacore("events", "--json", *args).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    assert any(e["kind"] == "admin" and "relocate web --to n3" in e["message"] for e in events)
    assert any(e["kind"] == "decision" and e["fields"]["action"] == "start"
               and e["fields"]["target"] == "n3" for e in events)
    assert any(e["kind"] == "operation" and e["node"] == "n3" and e["service"] == "web"
               and e["fields"]["result"] == "succeeded" for e in events)
    text = hacore("events", "--service", "web", "--socket", cluster.socket("n3")).stdout
    assert "start of web/web-a succeeded" in text
