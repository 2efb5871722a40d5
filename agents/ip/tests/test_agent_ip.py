"""The ip agent in a private network namespace, with a peer namespace on the other end."""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from pathlib import Path

import pytest
from ip_netns import addresses, collect, in_netns, make_pair, remove_pair, sh, spawn_in

from hacore.agent import OCF

pytestmark = pytest.mark.netns
LISTEN_BUDGET = 10.0


def op(action: str, params: dict[str, str], interval: float = 0.0):
    from hacore.executor import OperationRequest, run_operation

    result = run_operation(
        OperationRequest("ip", action, "test-ip", params=params, timeout=20.0, interval=interval)
    )
    return result.code, result.reason


@pytest.fixture
def pair():
    prefix = f"hacore-agt-{os.getpid()}"
    remove_pair(prefix)
    try:
        yield make_pair(prefix)
    finally:
        remove_pair(prefix)


def listen_for_announcements(ready: str, address: str, want: int) -> list[str]:
    """In the peer: the sender MACs of gratuitous ARPs / unsolicited NAs for ``address``."""
    ip = ipaddress.ip_address(address)
    proto = 0x0806 if ip.version == 4 else 0x86DD
    seen: list[str] = []
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto)) as sock:
        sock.bind(("eth0", proto))
        sock.settimeout(0.2)
        Path(ready).touch()
        end = time.monotonic() + LISTEN_BUDGET
        while len(seen) < want and time.monotonic() < end:
            try:
                frame = sock.recv(2048)
            except TimeoutError:
                continue
            mac = ":".join(f"{b:02x}" for b in frame[6:12])
            if (
                ip.version == 4
                and frame[28:32] == ip.packed
                and frame[38:42] == ip.packed
                or ip.version == 6
                and frame[20] == 58
                and frame[54] == 136
                and frame[62:78] == ip.packed
            ):
                seen.append(mac)
    return seen


@pytest.mark.parametrize("address", ["192.0.2.10/24", "2001:db8::10/64"])
def test_start_announces_monitor_sees_stop_removes(pair, tmp_path, address):
    """start adds the address and the peer sees 3 announcements from the node's MAC."""
    bare = address.split("/")[0]
    params = {"address": address}
    ready = tmp_path / "ready"
    listener = spawn_in(pair.peer, listen_for_announcements, str(ready), bare, 3)
    deadline = time.monotonic() + LISTEN_BUDGET
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert in_netns(pair.node, op, "monitor", params)[0] == OCF.NOT_RUNNING
    code, reason = in_netns(pair.node, op, "start", params)
    assert code == OCF.SUCCESS, reason
    assert collect(*listener) == [pair.node_mac] * 3
    assert f"{address} " in addresses(pair.node)
    assert in_netns(pair.node, op, "start", params)[0] == OCF.SUCCESS
    assert in_netns(pair.node, op, "monitor", params, 20.0)[0] == OCF.SUCCESS
    assert in_netns(pair.node, op, "stop", params)[0] == OCF.SUCCESS
    assert f"{bare}/" not in addresses(pair.node)
    assert in_netns(pair.node, op, "monitor", params, 20.0)[0] == OCF.NOT_RUNNING
    assert in_netns(pair.node, op, "stop", params)[0] == OCF.SUCCESS


@pytest.mark.parametrize("address", ["192.0.2.50/24", "2001:db8::50/64"])
def test_address_held_by_peer_is_refused_naming_its_mac(pair, address):
    """When the peer already holds the address, start fails and names the peer's MAC."""
    sh(
        "ip",
        "-n",
        pair.peer,
        "addr",
        "add",
        address,
        "dev",
        "eth0",
        "nodad" if ":" in address else "noprefixroute",
    )
    code, reason = in_netns(pair.node, op, "start", {"address": address})
    assert code == OCF.ERR_GENERIC
    assert f"{address} is already held by {pair.peer_mac}" in reason
    assert address.split("/")[0] not in addresses(pair.node)
    forced = in_netns(
        pair.node, op, "start", {"address": address, "check_duplicate": "no", "arp_count": "0"}
    )
    assert forced[0] == OCF.SUCCESS
    assert in_netns(pair.node, op, "stop", {"address": address})[0] == OCF.SUCCESS


def test_link_down_fails_monitor_unless_monitor_link_is_off(pair):
    """No carrier (peer end down): monitor fails and says so; stop waits sleeptime."""
    params = {"address": "192.0.2.20", "arp_count": "1"}
    assert in_netns(pair.node, op, "start", params)[0] == OCF.SUCCESS
    assert "192.0.2.20/24 " in addresses(pair.node)  # prefix taken from the subnet
    sh("ip", "-n", pair.peer, "link", "set", "eth0", "down")
    code, reason = in_netns(pair.node, op, "monitor", params, 20.0)
    assert code == OCF.ERR_GENERIC and "no carrier" in reason
    assert in_netns(pair.node, op, "monitor", {**params, "monitor_link": "0"})[0] == OCF.SUCCESS
    began = time.monotonic()
    assert in_netns(pair.node, op, "stop", {**params, "sleeptime": "1"})[0] == OCF.SUCCESS
    assert time.monotonic() - began >= 1.0  # sleeptime is waited after the removal
    assert "192.0.2.20/" not in addresses(pair.node)


def test_unusable_parameters_give_reasons(pair):
    """No subnet for the address, a missing interface, a bad address: reasons, no traceback."""
    code, reason = in_netns(pair.node, op, "start", {"address": "198.51.100.5/24"})
    assert code == OCF.ERR_ARGS and "no interface here has a subnet" in reason
    code, reason = in_netns(
        pair.node, op, "start", {"address": "192.0.2.9/24", "interface": "eth9"}
    )
    assert code == OCF.ERR_ARGS and "eth9 does not exist" in reason and "eth0" in reason
    code, reason = in_netns(pair.node, op, "validate", {"address": "192.0.2.300/24"})
    assert code == OCF.ERR_CONFIGURED and "192.0.2.300" in reason
    code, _ = in_netns(pair.node, op, "validate", {"address": "fd00::1/64", "family": "inet"})
    assert code == OCF.ERR_CONFIGURED


def test_passes_the_conformance_harness(pair):
    """The ip agent passes `hacore-agent test` inside the node namespace."""
    from hacore.harness import run_harness

    def harness() -> tuple[bool, str]:
        report = run_harness("ip", {"address": "192.0.2.77/24", "arp_count": "1"})
        return report.passed, report.summary()

    passed, summary = in_netns(pair.node, harness)
    assert passed, summary


def packet_sockets_of_a_start(address: str) -> tuple[int, int, str]:
    """In the node: how many packet sockets one start (probe + announcements) opens."""
    from hacore_agent_ip import agent as agent_module
    from hacore_agent_ip import probes
    from hacore_agent_ip.agent import FloatingAddress

    from hacore.agent.base import OperationContext
    from hacore.agent.params import bind_params

    opened = []
    real = probes.packet_socket

    def counting(ifname: str, version: int) -> socket.socket:
        opened.append(ifname)
        return real(ifname, version)

    agent_module.packet_socket = probes.packet_socket = counting
    params = bind_params(FloatingAddress.parameters, {"address": address})
    result = FloatingAddress(params, "test-ip", OperationContext("start", 20.0)).start()
    FloatingAddress(params, "test-ip", OperationContext("stop", 20.0)).stop()
    return len(opened), int(result.code), result.reason


@pytest.mark.parametrize("address", ["192.0.2.60/24", "2001:db8::60/64"])
def test_start_probes_and_announces_on_one_packet_socket(pair, address):
    """A start opens one packet socket for the duplicate probe and the announcements: each
    close of one waits for a kernel grace period, which a failover's start would pay."""
    count, code, reason = in_netns(pair.node, packet_sockets_of_a_start, address)
    assert code == OCF.SUCCESS, reason
    assert count == 1
