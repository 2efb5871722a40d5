"""hacore config push on a 3-node namespace testbed (daemon messages over TLS).

One module-scoped cluster: a bad file is refused with its line and nothing changes; a push
adds a service that then starts; a push while a node's daemon is down reaches it when the
daemon returns (and a daemon started with an older --config uses the newer one it stored).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from hacore.testing.pytest_fixtures import observed_hacore_testbed

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture(scope="module")
def hb():
    """The cluster with hacore running, web started; S1 checked at the end."""
    yield from observed_hacore_testbed(3, more_s1_addresses=lambda c: [c.free_address(1)],
                                       http=False)


def _versions(hb) -> dict[str, int | None]:
    out = {}
    for node in hb.c.nodes:
        st = hb.status(node)
        out[node.name] = st["config_version"] if st else None
    return out


def _text(hb, version: int, extra: str = "") -> str:
    text = (Path(hb.c.nodes[0].etc_dir) / "cluster.toml").read_text()
    return text.replace("config_version = 1", f"config_version = {version}") + extra


def _extra(hb) -> str:
    return (f'\n[resources.vip2]\nagent = "ip"\nparams = {{ address = '
            f'"{hb.c.free_address(1)}/24" }}\n\n[services.extra]\ntree = ["vip2"]\n')


def _service(hb, via, name: str) -> dict | None:
    st = hb.status(via)
    return next((s for s in st["services"] if s["name"] == name), None) if st else None


def test_bad_file_is_refused_with_its_line_and_nothing_changes(hb, tmp_path):
    """An invalid file: exit 2, the problem with file and line, every node keeps version 1."""
    n1 = hb.c.nodes[0]
    hb.wait(lambda: _versions(hb) == {"n1": 1, "n2": 1, "n3": 1}, 90, "three daemons up")
    bad = tmp_path / "bad.toml"
    bad.write_text(_text(hb, 2, '\n[services.extra]\ntree = ["vip2"]\n'))
    line = bad.read_text().splitlines().index('tree = ["vip2"]') + 1
    proc = hb.hacore(n1, "config", "push", str(bad), check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"{bad}:{line}:" in proc.stderr and "vip2" in proc.stderr
    time.sleep(1.0)
    assert _versions(hb) == {"n1": 1, "n2": 1, "n3": 1}
    assert not any((Path(n.state_dir) / "cluster.toml").exists() for n in hb.c.nodes)


def test_push_adds_a_service_that_starts(hb, tmp_path):
    """A push through n2 returns once a quorum stored it; every node runs version 2 and the
    new service starts on one node, where its address is up; web keeps its owner."""
    n1, n2, _ = hb.c.nodes
    hb.wait(lambda: (_service(hb, n1, "web") or {}).get("state") == "started", 90,
            "web started")
    owner = _service(hb, n1, "web")["owner"]
    good = tmp_path / "v2.toml"
    good.write_text(_text(hb, 2, _extra(hb)))
    out = hb.hacore(n2, "config", "push", str(good)).stdout
    assert "configuration version 2" in out
    hb.wait(lambda: _versions(hb) == {"n1": 2, "n2": 2, "n3": 2}, 30, "version 2 everywhere")
    hb.wait(lambda: (_service(hb, n1, "extra") or {}).get("state") == "started", 60,
            "extra started")
    where = next(n for n in hb.c.nodes if n.name == _service(hb, n1, "extra")["owner"])
    assert hb.c.free_address(1) in where.run(["ip", "-br", "addr"]).stdout
    assert _service(hb, n1, "web")["owner"] == owner
    assert all((Path(n.state_dir) / "cluster.toml").exists() for n in hb.c.nodes)


def test_push_while_a_daemon_is_down_reaches_it_on_return(hb, tmp_path):
    """n3's daemon is stopped; version 3 is pushed to n1 and n2; n3's daemon, started again
    with the version 1 file, uses its stored version 2 at once and gets 3 from its peers."""
    n1, _, n3 = hb.c.nodes
    hb.wait(lambda: _versions(hb) == {"n1": 2, "n2": 2, "n3": 2}, 30, "version 2 everywhere")
    for pid in hb.daemon_pids(n3, "supervisor"):
        os.kill(pid, signal.SIGTERM)
    hb.procs[n3.name].wait(timeout=60)
    hb.wait(lambda: [m["state"] for m in hb.status(n1)["members"]].count("Online") == 2, 30,
            "n3 left")
    v3 = tmp_path / "v3.toml"
    v3.write_text(_text(hb, 3, _extra(hb).replace('tree = ["vip2"]',
                                                  'tree = ["vip2"]\nmax_restarts = 5')))
    hb.hacore(n1, "config", "push", str(v3))
    stored = Path(n3.state_dir) / "cluster.toml"
    assert "config_version = 2" in stored.read_text()
    hb.start_daemon(n3)
    hb.wait(lambda: hb.log_lines(r"n3 .*using the configuration stored in .*config_version 2"),
            60, "n3 says it uses its stored version 2")
    hb.wait(lambda: (hb.status(n3) or {}).get("config_version") == 3, 60,
            "n3 runs version 3")
    assert "config_version = 3" in stored.read_text()
    assert _versions(hb) == {"n1": 3, "n2": 3, "n3": 3}
