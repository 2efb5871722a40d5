"""hacore cluster init / join / token / remove on three bare testbed nodes.

One module-scoped testbed whose nodes have nothing but hacore: n1 runs ``cluster init``
(two addresses: IPv4 and IPv6, two links), n2 joins with the printed token, a service
(address + a start-counting script) is pushed and runs, then n3 joins while it runs: no
restart, S1 all along. Refusals change nothing: a forged token, an expired one (checked by
the server too), a man in the middle (a certificate of another key, or the real CA with a
leaf it did not sign) and a replayed token. ``cluster remove`` shrinks the cluster and the
expected votes follow.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hacore.daemon.testbed import wait_for_namespace_turn
from hacore.testing.pytest_fixtures import skip_unless_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]

HACORE = [sys.executable, "-m", "hacore.cli.main"]


class Bed:
    """The testbed and helpers to run hacore inside its nodes."""

    def __init__(self, c) -> None:
        self.c = c
        self.tokens: dict[str, str] = {}
        self.vip = c.free_address(0)
        self.starts = Path(c.base) / "starts.log"

    def run(self, node, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """``hacore ARGS`` inside ``node``'s namespaces (no --socket: the node's default)."""
        return node.run([*HACORE, *args], check=False, timeout=timeout)

    def api(self, node, method: str, **params):
        from hacore.api.client import ApiClient

        return ApiClient(str(node.socket_path), timeout=10).call(method, **params)

    def status(self, node) -> dict | None:
        try:
            return self.api(node, "status")
        except Exception:  # noqa: BLE001 - not up (yet)
            return None

    def wait(self, cond, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except (OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"not within {timeout} s: {what}\n{self.logs()}")

    def logs(self, lines: int = 30) -> str:
        out = []
        for node in self.c.nodes:
            path = Path(node.state_dir) / "daemon.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {node.name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    def members(self, node) -> list[str]:
        st = self.status(node)
        return sorted(m["name"] for m in st["members"] if m.get("state") == "Online") \
            if st else []

    def versions(self) -> dict[str, int | None]:
        return {n.name: (st or {}).get("config_version") for n in self.c.nodes
                for st in [self.status(n)]}


@pytest.fixture(scope="module")
def bed():
    """Three bare nodes; S1 checked on the service's address all along."""
    skip_unless_testbed()
    why = wait_for_namespace_turn()
    if why:
        pytest.skip(f"namespace tests busy: {why}")
    from hacore.testing import Cluster
    from hacore.testing.leaks import leak_check

    with leak_check(), Cluster(nodes=3) as c:
        b = Bed(c)
        s1 = c.s1_checker(addresses=[b.vip])
        try:
            yield b
        finally:
            violations = s1.stop()
            if os.environ.get("HACORE_SHOW_LOGS"):
                print(b.logs(200))
            for node in c.nodes:  # stop the daemons (supervisors first) before teardown
                for pid in node.find_pids(r"hacore\.daemon\.supervisor|hacore\.cli\.main daemon"):
                    try:
                        os.kill(pid, 15)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(
                    n.find_pids(r"hacore\.daemon") for n in c.nodes):
                time.sleep(0.2)
        assert not violations, "S1 violated: " + "; ".join(str(v) for v in violations)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_then_join_makes_a_two_node_cluster(bed):
    """init on bare n1 (two addresses) prints a token; n2 joins with it: both members,
    expected votes 1 -> 2 printed, key 0400 and config 0600 on both, same key."""
    n1, n2, _ = bed.c.nodes
    assert not (Path(n1.etc_dir) / "cluster.key").exists()
    proc = bed.run(n1, "cluster", "init", "tb", "--address", n1.address, "--address",
                   n1.address6, "--json")
    assert proc.returncode == 0, proc.stderr + proc.stdout + bed.logs()
    info = json.loads(proc.stdout)
    assert info["node"] == "n1" and info["daemon_answers"]
    assert info["addresses_to_join"] == [f"{n1.address}:5417", f"[{n1.address6}]:5417"]
    bed.tokens["n2"] = info["token"]
    assert info["join_command"].startswith(f"hacore cluster join {n1.address}:5417 --token ")
    bed.wait(lambda: bed.members(n1) == ["n1"], 60, "n1 alone is a member")
    proc = bed.run(n2, "cluster", "join", f"[{n1.address6}]", "--token", info["token"],
                   "--address", n2.address, "--address", n2.address6)
    assert proc.returncode == 0, proc.stderr + proc.stdout + bed.logs()
    assert "n2 is node 2" in proc.stdout
    assert "expected votes 1 -> 2, quorum 2" in proc.stdout
    bed.wait(lambda: bed.members(n1) == ["n1", "n2"] == bed.members(n2), 60, "n1+n2 members")
    # both members before quorum: n2's new daemon grants no vote for a lease after it starts
    bed.wait(lambda: bed.status(n1)["quorate"] and bed.status(n2)["quorate"], 60,
             "n1+n2 quorate")
    for node in (n1, n2):
        etc = Path(node.etc_dir)
        assert _mode(etc / "cluster.key") == 0o400 and _mode(etc / "cluster.toml") == 0o600
        assert _mode(etc) == 0o700
    assert (Path(n1.etc_dir) / "cluster.key").read_bytes() == \
        (Path(n2.etc_dir) / "cluster.key").read_bytes()
    st = bed.status(n1)
    assert st["quorum"]["expected"] == 2 and st["quorum"]["needed"] == 2
    assert st["config_version"] == 2
    for node in (n1, n2):  # nothing secret in the logs
        log = (Path(node.state_dir) / "daemon.log").read_text(errors="replace")
        assert info["token"] not in log and info["token"].split(".")[1][:40] not in log


def test_a_pushed_service_runs(bed):
    """A service (address + counting script) pushed from `config show` runs once."""
    n1 = bed.c.nodes[0]
    script = Path(bed.c.base) / "count.sh"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case "$1" in
          start) echo "start $(hostname)" >> {bed.starts}; touch /run/count.on ;;
          stop) rm -f /run/count.on ;;
          status) [ -e /run/count.on ] && exit 0 || exit 3 ;;
        esac
        exit 0
        """))
    script.chmod(0o755)
    shown = bed.api(n1, "config_show")
    text = shown["text"].replace(f"config_version = {shown['version']}",
                                 f"config_version = {shown['version'] + 1}")
    text += textwrap.dedent(f"""
        [resources.vip]
        agent = "ip"
        params = {{ address = "{bed.vip}/24" }}
        operations = {{ monitor = {{ interval = 1, timeout = 10 }} }}

        [resources.count]
        agent = "script"
        params = {{ file = "{script}" }}
        operations = {{ monitor = {{ interval = 1, timeout = 10 }} }}

        [services.svc]
        tree = [{{ resource = "vip", children = ["count"] }}]
        """)
    pushed = Path(n1.tmp_dir) / "push.toml"
    pushed.write_text(text)
    bed.wait(lambda: bed.status(n1)["quorate"], 60, "n1 quorate (a push needs quorum)")
    proc = bed.run(n1, "config", "push", "/tmp/push.toml")
    assert proc.returncode == 0, proc.stderr + bed.logs()

    def running():
        svc = next(s for s in bed.status(n1)["services"] if s["name"] == "svc")
        return svc["state"] == "started"
    bed.wait(running, 60, "svc started")
    assert len(bed.starts.read_text().splitlines()) == 1


def test_refused_joins_change_nothing(bed):
    """A forged token, an expired one, and two men in the middle are refused with a clear
    reason; n3 gets no file and every node keeps its configuration version."""
    n1, _, n3 = bed.c.nodes
    before = bed.versions()
    token = bed.api(n1, "cluster_token", ttl=600)["token"]
    bed.tokens["n3"] = token
    from hacore.bootstrap.token import parse_token

    real = parse_token(token)
    forged = type(real)(real.token_id, real.node_id, real.expires, bytes(16),
                        real.fingerprint, real.addresses).encode()
    proc = bed.run(n3, "cluster", "join", n1.address, "--token", forged,
                   "--address", n3.address, "--address", n3.address6, "--start", "none")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "refused the join: the token is not valid for this cluster" in proc.stderr
    # expired: the CLI refuses at once; the server refuses too (asked directly)
    key = (Path(n1.etc_dir) / "cluster.key").read_bytes()
    script = Path(bed.c.base) / "refusals.py"
    script.write_text(textwrap.dedent(f"""\
        import json, socket, ssl, subprocess, sys, threading, time
        from hacore.bootstrap.endpoint import join_server_context
        from hacore.bootstrap.joiner import join_once, JoinRefused
        from hacore.bootstrap.token import make_token, parse_token
        from hacore.bootstrap.wire import encode_line
        from hacore.tls import cluster_ca
        key = bytes.fromhex("{key.hex()}")
        real = parse_token("{token}")
        out = {{}}
        expired = make_token(key, real.fingerprint, 9, list(real.addresses), ttl=60,
                             now=time.time() - 120)
        try:
            join_once("{n1.address}", 5417, expired, "n3", ["{n3.address}"])
        except JoinRefused as exc:
            out["expired-server"] = str(exc)
        cli = subprocess.run([sys.executable, "-m", "hacore.cli.main", "cluster", "join",
                              "{n1.address}", "--token", expired.encode(), "--address",
                              "{n3.address}", "--start", "none"], capture_output=True, text=True)
        out["expired-cli"] = [cli.returncode, cli.stderr]

        def mitm(port, ca_pem):
            # a listener with a certificate from another key; its hello names ca_pem
            ctx, _ = join_server_context(cluster_ca(b"another cluster's key, 32 bytes!")
                                         .credentials("n1", ["127.0.0.1"]))
            srv = socket.create_server(("127.0.0.1", port))
            def serve():
                conn, _ = srv.accept()
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(encode_line({{"t": "hello", "cluster": "tb", "ca": ca_pem,
                                              "nonce": "00" * 32}}))
                    tls.settimeout(3)
                    try:
                        out.setdefault("mitm-received", []).append(tls.recv(65536).decode())
                    except Exception:
                        out.setdefault("mitm-received", []).append("")
                srv.close()
            threading.Thread(target=serve, daemon=True).start()
        other = cluster_ca(b"another cluster's key, 32 bytes!").cert_pem().decode()
        mitm(6417, other)
        cli = subprocess.run([sys.executable, "-m", "hacore.cli.main", "cluster", "join",
                              "127.0.0.1:6417", "--token", "{token}", "--address",
                              "{n3.address}", "--start", "none"], capture_output=True, text=True)
        out["mitm-cli"] = [cli.returncode, cli.stderr]
        mitm(6418, cluster_ca(key).cert_pem().decode())  # the real CA, a leaf it did not sign
        cli = subprocess.run([sys.executable, "-m", "hacore.cli.main", "cluster", "join",
                              "127.0.0.1:6418", "--token", "{token}", "--address",
                              "{n3.address}", "--start", "none"], capture_output=True, text=True)
        out["mitm2-cli"] = [cli.returncode, cli.stderr]
        time.sleep(0.5)
        print(json.dumps(out))
        """))
    done = n3.run([sys.executable, str(script)], check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "refused the join: the token expired at" in out["expired-server"]
    assert out["expired-cli"][0] == 1 and "the token expired at" in out["expired-cli"][1]
    assert out["mitm-cli"][0] == 1
    assert "another cluster or is a man in the middle" in out["mitm-cli"][1]
    assert out["mitm2-cli"][0] == 1 and "the cluster's CA did not sign" in out["mitm2-cli"][1]
    assert out["mitm-received"] == ["", ""], "the joiner sent something to a man in the middle"
    assert not (Path(n3.etc_dir) / "cluster.key").exists()
    time.sleep(1.0)
    assert bed.versions() == before
    assert [n["name"] for n in bed.api(n1, "nodes")["nodes"]] == ["n1", "n2"]


def test_a_node_joins_while_the_service_runs_undisturbed(bed):
    """n3 joins through n2 (token from n1) with the service up: it becomes a member, the
    expected votes go 2 -> 3 (quorum 2), the service is not restarted, S1 holds."""
    n1, n2, n3 = bed.c.nodes
    starts = bed.starts.read_text()
    proc = bed.run(n3, "cluster", "join", "--token", bed.tokens["n3"], "--address",
                   n3.address, "--address", n3.address6)
    assert proc.returncode == 0, proc.stderr + proc.stdout + bed.logs()
    assert "expected votes 2 -> 3, quorum 2" in proc.stdout
    bed.wait(lambda: all(bed.members(n) == ["n1", "n2", "n3"] for n in (n1, n2, n3)), 60,
             "three members")
    time.sleep(3.0)
    assert bed.starts.read_text() == starts, "the service was restarted by the join"
    svc = next(s for s in bed.status(n3)["services"] if s["name"] == "svc")
    assert svc["state"] == "started"
    assert bed.status(n1)["quorum"]["expected"] == 3


def test_a_replayed_token_is_refused(bed):
    """The tokens n2 and n3 used are refused when presented again (as a new machine)."""
    n1, _, n3 = bed.c.nodes
    before = bed.versions()
    for name, token in bed.tokens.items():
        proc = bed.run(n3, "cluster", "join", n1.address, "--token", token,
                       "--etc-dir", "/tmp/again-etc", "--state-dir", "/tmp/again-state",
                       "--name", "n9", "--address", bed.c.free_address(9), "--start", "none")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "the token was used already" in proc.stderr, (name, proc.stderr)
    assert not (Path(n3.tmp_dir) / "again-etc" / "cluster.key").exists()
    time.sleep(1.0)
    assert bed.versions() == before


def test_a_restarted_daemon_with_the_old_config_file_knows_every_node(bed):
    """A node whose /etc/hacore/cluster.toml predates n3's join leaves and starts again:
    it runs the stored newer configuration (three nodes) and all three are members; the
    service, elsewhere, is not restarted."""
    n1, n2, n3 = bed.c.nodes
    owner = next(s for s in bed.status(n1)["services"] if s["name"] == "svc")["owner"]
    node = n2 if owner == "n1" else n1
    other = n1 if node is n2 else n2
    assert "n3" not in (Path(node.etc_dir) / "cluster.toml").read_text()
    starts = bed.starts.read_text()
    proc = bed.run(node, "node", "leave", node.name)
    assert proc.returncode == 0, proc.stderr
    bed.wait(lambda: not node.find_pids(r"hacore\.daemon"), 60, f"{node.name} stopped")
    bed.wait(lambda: node.name not in bed.members(other), 30, f"{node.name} left")
    code = ("from hacore.bootstrap.local import NodePaths, start_daemon; "
            f"print(start_daemon(NodePaths(), {node.name!r}, 'background'))")
    started = node.run([sys.executable, "-c", code], check=False)
    assert started.returncode == 0, started.stderr
    bed.wait(lambda: all(bed.members(n) == ["n1", "n2", "n3"] for n in (n1, n2, n3)), 60,
             "three members again")
    assert bed.status(node)["quorum"]["expected"] == 3
    assert bed.starts.read_text() == starts


def test_remove_is_refused_for_a_member_then_shrinks_the_cluster(bed):
    """remove n3 while it is a member: refused; after n3 leaves: expected 3 -> 2, n1 and n2
    stay quorate with the new figures, and the service still runs."""
    n1, n2, n3 = bed.c.nodes
    proc = bed.run(n1, "cluster", "remove", "n3")
    assert proc.returncode == 1 and "n3 is a member" in proc.stderr, proc.stderr
    proc = bed.run(n3, "node", "leave", "n3")
    assert proc.returncode == 0, proc.stderr
    bed.wait(lambda: bed.members(n1) == ["n1", "n2"], 60, "n3 left")
    proc = bed.run(n1, "cluster", "remove", "n3")
    assert proc.returncode == 0, proc.stderr + bed.logs()
    assert "expected votes 3 -> 2, quorum 2" in proc.stdout
    for node in (n1, n2):
        bed.wait(lambda node=node: bed.status(node)["quorum"]["expected"] == 2, 30,
                 f"{node.name} expects 2 votes")
        st = bed.status(node)
        assert st["quorate"] and st["quorum"]["needed"] == 2
        assert [m["name"] for m in st["members"]] == ["n1", "n2"]
    svc = next(s for s in bed.status(n1)["services"] if s["name"] == "svc")
    assert svc["state"] == "started"
