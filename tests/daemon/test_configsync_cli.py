"""`hacore config push` against in-process daemons (messages over TLS)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

pytestmark = pytest.mark.slow


def hacore(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hacore.cli.main", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def test_config_push_command(tmp_path: Path, executor) -> None:
    """A bad file is refused with its line and nothing changes; a good one is stored on a
    quorum and its new service starts; pushing the same version again is refused (exit 2)."""
    config = token_config(tmp_path, services={"web": ["web-a"]})
    ready, done = threading.Event(), threading.Event()
    box: dict = {}

    async def main() -> None:
        async with inproc_cluster(config, tmp_path, executor, socket=True, tls=True) as c:
            box["c"] = c
            await wait_for(lambda: c.service("web")["state"] == "started")
            ready.set()
            while not done.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the in-process cluster did not start"
        c = box["c"]
        sock = str(tmp_path / "n2" / "hacore.sock")
        text = (tmp_path / "cluster.toml").read_text()
        bad = tmp_path / "bad.toml"
        bad.write_text(text.replace("config_version = 1", "config_version = 2") +
                       '\n[services.db]\ntree = ["db-a"]\nrecovery = "sometimes"\n')
        line = bad.read_text().splitlines().index('recovery = "sometimes"') + 1
        proc = hacore("config", "push", str(bad), "--socket", sock)
        assert proc.returncode == 2, proc.stderr
        assert f"{bad}:{line}:" in proc.stderr and "nothing was pushed" in proc.stderr
        assert {d.config.config_version for d in c.daemons.values()} == {1}

        good = tmp_path / "good.toml"
        good.write_text(text.replace("config_version = 1", "config_version = 2") +
                        '\n[resources.db-a]\nagent = "' + config.resources[0].agent +
                        '"\n\n[services.db]\ntree = ["db-a"]\n')
        proc = hacore("config", "push", str(good), "--socket", sock)
        assert proc.returncode == 0, proc.stderr
        assert "configuration version 2" in proc.stdout
        deadline_ok = threading.Event()

        def started() -> bool:
            return c.service("db")["state"] == "started"

        for _ in range(200):
            if started():
                deadline_ok.set()
                break
            threading.Event().wait(0.1)
        assert deadline_ok.is_set(), "db did not start after the push"

        proc = hacore("config", "push", str(good), "--socket", sock)
        assert proc.returncode == 2
        assert "not greater than the running one (2)" in proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        done.set()
        thread.join(60)
