"""The supervisor: a dead daemon's resources are stopped (addresses first) before a restart."""

from __future__ import annotations

import sys

from daemon_support import token_config

from hacore.config import load_config
from hacore.daemon.store import LocalState, LocalStore
from hacore.daemon.supervisor import stop_order_addresses_first, supervise


def test_dead_daemon_resources_are_stopped_before_restart(tmp_path):
    """After the daemon is killed, its resources are gone before the next daemon starts."""
    token_config(tmp_path, services={"web": ["web-a", "web-b"]})
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    state_dir = tmp_path / "state"
    LocalStore(str(state_dir)).save(LocalState(local={"web": ["web-a", "web-b"]}))
    log = tmp_path / "starts.log"
    # a "daemon" that notes what runs when it starts, starts web, then dies by SIGKILL
    script = (
        "import os, signal, sys\n"
        f"d = {str(tokens)!r}\n"
        f"open({str(log)!r}, 'a').write(','.join(sorted(os.listdir(d))) + '\\n')\n"
        "for r in ('web-a', 'web-b'): open(os.path.join(d, r + '.running'), 'w').close()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    code = supervise([sys.executable, "-c", script], str(tmp_path / "cluster.toml"), "n1",
                     str(state_dir), max_restarts=1,
                     env={"HACORE_TOKEN_DIR": str(tokens)})
    assert code == 1
    starts = log.read_text().splitlines()
    assert starts == ["", ""], f"the second daemon found resources still running: {starts}"
    assert sorted(p.name for p in tokens.iterdir()) == []
    assert LocalStore(str(state_dir)).load().local == {}


def test_addresses_stop_first(tmp_path):
    """Every address of every service is stopped before any other resource."""
    path = tmp_path / "c.toml"
    path.write_text("""
[cluster]
name = "t"
config_version = 1
[[nodes]]
name = "n1"
id = 1
addresses = ["127.0.0.1"]
[resources.app]
agent = "ocf:heartbeat:Dummy"
[resources.vip]
agent = "ip"
params = { address = "10.9.9.9/24" }
[services.web]
tree = ["vip", "app"]
order = ["vip", "app"]
[services.db]
tree = [{ resource = "vip2", children = ["app2"] }]
[services.db.resources.vip2]
agent = "ip"
params = { address = "10.9.9.8/24" }
[services.db.resources.app2]
agent = "ocf:heartbeat:Dummy"
""")
    config = load_config(str(path))
    order = [(svc, res.name) for svc, res in stop_order_addresses_first(config)]
    assert order[:2] == [("web", "vip"), ("db", "vip2")]
    assert sorted(order[2:]) == [("db", "app2"), ("web", "app")]


def test_supervisor_imports_no_configuration_or_daemon():
    """The supervisor process loads neither the config package nor the daemon's modules
    until it must clean up, and its default node-loss timeout is the config's."""
    import subprocess

    from hacore.config.model import Timing
    from hacore.daemon.supervisor import DEFAULT_NODE_LOSS_TIMEOUT

    assert DEFAULT_NODE_LOSS_TIMEOUT == Timing.node_loss_timeout
    code = ("import sys, hacore.daemon.supervisor as s, hacore.daemon.logformat\n"
            "s.watchdog_feeder('/nonexistent.toml', 'n1')\n"
            "print(sorted(m for m in sys.modules if m.startswith(('hacore.config', "
            "'hacore.daemon.node', 'hacore.daemon.watchdog', 'asyncio', 'hacore.executor'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
