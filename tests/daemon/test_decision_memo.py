"""The coordinator skips a round only when its answer is provably the last one (issue 9):
an admin intent, a status, a result or a membership change makes the very next round
decide, and a time-dependent rule (a lost node's self-stop deadline) fires at its time
with no other input. In-process: a Coordinator with a fake clock and wire."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from daemon_support import token_config

import hacore.daemon.coordinator as coordinator_module
from hacore.config import load_config
from hacore.config.model import ClusterConfig
from hacore.daemon.coordinator import Coordinator
from hacore.membership.contract import (
    LeaseState,
    LostNode,
    Member,
    MembershipView,
    QuorumFigures,
)
from hacore.policy import AdminRequest

NOW = 1000.0
NODES = ("n1", "n2", "n3")


def view(members: tuple[str, ...], epoch: int = 2, heard: float = NOW) -> MembershipView:
    lost = tuple(LostNode(n, int(n[1:]), 1, heard, 1) for n in NODES if n not in members)
    return MembershipView(
        local="n1", epoch=epoch,
        members=tuple(Member(n, int(n[1:]), 1, NOW, 1, f"127.0.0.{n[1:]}") for n in members),
        lost=lost, quorum=QuorumFigures(3, len(members), 2, len(members) >= 2),
        coordinator="n1", lease=LeaseState(True, NOW + 1e6, "coordinator"), agreed=True)


class Bed:
    """A coordinator and three members that run what they are told and report it."""

    def __init__(self, config: ClusterConfig, monkeypatch: pytest.MonkeyPatch,
                 not_before: float = NOW, reporting: tuple[str, ...] = NODES) -> None:
        self.now = NOW
        self.ops: list[tuple[str, dict[str, Any]]] = []
        self.running: dict[str, set[str]] = {n: set() for n in NODES}
        self.seq: dict[str, int] = dict.fromkeys(NODES, 0)
        self.decided = 0
        real = coordinator_module.decide

        def counting(*args: Any) -> Any:
            self.decided += 1
            return real(*args)

        monkeypatch.setattr(coordinator_module, "decide", counting)
        self.coord = Coordinator(config, "n1", 1, self.send, clock=lambda: self.now)
        self.coord.wake = lambda: None  # type: ignore[method-assign]
        self.coord.take_over(view(NODES), 0, {}, not_before=not_before)
        self.coord.on_state_reply("n2", 0, {})
        for node in reporting:
            self.report(node)

    def send(self, node: str, kind: str, body: dict[str, Any]) -> None:
        if kind == "state":
            self.coord.on_ack(node, int(body["version"]))  # every member stores it at once
        elif kind == "op":
            self.ops.append((node, body))

    def report(self, node: str, failed: str | None = None) -> None:
        self.seq[node] += 1
        services = {s: {"status": "running", "resource": None} for s in self.running[node]}
        if failed is not None:
            services[failed] = {"status": "failed", "resource": None}
        self.coord.on_status(node, {"epoch": 2, "seq": self.seq[node], "services": services})

    def report_all(self) -> None:
        for node in self.coord.view.member_names():  # type: ignore[union-attr]
            self.report(node)

    def answer(self, ok: bool = True) -> None:
        """Every op sent so far succeeds (or fails) on its node, which then reports."""
        ops, self.ops = self.ops, []
        for node, body in ops:
            if ok and body["kind"] in ("start", "restart"):
                self.running[node].add(body["service"])
            elif ok and body["kind"] == "stop":
                self.running[node].discard(body["service"])
            self.result(node, body, ok)
            self.report(node)

    def result(self, node: str, body: dict[str, Any], ok: bool = True) -> None:
        self.seq[node] += 1  # after the node's last status: that one is now stale
        self.coord.on_result(node, {"id": body["id"], "ok": ok, "seq": self.seq[node]})

    def settle(self) -> None:
        """Rounds until nothing is left to do; then one more round has nothing to decide."""
        for _ in range(20):
            self.tick()
            if not self.ops:
                break
            self.answer()
        assert not self.ops
        self.tick()
        before = self.decided
        self.tick()
        assert self.decided == before, "an unchanged round decided again"

    def tick(self, seconds: float = 0.2) -> list[Any]:
        self.now += seconds
        return self.coord.cycle()

    def owner(self, service: str) -> str:
        st = self.coord.snap.status(service)  # type: ignore[union-attr]
        assert st.state == "started" and st.owner is not None, st
        return st.owner


@pytest.fixture
def bed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bed:
    config = token_config(tmp_path, services={"a": ["a-r"], "b": ["b-r"], "c": ["c-r"]})
    bed = Bed(config, monkeypatch)
    bed.settle()
    return bed


def test_unchanged_rounds_skip_decide_though_statuses_keep_coming(bed: Bed) -> None:
    """Members resend the same status every second: rounds skip decide all the while."""
    before, skipped = bed.decided, bed.coord.memo.skipped
    for _ in range(10):
        bed.report_all()
        bed.tick()
        bed.tick()
    assert bed.decided == before
    assert bed.coord.memo.skipped == skipped + 20


def test_an_admin_intent_is_decided_in_the_very_next_round(bed: Bed) -> None:
    """hacore service disable: the next round stops the service."""
    owner = bed.owner("a")
    asyncio.run(bed.coord.admin(AdminRequest("disable", "a")))
    acted = bed.tick()
    assert [(x.kind, x.service, x.node) for x in acted] == [("stop", "a", owner)]


def test_a_status_report_is_decided_in_the_very_next_round(bed: Bed) -> None:
    """A failed monitor in the owner's status: the next round restarts the service."""
    owner = bed.owner("b")
    bed.report(owner, failed="b")
    acted = bed.tick()
    assert [(x.kind, x.service, x.node) for x in acted] == [("restart", "b", owner)]


def test_a_result_is_decided_in_the_very_next_round(bed: Bed) -> None:
    """A relocation: while its stop runs the rounds skip; its result makes the next round
    start the service on the target."""
    owner = bed.owner("c")
    target = next(n for n in NODES if n != owner)
    asyncio.run(bed.coord.admin(AdminRequest("relocate", "c", target)))
    assert [(x.kind, x.node) for x in bed.tick()] == [("stop", owner)]
    bed.tick()
    skipped = bed.coord.memo.skipped
    bed.tick()
    assert bed.coord.memo.skipped == skipped + 1  # the stop is in flight: nothing changed
    node, body = bed.ops.pop()
    bed.running[node].discard("c")
    bed.result(node, body)
    acted = bed.tick()
    assert [(x.kind, x.service, x.node) for x in acted] == [("start", "c", target)]


def test_a_membership_change_is_decided_in_the_very_next_round_and_the_deadline_on_time(
        bed: Bed) -> None:
    """A member owning a service leaves: the next round decides (nothing yet: no fence
    method, so it waits for the self-stop deadline, S3); the rounds after skip; the round
    at the deadline, with no other input, starts the service elsewhere."""
    lost = bed.owner("a")
    bed.coord.on_view(view(tuple(n for n in NODES if n != lost), epoch=3, heard=bed.now))
    before = bed.decided
    assert bed.tick() == []
    assert bed.decided == before + 1
    deadline = bed.coord.snap.lost[lost].self_stop_deadline  # type: ignore[union-attr]
    assert deadline is not None and deadline > bed.now + 1.0
    skipped = bed.coord.memo.skipped
    while bed.now + 0.2 < deadline:
        assert bed.tick() == []
    assert bed.coord.memo.skipped > skipped
    bed.now = deadline - 0.2
    acted = bed.tick()
    assert [(x.kind, x.service) for x in acted] == [("start", "a")]
    assert acted[0].node != lost


def test_the_start_up_wait_still_ends_on_time(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """post_join_delay (ready): while n3 has not reported, no round decides before the
    wait ends; the first round after it places the services."""
    config = token_config(tmp_path, services={"a": ["a-r"]})
    bed = Bed(config, monkeypatch, not_before=NOW + 1.0, reporting=("n1", "n2"))
    assert bed.tick() == [] and bed.tick() == []
    bed.now = NOW + 1.0 - 0.2
    assert [x.kind for x in bed.tick()] == ["start"]


def test_a_fence_the_coordinator_holds_back_is_tried_again_each_round(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fence action not carried out yet (the coordinator's own timing: settle, two-node
    delay, retry after a failure) is never a reason to skip: the round its time comes,
    with no other input, runs it."""
    token_config(tmp_path, services={"a": ["a-r"]})
    path = tmp_path / "cluster.toml"
    path.write_text(re.sub(
        r'(addresses = \["127\.0\.0\.(\d)"\])',
        r'\1\nfence = [{ method = "power", devices = [{ device = "d", plug = "n\2" }] }]',
        path.read_text()) + '\n[fence_devices.d]\nagent = "fence_never_run"\n')
    bed = Bed(load_config(str(path)), monkeypatch)
    bed.settle()
    due = bed.now + 3.0
    tried: list[float] = []

    def fence(action: Any, now: float) -> bool:  # stands for Fencer._fence's timing rules
        tried.append(now)
        return now >= due

    monkeypatch.setattr(bed.coord, "_fence", fence)
    bed.coord.on_view(view(("n1", "n2"), epoch=3, heard=bed.now))
    while bed.now + 0.2 < due:
        assert bed.tick() == []
    acted = bed.tick()
    assert [(x.kind, x.node) for x in acted] == [("fence", "n3")]
    assert len(tried) >= 14
