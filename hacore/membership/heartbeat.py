"""The built-in membership provider: authenticated UDP heartbeats on every link, leases.

Usage (inside the daemon's event loop)::

    provider = HeartbeatMembership(config, "node1", load_key("/etc/hacore/cluster.key"))
    await provider.start()
    provider.on_event(lambda event: ...)
    if provider.holds_fresh_lease(): ...start something...
    await provider.stop()
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

from hacore.config.model import ClusterConfig
from hacore.membership import wire
from hacore.membership.agreement import UNSET, ProtocolState
from hacore.membership.contract import (
    MembershipEvent,
    MembershipProvider,
    MembershipView,
    Message,
)
from hacore.membership.events import view_events
from hacore.membership.snapshot import build_view
from hacore.membership.timing import MembershipTiming
from hacore.membership.transport import (
    DEFAULT_PORT,
    LinkSocket,
    PacketFilter,
    RateLimitedLog,
    open_link,
    resolve,
)
from hacore.periodic import call_every

log = logging.getLogger("hacore.membership")


#: seconds after a peer's silence runs out at which the provider looks (so it has run out)
LOSS_CHECK_SLACK = 0.001
#: ticks in a row with nothing to react to before packets are read at ticks only
QUIET_TICKS = 3


def boot_clock() -> float:
    """CLOCK_BOOTTIME: monotonic, and it keeps counting while the machine is suspended."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class HeartbeatMembership(MembershipProvider):
    """One node of the built-in protocol. ``port`` is the UDP port on every address;
    ``packet_filter`` (tests) drops packets at the sender; ``write_version`` is the wire
    version this node prefers to write and ``speaks`` the range it reads (a release writing
    N reads N..N+1; one writing N+1 still writes N to peers that read no further)."""

    def __init__(self, config: ClusterConfig, local: str, key: bytes, *,
                 port: int = DEFAULT_PORT, packet_filter: PacketFilter | None = None,
                 write_version: int = wire.WIRE_VERSION,
                 speaks: tuple[int, int] = (wire.MIN_WIRE_VERSION, wire.MAX_WIRE_VERSION),
                 clock: Callable[[], float] = boot_clock) -> None:
        self.config = config
        self.timing = MembershipTiming.from_config(config.timing)
        self.port = port
        self.filter = packet_filter
        self.write_version = write_version
        self.speaks = speaks
        self.clock = clock
        self.key = wire.mac_key(key, config.name)
        self.tag = wire.cluster_tag(config.name)
        self.incarnation = time.time_ns()
        self.state = ProtocolState(config, local, self.timing, self.incarnation, clock())
        self.me = self.state.me
        self.started_wall = time.time()
        self.drops = RateLimitedLog(clock=clock)
        self.dropped: dict[str, int] = {}
        self.links: list[LinkSocket] = []
        self.peer_addrs: dict[int, list[tuple]] = {}
        self.event_callbacks: list[Callable[[MembershipEvent], None]] = []
        self.message_callbacks: list[Callable[[Message], None]] = []
        self.task: asyncio.Future[None] | None = None  # the ticks, while started
        self.current: MembershipView | None = None
        self.last_tick = 0.0
        self.loss_check: asyncio.TimerHandle | None = None
        self.quiet_ticks = 0

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        for link, address in enumerate(self.me.addresses):
            self.links.append(await open_link(link, address, self.port, self._received))
        for node in self.config.nodes:
            if node.id != self.me.id:
                self.peer_addrs[node.id] = [await resolve(a, self.port) for a in node.addresses]
        self.last_tick = self.clock()
        self.current = build_view(self.state, self.last_tick, time.time(), self.started_wall)
        self.task = call_every(self.timing.interval, self._tick, f"{self.me.name}'s membership step")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            self.task = None
        if self.loss_check is not None:
            self.loss_check.cancel()
            self.loss_check = None
        for link in self.links:
            link.close()
        self.links = []

    def replace_nodes(self, config: ClusterConfig) -> None:
        """Follow a configuration whose nodes changed (``hacore cluster join/remove``):
        new peers are heartbeated from now on, removed ones forgotten, and the expected
        votes become the new configuration's (a coordinator publishes them in a new
        epoch). The local node must still be in ``config``; its addresses cannot change."""
        from hacore.membership.agreement import AgreedView
        from hacore.membership.peers import PeerState

        if config.node(self.me.name) is None:
            raise ValueError(f"{self.me.name} is not a node of the new configuration")
        state = self.state
        wanted = {n.id: n for n in config.nodes if n.id != self.me.id}
        for gone in [i for i in state.peers if i not in wanted]:
            del state.peers[gone]
            self.peer_addrs.pop(gone, None)
        for node_id, node in wanted.items():
            if node_id not in state.peers or state.peers[node_id].node != node:
                state.peers[node_id] = PeerState(node)
                if self.task is not None:  # started: resolve now (configured IPs: instant)
                    self.peer_addrs[node_id] = [
                        socket.getaddrinfo(a, self.port, type=socket.SOCK_DGRAM)[0][4]
                        for a in node.addresses]
        state.by_id = {n.id: n for n in config.nodes}
        state.config = config
        self.config = config
        state.expected = config.quorum.expected_votes
        view = state.view
        if view is not None and view.coordinator == self.me.id:
            state.epoch += 1
            members = tuple(m for m in view.members if m[0] in state.by_id)
            state.view = AgreedView(state.epoch, self.me.id, members, state.expected)
            state.stable_since = self.clock()
            if hasattr(state, "view_made_at"):
                state.view_made_at = self.clock()
        self._stir()
        log.info("%s follows the new node list (%s); expected votes %d", self.me.name,
                 ", ".join(n.name for n in config.nodes), state.expected)

    # -- the contract ---------------------------------------------------------------
    def view(self) -> MembershipView:
        if self.current is None:
            self.current = build_view(self.state, self.clock(), time.time(), self.started_wall)
        elif self.task is not None:
            self._catch_up()
        return self.current

    def _catch_up(self) -> None:
        """Asked for the view right after a stall, before the loop ran: step now, so that
        the stall is noticed (and quorum dropped) before anyone reads a stale view."""
        now = self.clock()
        if now - self.last_tick > self.timing.interval + self.timing.stall:
            self._step(now)

    def now(self) -> float:
        return self.clock()

    def holds_fresh_lease(self) -> bool:
        return self.state.holds_lease(self.clock())

    def lease_expires(self) -> float:
        return max(self.state.lease_expires(self.clock()), 0.0)

    def send(self, node: str, payload: bytes) -> None:
        target = self.config.node(node)
        if target is None or target.id == self.me.id:
            raise ValueError(f"{node!r} is not a peer of {self.me.name}")
        peer = self.state.peers[target.id]
        links = [i for i in range(len(self.links)) if i < len(self.peer_addrs[target.id])]
        up = [i for i in links if i not in peer.links_down] or links
        if not up:
            return
        now = self.clock()
        packet = wire.Packet(self._version_for(target.id), wire.KIND_MESSAGE, self.me.id,
                             target.id, self.incarnation, self.state.next_seq(now), payload)
        self._send(target.name, up[0], target.id, wire.encode(packet, self.key, self.tag))

    def on_event(self, callback: Callable[[MembershipEvent], None]) -> Callable[[], None]:
        self.event_callbacks.append(callback)
        return lambda: self.event_callbacks.remove(callback)

    def on_message(self, callback: Callable[[Message], None]) -> Callable[[], None]:
        self.message_callbacks.append(callback)
        return lambda: self.message_callbacks.remove(callback)

    # -- the loop ---------------------------------------------------------------------
    def _tick(self) -> None:
        self._step(self.clock())

    def _step(self, now: float) -> None:
        for link in self.links:
            link.drain()  # while quiet, what came since the last tick is read now
        gap = now - self.last_tick
        self.last_tick = now
        stalled = gap > self.timing.interval + self.timing.stall
        if stalled:
            log.warning("%s: this node's loop stalled for %.2f s; treating itself as out "
                        "of quorum and giving peers a fresh %.2f s before declaring any lost",
                        self.me.name, gap, self.timing.silence)
            self.state.stalled(now)
        self.state.tick(now, time.time())
        late = []
        claim = self.state.view_claim(now)  # the same for every peer this tick
        for peer_id, addrs in self.peer_addrs.items():
            ask = self.state.peers[peer_id].acks_late(now, self.timing.hurry)
            for link in range(min(len(self.links), len(addrs))):
                self._send_heartbeat(peer_id, link, now, ask, claim)
            if ask:
                late.append(peer_id)
        if late:
            asyncio.get_running_loop().call_later(self.timing.interval / 2, self._hurry, late)
        changed = self._publish(now, stalled, gap)
        self._arm_loss_check(now)
        self._pace_reading(quiet=not (stalled or late or changed))

    def _pace_reading(self, quiet: bool) -> None:
        """Read packets as they arrive while anything is happening; after QUIET_TICKS
        quiet ticks of a quorate, agreed view, read them at each tick only (one wake-up per
        interval instead of one per packet). Safe: freshness and leases count from our own
        send times, so a packet read later only makes us learn later, never believe longer;
        a silence deadline drains before it judges (the loss check runs a step); and a peer
        going late makes the next tick not quiet, so reading follows packets again before
        anyone could be declared lost."""
        view = self.current
        if quiet and view is not None and view.quorate and view.agreed is not False:
            self.quiet_ticks += 1
        else:
            self.quiet_ticks = 0
        if self.quiet_ticks >= QUIET_TICKS:
            for link in self.links:
                link.pause()
        elif self.quiet_ticks == 0:
            self._stir()

    def _stir(self) -> None:
        """Something to react to: read packets as they arrive from now on."""
        self.quiet_ticks = 0
        for link in self.links:
            if not link.reading:
                link.resume()

    def _arm_loss_check(self, now: float) -> None:
        """Look again the moment a peer's silence runs out, when that comes before the next
        tick (only while a peer is going silent: a healthy peer refreshes long before)."""
        if self.loss_check is not None:
            self.loss_check.cancel()
            self.loss_check = None
        due = self.state.next_loss() + LOSS_CHECK_SLACK
        if due < now + self.timing.interval:
            self.loss_check = asyncio.get_running_loop().call_later(max(0.0, due - now),
                                                                    self._loss_check)

    def _loss_check(self) -> None:
        self.loss_check = None
        if self.task is None:
            return
        try:
            self._step(self.clock())  # an extra step: the rules and the stall check as ever
        except Exception:  # the membership loop must survive its own bugs
            log.exception("membership step failed; continuing")

    def _hurry(self, peer_ids: list[int]) -> None:
        """The extra heartbeat to peers whose acknowledgements are late (see timing)."""
        if self.task is None:
            return
        now = self.clock()
        for peer_id in peer_ids:
            if peer_id in self.peer_addrs:
                for link in range(min(len(self.links), len(self.peer_addrs[peer_id]))):
                    self._send_heartbeat(peer_id, link, now, True)

    def _publish(self, now: float, stalled: bool, gap: float) -> bool:
        """Build the view; emit what changed; whether anything did."""
        old = self.current
        new = build_view(self.state, now, time.time(), self.started_wall)
        self.current = new
        events = view_events(old, new)
        if stalled:
            events.insert(0, MembershipEvent("stall", new, self.me.name,
                                             f"loop stalled for {gap:.2f} s"))
        for event in events:
            self._emit(event)
        return bool(events)

    def _emit(self, event: MembershipEvent) -> None:
        for callback in list(self.event_callbacks):
            try:
                callback(event)
            except Exception:
                log.exception("membership event callback failed")

    def _version_for(self, peer_id: int) -> int:
        hb = self.state.peers[peer_id].hb
        if hb is None:
            return self.write_version
        return max(hb.speaks[0], min(self.write_version, hb.speaks[1]))

    def _send_heartbeat(self, peer_id: int, link: int, now: float,
                        ask_ack: bool = False, claim: object = UNSET) -> None:
        hb = self.state.heartbeat_for(peer_id, now, self.speaks, claim)
        packet = wire.Packet(self._version_for(peer_id), wire.KIND_HEARTBEAT, self.me.id,
                             peer_id, self.incarnation, self.state.next_seq(now),
                             wire.heartbeat_body(hb),
                             wire.FLAG_ACK_REQUEST if ask_ack else 0)
        name = self.state.by_id[peer_id].name
        self._send(name, link, peer_id, wire.encode(packet, self.key, self.tag),
                   confirm=self._answered_on(peer_id, link, now))

    def _answered_on(self, peer_id: int, link: int, now: float) -> bool:
        """The peer acknowledges our heartbeats and was heard on ``link`` within ``hurry``:
        the path works both ways, so the kernel need not re-probe the peer's neighbour
        entry. Without this, an entry going stale every half minute is re-probed by ARP,
        and under heavy loss (probes and replies lost too) the kernel could drop the
        entry and hold our heartbeats for a second or more while it resolves it again:
        a peer lost for nothing (test_20_percent_loss_does_not_flap, 1 run in 10)."""
        peer = self.state.peers[peer_id]
        hurry = self.timing.hurry
        return (not peer.acks_late(now, hurry)
                and now - peer.link_heard.get(link, float("-inf")) <= hurry)

    def _send(self, name: str, link: int, peer_id: int, data: bytes,
              confirm: bool = False) -> None:
        if self.filter is not None and self.filter.drops(self.me.name, name, link):
            return
        self.links[link].sendto(data, self.peer_addrs[peer_id][link], confirm)

    # -- receiving --------------------------------------------------------------------
    def _drop(self, reason: str, detail: str, addr: tuple) -> None:
        self._stir()  # odd traffic: read it as it comes, so it cannot crowd out heartbeats
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        self.drops.warning(f"{reason}:{addr[0]}", f"{self.me.name}: dropped a packet from "
                           f"{addr[0]}:{addr[1]}: {detail}")

    def _received(self, link: int, data: bytes, addr: tuple) -> None:
        try:
            packet = wire.decode(data, self.key, self.tag, self.speaks)
        except wire.UnsupportedVersion as exc:
            self._refused(exc, addr)
            return
        except wire.DecodeError as exc:
            self._drop(exc.reason, str(exc), addr)
            return
        if packet.dest != self.me.id:
            self._drop("misdirected", f"addressed to node id {packet.dest}", addr)
            return
        now = self.clock()
        reason = self.state.accept_packet(packet.sender, packet.incarnation, packet.seq, now)
        if reason is not None:
            self._drop(reason.split()[0], f"node id {packet.sender}: {reason}", addr)
            return
        if packet.kind == wire.KIND_HEARTBEAT:
            try:
                hb = wire.parse_heartbeat(packet.body)
            except wire.DecodeError as exc:
                self._drop(exc.reason, f"node id {packet.sender}: {exc}", addr)
                return
            self.state.heard(packet.sender, link, addr[0], now, time.time())
            before = self.state.view
            self.state.heartbeat_from(packet.sender, hb, now)
            if self.state.view != before:  # adopted a new view: publish it now
                self._stir()
                self._publish(now, False, 0.0)
                # and confirm it to its coordinator now rather than at the next tick: the
                # coordinator's view is agreed (its fences may go) once every member did
                self._answer(packet.sender, link, now)
            elif self._agreed_now(now):  # the confirmation the coordinator waited for
                self._publish(now, False, 0.0)
            if packet.flags & wire.FLAG_ACK_REQUEST:
                self._stir()  # the peer misses our answers: answer every packet at once
                self._answer(packet.sender, link, now)
            return
        peer = self.state.peers[packet.sender]
        self.state.heard(packet.sender, link, addr[0], now, time.time())
        self._stir()  # a conversation: its answers should not wait for a tick
        if peer.reachable:
            message = Message(peer.node.name, packet.incarnation, packet.body)
            for callback in list(self.message_callbacks):
                try:
                    callback(message)
                except Exception:
                    log.exception("membership message callback failed")

    def _agreed_now(self, now: float) -> bool:
        """On the coordinator, whether its published quorate view, not agreed yet, is
        agreed by the heartbeat just taken in (the same rule the next tick would apply)."""
        view = self.current
        return (view is not None and view.quorate and view.agreed is False
                and self.state.coordinating and self.state.agreed(now))

    def _answer(self, peer_id: int, link: int, now: float) -> None:
        """Acknowledge at once a peer that asked (at most four times an interval)."""
        peer = self.state.peers[peer_id]
        if (self.task is None or peer_id not in self.peer_addrs
                or now - peer.answered_at < self.timing.interval / 4):
            return
        peer.answered_at = now
        if link < min(len(self.links), len(self.peer_addrs[peer_id])):
            self._send_heartbeat(peer_id, link, now)

    def _refused(self, exc: wire.UnsupportedVersion, addr: tuple) -> None:
        node = self.state.by_id.get(exc.sender or 0)
        who = node.name if node else f"node id {exc.sender}"
        self.dropped["version"] = self.dropped.get("version", 0) + 1
        if self.drops.warning(f"version:{who}", f"{self.me.name}: refusing {who} at "
                              f"{addr[0]}: it speaks {exc.detail}; upgrade one of them"):
            self._emit(MembershipEvent("refused", self.view(), who, exc.detail))
