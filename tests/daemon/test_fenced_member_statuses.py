"""What a fenced incarnation said is forgotten: its statuses decide nothing, and the count
of its last op result does not mute its successor. Found by the fault campaign (seed
6030): n1's agent of job failed everywhere; a stray stop of job failed on n1, n1 was fenced
while still in the membership (the fence takes it out of the cluster state's members), and
when the membership then dropped it the coordinator forgot nothing of it (it forgets only
nodes still in the cluster state). n1's daemon restarted, its probe of job erred ("possibly
active"); the owner n5 was lost; the coordinator adopted job on n1 from the status the
fenced incarnation had sent, and then ignored every status of the new one, whose count
(seq 2) stayed below the last op result of the old one (seq 3) because nothing changed on
n1: job stayed "started" on n1, where nothing ran, and no decision was ever taken again."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from daemon_support import token_config

import hacore.fencing.methods as fence_methods
from hacore.config.model import ClusterConfig, FenceDeviceRef, FenceMethod
from hacore.daemon.coordinator import Coordinator
from hacore.membership.contract import LeaseState, Member, MembershipView, QuorumFigures
from hacore.policy import Action, Report, ServiceStatus

NOW = 1000.0


def fenceable(tmp_path: Path, services: dict[str, list[str]]) -> ClusterConfig:
    """Token services on three nodes, each with a fence method."""
    plain = token_config(tmp_path, services=services)
    method = FenceMethod("power", (FenceDeviceRef("pdu"),))
    return dataclasses.replace(plain, nodes=tuple(dataclasses.replace(n, fence=(method,))
                                                  for n in plain.nodes))


@pytest.fixture
def config(tmp_path: Path) -> ClusterConfig:
    return fenceable(tmp_path, {"job": ["job-a"]})


def view(epoch: int, members: dict[str, int]) -> MembershipView:
    """n1's view: ``members`` maps each member to its daemon's incarnation."""
    listed = tuple(Member(n, int(n[1:]), inc, NOW, 1, f"127.0.0.{n[1:]}")
                   for n, inc in members.items())
    return MembershipView(local="n1", epoch=epoch, members=listed, lost=(),
                          quorum=QuorumFigures(3, len(listed), 2, True), coordinator="n1",
                          lease=LeaseState(True, NOW + 9, "coordinator"), agreed=True)


def failed(epoch: int, seq: int) -> dict[str, Any]:
    """A status saying job's probe erred here (possibly active)."""
    return {"epoch": epoch, "seq": seq,
            "services": {"job": {"status": "failed", "resource": "job-a"}}}


class Harness:
    """Coordinator n1 with the real policy; ops are captured, fences confirmed at once."""

    def __init__(self, config: ClusterConfig, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.coord = Coordinator(config, "n1", 1, lambda *m: self.sent.append(m),
                                 clock=lambda: NOW)
        self.coord.wake = lambda: None  # type: ignore[method-assign]
        self.fenced: list[str] = []

        def fence_node(config: ClusterConfig, node: str, action: str, **_: Any) -> Any:
            self.fenced.append(node)
            return SimpleNamespace(confirmed=True, detail=f"{node} fenced", method="power",
                                   duration=0.0)

        monkeypatch.setattr(fence_methods, "fence_node", fence_node)

    async def cycle(self) -> None:
        """One decision round, then every fence it began runs to its end."""
        self.coord.cycle()
        while self.coord.fence_tasks:
            await asyncio.gather(*list(self.coord.fence_tasks), return_exceptions=True)
            await asyncio.sleep(0)

    def take_over(self, services: dict[str, ServiceStatus]) -> None:
        """n1 coordinates n1..n3 (daemons of incarnation 1), with ``services`` as the
        cluster state and an empty status heard from every member."""
        coord = self.coord
        coord.take_over(view(2, {"n1": 1, "n2": 1, "n3": 1}), 0, {}, not_before=NOW)
        coord.on_state_reply("n2", 0, {})
        assert coord.snap is not None
        coord.snap = dataclasses.replace(coord.snap, services=services)
        for node in ("n1", "n2", "n3"):
            coord.on_status(node, {"epoch": 2, "seq": 1, "services": {}})

    def ops(self, node: str) -> list[dict[str, Any]]:
        return [body for to, kind, body in self.sent if kind == "op" and to == node]


async def fence_n3_after_a_failed_stray_stop(h: Harness) -> None:
    """job runs on n2; n3's probe of it erred (reported as possibly active, seq 2): the stray
    copy's stop fails there (result seq 3), n3 is fenced while a member (its status with seq 3
    comes after), then leaves the membership."""
    coord = h.coord
    coord.take_over(view(2, {"n1": 1, "n2": 1, "n3": 1}), 0, {}, not_before=NOW)
    coord.on_state_reply("n2", 0, {})
    assert coord.snap is not None
    coord.snap = dataclasses.replace(coord.snap, services={
        "job": ServiceStatus(state="started", owner="n2", last_owner="n2")})
    coord.on_status("n2", {"epoch": 2, "seq": 1,
                           "services": {"job": {"status": "running", "resource": None}}})
    coord.on_status("n3", failed(2, 2))
    await h.cycle()
    [stop] = h.ops("n3")
    assert stop["kind"] == "stop"
    coord.on_result("n3", {"id": stop["id"], "ok": False, "seq": 3, "detail": "stop failed"})
    await h.cycle()
    assert h.fenced == ["n3"]
    coord.on_status("n3", failed(2, 3))  # sent before the fence, heard after it
    coord.on_view(view(3, {"n1": 1, "n2": 1}))


def test_a_fenced_member_that_leaves_is_forgotten(config: ClusterConfig,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Once n3 (fenced while a member) leaves the membership, nothing it said is kept."""
    h = Harness(config, monkeypatch)
    asyncio.run(fence_n3_after_a_failed_stray_stop(h))
    assert h.coord.status_of("n3") is None
    assert "n3" not in h.coord.statuses.min_seq


def test_the_restarted_daemon_of_a_fenced_member_is_heard(config: ClusterConfig,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """job's owner n2 is lost and n3 rejoins with a new daemon whose probe of job erred:
    nothing is adopted on n3 before that daemon speaks; once it does (seq 2, below the old
    daemon's last result), job is adopted there and its failure acted on (stopped or
    restarted there), never left 'started' untouched."""
    h = Harness(config, monkeypatch)

    async def run() -> None:
        await fence_n3_after_a_failed_stray_stop(h)
        coord = h.coord
        coord.on_view(view(4, {"n1": 1, "n3": 2}))  # n2 is lost, n3's new daemon joins
        await h.cycle()
        assert coord.snap is not None
        assert coord.snap.status("job").owner != "n3", "adopted from the fenced daemon's word"
        before = len(h.ops("n3"))
        coord.on_status("n3", failed(4, 2))
        assert coord.decision_snapshot().reports.get("job") == {"n3": Report("running")}
        for _ in range(4):
            await h.cycle()
        acted = [op for op in h.ops("n3")[before:] if op["service"] == "job"]
        assert acted and acted[0]["kind"] in ("stop", "restart"), h.sent

    asyncio.run(run())


def test_an_op_in_flight_on_a_fenced_member_holds_nothing_up(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """web was being started on n3 when n3 was fenced for another service's failed stop:
    the start will never be answered (n3 is off), so web is recovered elsewhere at once,
    not only once the membership notices n3's silence."""
    h = Harness(fenceable(tmp_path, {"job": ["job-a"], "web": ["web-a"]}), monkeypatch)

    async def run() -> None:
        coord = h.coord
        h.take_over({"job": ServiceStatus(state="recovering", owner="n3", last_owner="n3",
                                          stop_failed_on="n3"),
                     "web": ServiceStatus(state="stopped")})
        coord._dispatch(Action("start", "web", "n3", ("web-a",)), NOW)
        await h.cycle()  # fences n3 (job's stop failed there)
        assert h.fenced == ["n3"]
        for _ in range(3):
            await h.cycle()
        starts = [(to, body["service"]) for to, kind, body in h.sent
                  if kind == "op" and body["kind"] == "start" and to != "n3"]
        assert ("n1", "web") in starts or ("n2", "web") in starts, h.sent

    asyncio.run(run())


def test_a_fenced_member_still_in_the_view_is_not_fenced_again(config: ClusterConfig,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """n3, fenced while a member, stays in the next views (its silence is not noticed yet):
    those views do not make it a member again, so its leaving does not fence it a second
    time; its next daemon (a new incarnation) joins as usual."""
    h = Harness(config, monkeypatch)

    async def run() -> None:
        coord = h.coord
        h.take_over({"job": ServiceStatus(state="recovering", owner="n3", last_owner="n3",
                                          stop_failed_on="n3")})
        await h.cycle()
        assert h.fenced == ["n3"]
        coord.on_view(view(3, {"n1": 1, "n2": 1, "n3": 1}))  # n3's silence not noticed yet
        assert coord.snap is not None and "n3" not in coord.snap.members
        await h.cycle()
        coord.on_view(view(4, {"n1": 1, "n2": 1}))  # now it is
        for _ in range(3):
            await h.cycle()
        assert h.fenced == ["n3"], "fenced a second time"
        coord.on_view(view(5, {"n1": 1, "n2": 1, "n3": 2}))  # its next daemon
        assert "n3" in coord.snap.members

    asyncio.run(run())
