"""The agent's own rtnetlink client reads what ``ip -j`` reads (host, read-only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from hacore_agent_ip.rtnl import IPRoute, NetlinkError


def ip_json(*args: str) -> list[dict]:
    return json.loads(subprocess.run(["ip", "-j", *args], capture_output=True, text=True,
                                     check=True).stdout)


def test_links_match_ip_link():
    """Every interface's index, name and MAC address are those ``ip link`` lists."""
    with IPRoute() as ipr:
        mine = {m["index"]: (m.get_attr("IFLA_IFNAME"), m.get_attr("IFLA_ADDRESS") or "")
                for m in ipr.get_links()}
    theirs = {x["ifindex"]: (x["ifname"], x.get("address", "")) for x in ip_json("link")}
    assert mine == theirs


@pytest.mark.parametrize("family,name", [(socket.AF_INET, "inet"), (socket.AF_INET6, "inet6")])
def test_addresses_match_ip_addr(family, name):
    """Every address with its prefix and interface is one ``ip addr`` lists, and no more."""
    with IPRoute() as ipr:
        mine = sorted((m["index"], m.get_attr("IFA_LOCAL") or m.get_attr("IFA_ADDRESS"),
                       m["prefixlen"]) for m in ipr.get_addr(family=family))
    theirs = sorted((x["ifindex"], a["local"], a["prefixlen"]) for x in ip_json("addr")
                    for a in x.get("addr_info", []) if a["family"] == name)
    assert mine == theirs


def test_one_link_and_a_missing_one():
    """Asking for one index answers that link; a missing index is the kernel's ENODEV."""
    with IPRoute() as ipr:
        first = ipr.get_links()[0]
        assert [m["index"] for m in ipr.get_links(first["index"])] == [first["index"]]
        with pytest.raises(NetlinkError) as info:
            ipr.get_links(2**31 - 1)
    assert info.value.args[0] == 19 and info.value.args[-1] == "No such device"


def test_agent_does_not_import_pyroute2():
    """Importing the agent leaves pyroute2 unloaded (the executor helper imports every agent)."""
    code = "import sys, hacore_agent_ip; print(any(m.startswith('pyroute2') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

