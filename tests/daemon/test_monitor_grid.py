"""Recurring monitors come due on a grid, so that the monitors of many resources reach the
executor in one request (one batch); a monitor that succeeds changes nothing here (no
state write, no message, no journal record), and one that fails is still acted on."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

from daemon_support import token_config, token_env

from hacore.daemon.events import EventLog
from hacore.daemon.local import LocalNode
from hacore.daemon.runner import ServiceRunner, monitor_grid, next_due
from hacore.daemon.store import LocalStore
from hacore.executor import forkserver


def test_next_due_is_never_late_and_at_most_a_tenth_early():
    """The next due time lies in [after + 0.9 interval, after + interval], on the grid."""
    for interval in (0.3, 1.0, 10.0, 60.0, 3600.0):
        step = monitor_grid(interval)
        assert step == min(interval / 10, 1.0)
        for after in (0.0, 0.05, 12.34, 5000.3, 86399.99):
            due = next_due(after, interval)
            assert after + interval - step - 1e-6 <= due <= after + interval + 1e-9
            assert abs(due / step - round(due / step)) < 1e-6


def test_due_times_stay_in_step_and_merge_within_a_grid_step():
    """Monitors started at different moments within one grid step come due together, and
    keep coming due together, one interval apart, for ever (no drift)."""
    first, second = next_due(100.02, 10.0), next_due(100.97, 10.0)
    assert first == second == 110.0
    due = first
    for _ in range(1000):
        following = next_due(due, 10.0)
        assert math.isclose(following - due, 10.0)
        due = following
    assert math.isclose(due, 10110.0)


def test_monitors_due_together_reach_the_executor_in_one_message(tmp_path, executor,
                                                                 monkeypatch):
    """Two services monitored at the same moment: on every cycle their four monitors go to
    the executor's helper in one message (a batch), not one message each."""
    sent: list[int] = []
    original = forkserver._LoopChannel._send

    def spy(channel):
        sent.append(len(channel.outbox))
        original(channel)

    monkeypatch.setattr(forkserver._LoopChannel, "_send", spy)
    config = token_config(tmp_path, services={"web": ["web-a", "web-b"],
                                              "db": ["db-a", "db-b"]}, monitor_interval=0.5)
    runner = ServiceRunner(config, "n1", executor, env=token_env(tmp_path / "tokens", "n1"))

    async def go():
        assert (await runner.start("web")).ok and (await runner.start("db")).ok
        sent.clear()
        runner.monitor("web")
        runner.monitor("db")
        await asyncio.sleep(2.2)  # four cycles at most (0.45 to 0.5 s each)
        runner.close()

    asyncio.run(go())
    assert len(sent) >= 3, sent
    assert set(sent) == {4}, f"monitor requests per message: {sent}"


def _local(tmp_path, executor, sent, saves):
    config = token_config(tmp_path, services={"web": ["web-a", "web-b"]}, monitor_interval=0.2)
    store = LocalStore(str(tmp_path / "state"))
    original = store.save

    def save(state):
        saves.append(1)
        original(state)

    store.save = save  # type: ignore[method-assign]
    view = SimpleNamespace(coordinator="n2", epoch=1, quorate=True)
    runner = ServiceRunner(config, "n1", executor, env=token_env(tmp_path / "tokens", "n1"))
    events = EventLog(str(tmp_path / "journal"), "n1")
    node = LocalNode(config, "n1", runner, store, store.load(),
                     lambda *msg: sent.append(msg), lambda: view, events)
    return node, runner, tmp_path / "tokens"


def _journal(tmp_path) -> str:
    return "".join(p.read_text() for p in (tmp_path / "journal").rglob("*") if p.is_file()) \
        if (tmp_path / "journal").exists() else ""


def test_monitors_that_succeed_write_nothing_and_send_nothing(tmp_path, executor):
    """Ten cycles of successful monitors: no state write, no message, no journal record;
    then a failure is reported to the coordinator at once and the service marked failed."""
    sent: list[tuple] = []
    saves: list[int] = []
    node, runner, tokens = _local(tmp_path, executor, sent, saves)

    async def go():
        assert (await runner.start("web")).ok
        node.active["web"] = ["web-a", "web-b"]
        runner.monitor("web")
        journal, before_saves, before_sent = _journal(tmp_path), len(saves), len(sent)
        await asyncio.sleep(2.0)  # about ten cycles of both monitors
        assert (len(saves), len(sent), _journal(tmp_path)) == (before_saves, before_sent,
                                                               journal)
        (tokens / "web-b.running").unlink()
        for _ in range(200):
            if sent:
                break
            await asyncio.sleep(0.05)
        runner.close()

    asyncio.run(go())
    assert node.failed == {"web": "web-b"}
    assert sent and sent[-1][1] == "status"
    assert sent[-1][2]["services"]["web"] == {"status": "failed", "resource": "web-b"}


def test_idle_probes_go_together_and_still_find_a_copy(tmp_path, executor, monkeypatch):
    """probe_idle probes every service this node does not run at once (one message to the
    helper for their first resources), and a copy found running is still adopted as
    active and reported to the coordinator."""
    sent_sizes: list[int] = []
    original = forkserver._LoopChannel._send

    def spy(channel):
        sent_sizes.append(len(channel.outbox))
        original(channel)

    monkeypatch.setattr(forkserver._LoopChannel, "_send", spy)
    config = token_config(tmp_path, services={f"s{i}": [f"s{i}-a"] for i in range(6)})
    store = LocalStore(str(tmp_path / "state"))
    view = SimpleNamespace(coordinator="n2", epoch=1, quorate=True)
    messages: list[tuple] = []
    tokens = tmp_path / "tokens"
    runner = ServiceRunner(config, "n1", executor, env=token_env(tokens, "n1"))
    node = LocalNode(config, "n1", runner, store, store.load(),
                     lambda *msg: messages.append(msg), lambda: view)

    async def go():
        assert (await runner.start("s4")).ok  # a copy started outside the cluster
        sent_sizes.clear()
        await node.probe_idle()
        runner.close()

    asyncio.run(go())
    assert sent_sizes[0] == 6, sent_sizes
    assert list(node.active) == ["s4"]
    assert messages and messages[-1][2]["services"] == {"s4": {"status": "running",
                                                               "resource": None}}
