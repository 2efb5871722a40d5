"""A start after the previous holder was confirmed off tells its agents so (the ip agent
then probes for 25 ms instead of 0.2 s); after a self-stop deadline it does not."""

from __future__ import annotations

import asyncio

from hacore.agent.codes import OCF
from hacore.config.model import ClusterConfig, Node, Quorum, Timing
from hacore.daemon.coordinator import Coordinator
from hacore.daemon.runner import (
    PREVIOUS_HOLDER_FENCED,
    PREVIOUS_HOLDER_STOPPED,
    ServiceRunner,
    fenced_env,
)
from hacore.executor.operation import OperationResult
from hacore.policy import Action
from hacore.policy.snapshot import LostNode, ServiceStatus, Snapshot

CONFIG = ClusterConfig(name="c", config_version=1,
                       nodes=tuple(Node(f"n{i}", i, (f"10.0.0.{i}",)) for i in (1, 2, 3)),
                       quorum=Quorum(expected_votes=3), timing=Timing())


def sent_op(lost: LostNode, kind: str = "start") -> dict:
    sent: list[tuple[str, str, dict]] = []
    coord = Coordinator(CONFIG, "n2", 1, lambda *m: sent.append(m), clock=lambda: 100.0)
    coord.snap = Snapshot(members={"n2": 0, "n3": 0}, lost={"n1": lost},
                          services={"web": ServiceStatus(state="stopped", last_owner="n1")})
    coord._dispatch(Action(kind, "web", "n3"), 100.0)
    return next(body for _, what, body in sent if what == "op")


def test_start_after_a_confirmed_fence_names_the_fenced_holder():
    """web last ran on n1, fenced: the start op says so, and becomes the agents' variable."""
    body = sent_op(LostNode(fenced=True))
    assert body["fenced"] == "n1"
    assert fenced_env(body) == {PREVIOUS_HOLDER_FENCED: "n1"}


def test_no_hint_without_a_fence_or_for_other_kinds():
    """n1 only passed its self-stop deadline (presumed, not confirmed): no hint; nor for a
    stop."""
    assert "fenced" not in sent_op(LostNode(fenced=False, self_stop_deadline=50.0))
    assert "fenced" not in sent_op(LostNode(fenced=True), kind="stop")
    assert fenced_env({"fenced": None}) is None


def sent_move(prior: ServiceStatus, members: tuple[str, ...] = ("n1", "n2", "n3"),
              kind: str = "start") -> dict:
    sent: list[tuple[str, str, dict]] = []
    coord = Coordinator(CONFIG, "n2", 1, lambda *m: sent.append(m), clock=lambda: 100.0)
    coord.snap = Snapshot(members=dict.fromkeys(members, 0), services={"web": prior})
    coord._dispatch(Action(kind, "web", "n3"), 100.0)
    return next(body for _, what, body in sent if what == "op")


def test_start_after_a_clean_stop_on_a_member_names_the_stopped_holder():
    """A relocation: web's stop on n1 succeeded (recovering, no owner), so the start on n3
    says n1 stopped it, and the agents get the variable."""
    body = sent_move(ServiceStatus(state="recovering", last_owner="n1", intent="relocate"))
    assert body["stopped"] == "n1" and "fenced" not in body
    assert fenced_env(body) == {PREVIOUS_HOLDER_STOPPED: "n1"}


def test_no_stopped_hint_unless_the_stop_was_confirmed_on_a_member():
    """No hint when the stop failed (the owner stays set), when the previous holder is no
    longer a member, for a first start, or for a stop."""
    failed = ServiceStatus(state="recovering", owner="n1", last_owner="n1", stop_failed_on="n1")
    assert "stopped" not in sent_move(failed)
    clean = ServiceStatus(state="recovering", last_owner="n1", intent="relocate")
    assert "stopped" not in sent_move(clean, members=("n2", "n3"))
    assert "stopped" not in sent_move(ServiceStatus(state="stopped"))
    assert "stopped" not in sent_move(clean, kind="stop")


class RecordingExecutor:
    def __init__(self) -> None:
        self.requests = []

    async def run_async(self, request):
        self.requests.append(request)
        return OperationResult(request.action, OCF.SUCCESS)


def test_runner_adds_the_variable_to_each_start_only():
    """ServiceRunner.start(env=...) passes the variable to every start of the service, on
    top of the node's own environment, and leaves other operations without it."""
    import tempfile
    from pathlib import Path

    from daemon_support import token_config

    with tempfile.TemporaryDirectory() as tmp:
        config = token_config(Path(tmp), services={"web": ["web-a", "web-b"]})
    executor = RecordingExecutor()
    runner = ServiceRunner(config, "n3", executor, env={"HACORE_NODE": "n3"})  # type: ignore[arg-type]

    async def go():
        await runner.start("web", env={PREVIOUS_HOLDER_FENCED: "n1"})
        await runner.stop("web")

    asyncio.run(go())
    starts = [r for r in executor.requests if r.action == "start"]
    assert [r.instance for r in starts] == ["web-a", "web-b"]
    assert all(r.env == {"HACORE_NODE": "n3", PREVIOUS_HOLDER_FENCED: "n1"} for r in starts)
    assert all(PREVIOUS_HOLDER_FENCED not in r.env for r in executor.requests
               if r.action != "start")
    assert runner.env == {"HACORE_NODE": "n3"}
