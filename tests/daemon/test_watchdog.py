"""The watchdog (sbd's idea), always against a stand-in file: never a real /dev/watchdog,
which would reset this machine."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.daemon.store import LocalState, LocalStore
from hacore.daemon.supervisor import supervise
from hacore.daemon.watchdog import AliveSignal, WatchdogFeeder, node_healthy


def _with_watchdog(tmp_path, device):
    token_config(tmp_path, services={"web": ["web-a"]})
    path = tmp_path / "cluster.toml"
    text = path.read_text().replace('addresses = ["127.0.0.1"]',
                                    f'addresses = ["127.0.0.1"]\nwatchdog = "{device}"', 1)
    path.write_text(text)
    return str(path)


def _sizes_while(device, run):
    """Run ``run()`` (in this thread) while sampling the stand-in device's size."""
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    start = time.monotonic()

    def sample():
        while not done.is_set():
            size = device.stat().st_size if device.exists() else 0
            samples.append((time.monotonic() - start, size))
            time.sleep(0.05)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        result = run()
    finally:
        done.set()
        thread.join(10)
    return result, samples


def _grew(samples, t0, t1):
    inside = [size for t, size in samples if t0 <= t <= t1]
    return bool(inside) and inside[-1] > inside[0]


def test_health_rule():
    """Healthy: quorate, or holding nothing, or out of quorum less than the self-stop
    budget; never after a stall."""
    base = {"quorum_lost_at": 100.0, "self_stop_budget": 10.0, "now": 105.0}
    assert node_healthy(quorate=True, stalled=False, holds=True, **base)
    assert not node_healthy(quorate=True, stalled=True, holds=True, **base)
    assert node_healthy(quorate=False, stalled=False, holds=True, **base)
    assert not node_healthy(quorate=False, stalled=False, holds=True,
                            **{**base, "now": 111.0})
    assert node_healthy(quorate=False, stalled=False, holds=False, **{**base, "now": 999.0})


def test_feeder_follows_the_beats_and_closes_with_the_magic_character(tmp_path):
    """Fed while beats say 1, not after a 0 or when beats stop (hung), 'V' on a clean close."""
    device = tmp_path / "watchdog"
    device.write_bytes(b"")
    feeder = WatchdogFeeder(str(device), hang_timeout=0.5, grace=0.0, interval=0.1).arm()
    try:
        alive = AliveSignal(feeder.write_fd)

        def beat(value, seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                alive.beat(value)
                time.sleep(0.05)

        def scenario():
            beat(True, 1.0)      # 0.0-1.0 fed
            beat(False, 1.0)     # 1.0-2.0 told unhealthy: not fed
            beat(True, 1.0)      # 2.0-3.0 fed again
            time.sleep(1.5)      # 3.0-4.5 hung: not fed after hang_timeout

        _, samples = _sizes_while(device, scenario)
    finally:
        feeder.close(magic=True)
    assert _grew(samples, 0.3, 1.0)
    assert not _grew(samples, 1.3, 2.0)
    assert _grew(samples, 2.3, 3.0)
    assert not _grew(samples, 3.8, 4.5)
    assert device.read_bytes().endswith(b"V")


def test_supervisor_arms_feeds_and_disarms_on_a_clean_exit(tmp_path):
    """The supervisor of a node with a watchdog feeds it while its daemon beats healthy,
    stops when the daemon hangs, and writes 'V' when the daemon exits cleanly."""
    device = tmp_path / "watchdog"
    device.write_bytes(b"")
    config = _with_watchdog(tmp_path, device)
    script = ("import os, time\n"
              "fd = int(os.environ['HACORE_ALIVE_FD'])\n"
              "end = time.monotonic() + 1.5\n"
              "while time.monotonic() < end:\n"
              "    os.write(fd, b'1'); time.sleep(0.1)\n"
              "time.sleep(3.5)\n")  # hung, then exits 0
    code, samples = _sizes_while(device, lambda: supervise(
        [sys.executable, "-c", script], config, "n1", str(tmp_path / "state")))
    assert code == 0
    assert _grew(samples, 0.5, 1.5)
    assert not _grew(samples, 3.6, 4.8)  # hang_timeout 1 s + one feed interval after 1.5 s
    assert device.read_bytes().endswith(b"V")


def test_failed_stops_after_a_daemon_death_leave_the_watchdog_armed(tmp_path):
    """The daemon dies and a stop of its resources fails: it is not restarted and the
    watchdog is closed without 'V', so the node resets."""
    device = tmp_path / "watchdog"
    device.write_bytes(b"")
    config = _with_watchdog(tmp_path, device)
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    (tokens / "web-a.running").write_text("")
    (tokens / "web-a.fail-stop").write_text("")
    LocalStore(str(tmp_path / "state")).save(LocalState(local={"web": ["web-a"]}))
    starts = tmp_path / "starts"
    script = (f"open({str(starts)!r}, 'a').write('x')\n"
              "import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n")
    code = supervise([sys.executable, "-c", script], config, "n1", str(tmp_path / "state"),
                     max_restarts=3, env={"HACORE_TOKEN_DIR": str(tokens)})
    assert code == 1
    assert starts.read_text() == "x", "restarted although its resources could not be stopped"
    assert not device.read_bytes().endswith(b"V")


@pytest.mark.slow
def test_daemon_out_of_quorum_still_holding_a_service_beats_unhealthy(tmp_path, executor):
    """n1, cut off alone, cannot stop web (its stop fails): it beats healthy during its
    self-stop budget, then unhealthy; n2 in the majority stays healthy."""
    config = token_config(tmp_path, services={"web": ["web-a"]}, stop_timeout=0.5,
                          first="n1")

    async def go():
        async with inproc_cluster(config, tmp_path, executor) as c:
            await wait_for(lambda: c.runs("web-a") == ["n1"])
            pipes = {n: os.pipe() for n in ("n1", "n2")}
            for name, (_, w) in pipes.items():
                c.daemons[name].local.alive = AliveSignal(w)
            (c.tokens("n1") / "web-a.fail-stop").write_text("")
            c.bus.partition(["n1"], ["n2", "n3"])
            cut = time.monotonic()
            got = {"n1": b"", "n2": b""}

            def read():
                for name, (r, _) in pipes.items():
                    os.set_blocking(r, False)
                    try:
                        got[name] += os.read(r, 65536)
                    except BlockingIOError:
                        pass
                return got["n1"].endswith(b"0")

            await wait_for(read, timeout=30, what="n1 unhealthy")
            took = time.monotonic() - cut
            assert took >= 0.5 + 5.0 - 0.3, f"unhealthy after {took:.1f} s, within its budget"
            assert b"1" in got["n1"]
            assert got["n2"] and set(got["n2"]) == {ord("1")}
            for r, w in pipes.values():
                os.close(r)
                os.close(w)

    asyncio.run(go())


def test_alive_signal_takes_its_pipe_from_the_environment(monkeypatch):
    """The daemon finds the supervisor's pipe in HACORE_ALIVE_FD; without it, beats do
    nothing."""
    r, w = os.pipe()
    try:
        monkeypatch.setenv("HACORE_ALIVE_FD", str(w))
        signal_ = AliveSignal.from_env()
        signal_.beat(True)
        signal_.beat(False)
        assert os.read(r, 16) == b"10"
        monkeypatch.delenv("HACORE_ALIVE_FD")
        AliveSignal.from_env().beat(True)  # no pipe: a no-op, no error
    finally:
        os.close(r)
        os.close(w)
