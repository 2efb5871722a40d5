"""What a running daemon and its executor helper keep in memory: no web console, no
pyroute2, no test tools, and (once the join endpoint stops needing it) no cryptography."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

PROGRAM = textwrap.dedent('''
    import asyncio, json, os, signal, sys, time
    from hacore.daemon.main import run_daemon

    async def main(base):
        done = asyncio.ensure_future(run_daemon(f"{base}/cluster.toml", "n1", f"{base}/state",
                                                f"{base}/hacore.sock", f"{base}/cluster.key"))
        deadline = time.monotonic() + 60
        while not os.path.exists(f"{base}/hacore.sock") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        daemon = sorted(sys.modules)
        os.kill(os.getpid(), signal.SIGTERM)  # the daemon's own clean stop
        await asyncio.wait_for(done, 60)
        print(json.dumps(daemon))

    asyncio.run(main(sys.argv[1]))
''')
#: what ForkServerLoop.serve loads before its first fork
HELPER = ("import sys, json; from hacore.executor.helper import ForkServerLoop; "
          "from hacore.agent.registry import installed_agents; "
          "installed_agents(discover_in_child=True); "
          "print(json.dumps(sorted(sys.modules)))")


def modules_of_a_running_daemon(tmp_path) -> set[str]:
    address = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}.{random.randint(1, 250)}"
    (tmp_path / "cluster.toml").write_text(textwrap.dedent(f'''
        [cluster]
        name = "idle"
        config_version = 1
        message_port = {random.randint(20000, 30000)}
        [[nodes]]
        name = "n1"
        id = 1
        addresses = ["{address}"]
        [metrics]
        listen = ""
    '''))
    key = tmp_path / "cluster.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o400)
    out = subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], *packages: str) -> list[str]:
    """The modules of ``packages`` (dotted names) among ``modules``."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_daemon_loads_no_web_console_agent_libraries_or_test_tools(tmp_path):
    """A daemon without [web] never imports the web console, pyroute2, pytest or hypothesis,
    nor the agent framework (agent base class, pluggy, plugin host): only the helper runs
    agents, the daemon needs their exit codes."""
    modules = modules_of_a_running_daemon(tmp_path)
    assert "hacore.daemon.node" in modules  # it really ran
    assert "hacore.agent.codes" in modules
    assert loaded(modules, "hacore.web", "pyroute2", "pytest", "hypothesis", "click",
                  "pluggy", "hacore.plugins", "hacore.agent.base", "hacore.agent.hookspec",
                  "hacore.agent.registry") == []


def test_daemon_loads_no_cryptography(tmp_path):
    """The daemon's TLS credentials come from a helper process: cryptography stays out."""
    assert loaded(modules_of_a_running_daemon(tmp_path), "cryptography") == []


def test_executor_helper_loads_no_pyroute2():
    """The helper imports every agent before it forks: none of them pulls in pyroute2."""
    import json

    out = subprocess.run([sys.executable, "-c", HELPER], capture_output=True, text=True,
                         check=True, timeout=60)
    modules = set(json.loads(out.stdout))
    assert "hacore_agent_ip" in modules
    assert loaded(modules, "pyroute2", "cryptography", "pytest", "hypothesis") == []


def test_executor_helper_loads_no_entry_point_machinery_or_http_client():
    """The helper finds agent entry points in a forked child (no importlib.metadata, zipfile,
    csv), and the apache agent GETs over a plain socket (no urllib.request, http.client,
    email, ssl): about 3.5 MiB less in the process every operation is forked from."""
    import json

    out = subprocess.run([sys.executable, "-c", HELPER], capture_output=True, text=True,
                         check=True, timeout=60)
    start_up = "import sys, json; print(json.dumps(sorted(sys.modules)))"
    bare = subprocess.run([sys.executable, "-c", start_up], capture_output=True, text=True,
                          check=True, timeout=60)
    modules = set(json.loads(out.stdout))
    assert "hacore_agent_apache" in modules and "hacore_agent_ip" in modules
    # what the interpreter's own start-up loads (an editable install's finder, a .pth) aside
    modules -= set(json.loads(bare.stdout))
    assert loaded(modules, "importlib.metadata", "zipfile", "csv", "urllib.request",
                  "http.client", "email", "ssl") == []
