"""ServiceRunner: start/stop order, cleanup after a failed start, monitors, probes, the lease."""

from __future__ import annotations

import asyncio

from daemon_support import token_config, token_env

from hacore.daemon.runner import ServiceRunner


def _runner(tmp_path, executor, **kw):
    config = token_config(tmp_path)
    env = token_env(tmp_path / "tokens", "n1")
    return ServiceRunner(config, "n1", executor, env=env, **kw), tmp_path / "tokens"


def test_start_then_stop_follow_the_service_order(tmp_path, executor):
    """Resources start in start_order and stop in stop_order."""
    runner, tokens = _runner(tmp_path, executor)

    async def go():
        started = await runner.start("web")
        assert (tokens / "web-a.running").exists() and (tokens / "web-b.running").exists()
        stopped = await runner.stop("web")
        return started, stopped

    started, stopped = asyncio.run(go())
    assert started.ok and [s[0] for s in started.steps] == ["web-a", "web-b"]
    assert stopped.ok and [s[0] for s in stopped.steps] == ["web-b", "web-a"]
    assert not (tokens / "web-a.running").exists()


def test_failed_start_is_followed_by_a_stop_there(tmp_path, executor):
    """When web-b fails to start, web-a (already started) is stopped again."""
    runner, tokens = _runner(tmp_path, executor)
    (tokens / "web-b.fail-start").write_text("")
    out = asyncio.run(runner.start("web"))
    assert not out.ok and out.resource == "web-b" and "told to fail" in out.detail
    assert [(s[0], s[1]) for s in out.steps] == [
        ("web-a", "start"), ("web-b", "start"), ("web-b", "stop"), ("web-a", "stop")]
    assert not (tokens / "web-a.running").exists()


def test_failed_stop_is_reported(tmp_path, executor):
    """A stop that fails is a failed outcome naming the resource (S4), not hidden."""
    runner, tokens = _runner(tmp_path, executor)

    async def go():
        assert (await runner.start("web")).ok
        (tokens / "web-b.fail-stop").write_text("")
        return await runner.stop("web")

    out = asyncio.run(go())
    assert not out.ok and out.resource == "web-b" and "stop of web-b failed" in out.detail
    assert (tokens / "web-a.running").exists(), "nothing after the failed stop is stopped"


def test_no_lease_no_start(tmp_path, executor):
    """Without a fresh lease the runner starts nothing and says why."""
    runner, tokens = _runner(tmp_path, executor, may_start=lambda: False)
    out = asyncio.run(runner.start("web"))
    assert not out.ok and "fresh lease" in out.detail
    assert not (tokens / "web-a.running").exists()


def test_a_lease_lapsed_for_a_moment_delays_the_start(tmp_path, executor):
    """A lease renewed within lease_wait: the start waits for it, then runs; nothing starts
    while the lease is not fresh."""
    looks: list[bool] = []

    def may_start() -> bool:
        looks.append((tokens / "web-a.running").exists())
        return len(looks) > 5  # renewed at the sixth look

    runner, tokens = _runner(tmp_path, executor, may_start=may_start, lease_wait=5.0)
    out = asyncio.run(runner.start("web"))
    assert out.ok, out.detail
    assert looks[:5] == [False] * 5, "a resource started before the lease was renewed"
    assert (tokens / "web-b.running").exists()


def test_a_lease_not_renewed_within_lease_wait_fails_the_start(tmp_path, executor):
    """A lease still lapsed after lease_wait fails the start as before, and says why."""
    runner, tokens = _runner(tmp_path, executor, may_start=lambda: False, lease_wait=0.05)
    out = asyncio.run(runner.start("web"))
    assert not out.ok and "fresh lease" in out.detail
    assert not (tokens / "web-a.running").exists()


def test_monitor_failure_is_reported_once(tmp_path, executor):
    """A resource that stops by itself is reported by its recurring monitor."""
    failures: list[tuple[str, str, str]] = []
    runner, tokens = _runner(
        tmp_path, executor, on_failure=lambda s, r, res: failures.append((s, r, res.code.label)))

    async def go():
        assert (await runner.start("web")).ok
        runner.monitor("web")
        (tokens / "web-b.running").unlink()
        for _ in range(100):
            if failures:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # monitors of the failed service are stopped: no repeats
        runner.close()

    asyncio.run(go())
    assert failures == [("web", "web-b", "not-running")]


def test_probe_finds_what_runs(tmp_path, executor):
    """A probe says running when any resource of the service is active, stopped otherwise."""
    runner, tokens = _runner(tmp_path, executor)
    assert asyncio.run(runner.probe("web")).status == "stopped"
    (tokens / "web-b.running").write_text("n1")
    found = asyncio.run(runner.probe("web"))
    assert found.status == "running" and found.resource == "web-b"
