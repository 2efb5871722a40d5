"""The testbed fence device's interface, without a testbed: parsing, metadata, errors."""

import subprocess
import sys

import pytest
from defusedxml import ElementTree

from hacore.testing.fence_testbed import parse_argv, parse_stdin, run
from hacore.testing.switch import SwitchRules


def test_stdin_parsing_skips_comments_and_last_duplicate_wins():
    """Comments and lines without '=' are skipped; the last duplicate name wins."""
    opts = parse_stdin("# hello\naction=status\nplug=n1\nnoise\nplug=n2\n")
    assert opts == {"action": "status", "plug": "n2"}


def test_command_line_mode_reads_action_and_plug():
    """-o and -n (or --plug=) give the action and the plug."""
    assert parse_argv(["-o", "off", "--plug=n3", "--testbed-socket", "/x"]) == {
        "action": "off", "plug": "n3", "testbed_socket": "/x"}


def test_metadata_is_fence_agents_xml_listing_actions():
    """metadata prints a resource-agent document with parameters and the actions."""
    proc = subprocess.run([sys.executable, "-m", "hacore.testing.fence_testbed"],
                          input="action=metadata\n", capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    root = ElementTree.fromstring(proc.stdout.encode())
    assert root.tag == "resource-agent" and root.get("name") == "fence_hacore_testbed"
    actions = {a.get("name") for a in root.iter("action")}
    assert {"on", "off", "reboot", "status", "list", "monitor", "metadata"} <= actions
    assert "plug" in {p.get("name") for p in root.iter("parameter")}


def test_unreachable_testbed_is_status_error_not_off(tmp_path, capsys):
    """status exits 1 (device unreachable), never 2 (off), when the socket is missing."""
    code = run({"action": "status", "plug": "n1", "testbed_socket": str(tmp_path / "none.sock")})
    assert code == 1
    assert "cannot reach" in capsys.readouterr().err


def test_missing_plug_and_unknown_action_fail():
    """off without a plug and an unknown action both exit 1."""
    assert run({"action": "off", "testbed_socket": "/nonexistent"}) == 1
    assert run({"action": "explode", "plug": "n1", "testbed_socket": "/nonexistent"}) == 1


def test_switch_rules_render_one_way_blocks_and_loss():
    """A one-way block renders one drop rule for that direction, loss a numgen rule."""
    rules = SwitchRules()
    rules.block("n1", "n2")
    rules.loss["n3"] = 25
    text = rules.render()
    assert 'iifname "n1" oifname "n2" drop' in text
    assert 'iifname "n2" oifname "n1"' not in text
    assert 'iifname "n3" numgen random mod 10000 < 2500 drop' in text
    assert "ether type arp accept" in text


def test_fence_agent_imports_none_of_the_testbed():
    """The fence agent, a fresh interpreter on every fence (the failover waits for it),
    imports neither the testbed (cluster, psutil) nor asyncio, nor the fencing library's
    protocol module (its dataclasses cost ~9 ms): only hacore.fencing.stdin."""
    import json

    code = ("import json, sys, hacore.testing.fence_testbed; "
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    modules = set(json.loads(proc.stdout))
    assert "hacore.testing.fence_testbed" in modules
    assert sorted(modules & {"hacore.testing.cluster", "hacore.testing.node", "psutil",
                             "asyncio", "hacore.fencing.methods",
                             "hacore.fencing.protocol"}) == []


def test_testing_package_still_exports_its_names():
    """``from hacore.testing import Cluster`` and the other public names still work."""
    from hacore import testing
    from hacore.testing import Cluster, leak_check

    assert Cluster.__name__ == "Cluster" and callable(leak_check)
    assert set(testing.__all__) <= set(dir(testing))
    with pytest.raises(AttributeError):
        testing.NoSuchThing  # noqa: B018
