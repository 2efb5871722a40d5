"""Importing RHCS cluster.conf files: mapping, notes for what is dropped, hostile input."""

from __future__ import annotations

import os
import stat

import pytest

from hacore.config import load_config, load_config_text
from hacore.config.dump import config_to_toml
from hacore.config.rhcs import convert_cluster_conf, import_cluster_conf
from hacore.errors import InputError

from .conftest import DATA, fake_catalogue


def convert(name: str):
    return convert_cluster_conf(DATA / name)


def test_web_cluster_nodes_fencing_and_timing():
    """Nodes, votes, fence methods in order with per-node parameters, and the totem token."""
    conv = convert("web3.conf")
    cfg = conv.config
    assert cfg.name == "webcluster" and cfg.config_version == 42
    n1 = cfg.node("node1.example.com")
    assert n1.id == 1 and n1.addresses == ("node1.example.com",)
    assert [m.name for m in n1.fence] == ["ipmi", "pdu"]
    assert [d.device for d in n1.fence[1].devices] == ["apc", "apc2"]
    assert n1.fence[1].devices[0].params == {"port": "1", "switch": "1"}
    assert cfg.timing.node_loss_timeout == 5.0 and cfg.timing.post_join_delay == 3.0
    ipmi = next(d for d in cfg.fence_devices if d.name == "ipmi-node1")
    assert ipmi.agent == "fence_ipmilan" and ipmi.params["passwd"] == "s3cret"
    assert conv.has_passwords


def test_web_service_attributes_tree_and_action_override():
    """Service attributes, mapped agents and parameters, depth="*" status override."""
    cfg = convert("web3.conf").config
    web = cfg.service("web")
    assert (web.domain, web.recovery, web.max_restarts, web.restart_expire_time) == \
        ("webdomain", "relocate", 3, 300.0)
    names = {r.name: r for r in web.walk()}
    vip = names["ip-192.168.10.100"]
    assert vip.agent == "ip" and vip.params == {
        "address": "192.168.10.100/24", "monitor_link": "1", "sleeptime": "2"}
    data = names["webdata"]
    assert data.agent == "fs" and data.params["mountpoint"] == "/var/www"
    assert data.params["force_unmount"] == "1" and data.stop_timeout == 30.0
    httpd = names["httpd"]
    assert httpd.agent == "apache" and httpd.params["server_root"] == "/etc/httpd"
    assert {op.interval for op in httpd.operations if op.name == "monitor"} == {30.0}
    assert names["notify"].agent == "script"
    assert web.start_order == ("webdata", "ip-192.168.10.100", "notify", "httpd")
    assert web.stop_order == ("httpd", "notify", "ip-192.168.10.100", "webdata")
    dom = cfg.domain("webdomain")
    assert dom.ordered and dom.restricted and not dom.nofailback
    assert [m.priority for m in dom.members] == [1, 2, 3]


def test_dropped_items_are_listed_with_lines():
    """Every attribute or element not carried over is a note naming file, line and element."""
    notes = convert("web3.conf").notes
    text = "\n".join(notes)
    assert 'web3.conf:4: <cman>: attribute port="5405"' in text
    assert 'web3.conf:5: <totem>: attribute consensus="6000"' in text
    assert 'web3.conf:52: <fs name="webdata">: attribute self_fence="0"' in text


def test_qdisk_database_cluster():
    """qdisk is reported (heuristics too); expected_votes is recomputed; global refs resolve."""
    conv = convert("db-qdisk.conf")
    cfg = conv.config
    assert cfg.quorum.expected_votes == 2 and not cfg.quorum.two_node
    assert cfg.timing.node_loss_timeout == 21.0 and cfg.timing.startup_fencing is False
    assert any("<quorumd>" in n for n in conv.notes)
    assert any("<heuristic>" in n for n in conv.notes)
    db = cfg.service("db")
    assert db.recovery == "restart-disable" and db.domain == "dbprefer"
    [data, vip] = db.resources
    assert data.name == "dbdata" and data.children[0].name == "mysqld"
    mysqld = data.children[0]
    assert mysqld.stop_timeout == 120.0 and mysqld.params["listen_address"] == "192.168.20.50"
    assert vip.name == "ip-192.168.20.50"
    assert db.start_order == ("dbdata", "mysqld", "ip-192.168.20.50")
    assert {r.name for r in cfg.resources} == {"ip-192.168.20.50", "dbdata", "mysqld"}


def test_mixed_nested_trees_subtrees_and_unsupported_types():
    """__independent_subtree 1/non-critical, depend, unsupported types reported not dropped."""
    conv = convert("mixed.conf")
    cfg = conv.config
    assert cfg.quorum.two_node and cfg.quorum.wait_for_all
    assert cfg.node("a").addresses == ("a", "a-ring1")
    app = cfg.service("app")
    assert app.depend == "storage" and app.depend_mode == "soft"
    by_name = {r.name: r for r in app.walk()}
    assert by_name["appctl"].independent and by_name["appctl"].max_restarts == 2
    assert by_name["appctl"].restart_expire_time == 60.0
    assert by_name["announce"].non_critical
    assert by_name["vg"].agent == "ocf:heartbeat:LVM"
    assert by_name["vg"].params == {"volgrpname": "appvg"}
    assert "exp" not in by_name and "odd" not in by_name
    text = "\n".join(conv.notes)
    for needle in ("<nfsexport name=\"exp\">", "<frobnicator name=\"odd\">", "<vm name=\"guest1\">",
                   "<unfence>", "<logging>", "__enforce_timeouts", "priority=\"2\"",
                   "lv_name=\"data\""):
        assert needle in text, needle
    storage = cfg.service("storage")
    assert not storage.autostart and storage.exclusive
    assert cfg.domain("both").nofailback


def test_original_types_keep_rgmanager_order():
    """clusterfs keeps its own level even though it maps to ocf:heartbeat:Filesystem."""
    storage = convert("mixed.conf").config.service("storage")
    assert storage.start_order == ("gfs", "nfs")


@pytest.mark.parametrize("name", ["web3.conf", "db-qdisk.conf", "mixed.conf"])
def test_round_trip_import_validate_show(tmp_path, name):
    """import -> load -> show (TOML) -> load gives the same configuration."""
    out = tmp_path / "cluster.toml"
    report = import_cluster_conf(DATA / name, out, catalogue=None)
    assert report.valid, [str(p) for p in report.problems]
    cfg = load_config(out)
    assert cfg == convert(name).config
    again = load_config_text(config_to_toml(cfg, minimal=False))
    assert again == cfg


def test_output_mode_0600_with_passwords(tmp_path):
    """A file holding passwords is written 0600, one without 0644."""
    with_pw, without = tmp_path / "a.toml", tmp_path / "b.toml"
    import_cluster_conf(DATA / "web3.conf", with_pw, catalogue=None)
    import_cluster_conf(DATA / "mixed.conf", without, catalogue=None)
    assert stat.S_IMODE(os.stat(with_pw).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(without).st_mode) == 0o644


def test_existing_output_is_not_overwritten(tmp_path):
    """Without overwrite an existing output file is refused and left alone."""
    out = tmp_path / "c.toml"
    out.write_text("keep")
    with pytest.raises(InputError, match="already exists"):
        import_cluster_conf(DATA / "web3.conf", out, catalogue=None)
    assert out.read_text() == "keep"


def test_agent_findings_are_warnings_on_import(tmp_path):
    """Agents not installed on the importing machine give warnings, not invalidity."""
    report = import_cluster_conf(DATA / "web3.conf", tmp_path / "c.toml",
                                 catalogue=fake_catalogue)
    assert report.valid
    assert any(p.severity == "warning" and "script" in p.message for p in report.problems)


def test_split_brain_source_imports_but_does_not_validate(tmp_path):
    """two_node without fencing is written but reported invalid (the admin decides)."""
    src = tmp_path / "c.conf"
    src.write_text('<cluster name="c" config_version="1"><cman two_node="1" expected_votes="1"/>'
                   '<clusternodes><clusternode name="a" nodeid="1"/>'
                   '<clusternode name="b" nodeid="2"/></clusternodes></cluster>')
    report = import_cluster_conf(src, tmp_path / "c.toml", catalogue=None)
    assert not report.valid and any("accept_split_brain" in p.message for p in report.problems)


# -- hostile input -------------------------------------------------------------------------

def hostile(tmp_path, text: str | bytes) -> InputError:
    src = tmp_path / "bad.conf"
    src.write_bytes(text.encode() if isinstance(text, str) else text)
    out = tmp_path / "out.toml"
    with pytest.raises(InputError) as info:
        import_cluster_conf(src, out, catalogue=None)
    assert not out.exists() and not list(tmp_path.glob(".out.toml.*"))
    return info.value


def test_truncated_xml_names_line(tmp_path):
    """A truncated file is malformed: exit 2 error with its line, no output."""
    text = (DATA / "web3.conf").read_text()
    err = hostile(tmp_path, text[: text.index("<rm")])
    assert "bad.conf:" in str(err) and "malformed XML" in str(err)
    assert err.exit_code == 2


def test_mismatched_tag_names_line(tmp_path):
    """A mismatched tag is reported at its line."""
    err = hostile(tmp_path, '<cluster name="x">\n<clusternodes>\n</cluster>\n')
    assert "bad.conf:3: malformed XML" in str(err)


def test_billion_laughs_is_refused(tmp_path):
    """Entity declarations (billion laughs) are refused, never expanded."""
    lol = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">\n'
                     for i in range(1, 10))
           + ']>\n<cluster name="&lol9;"/>\n')
    err = hostile(tmp_path, lol)
    assert "entity" in str(err).lower()


def test_external_entity_is_refused(tmp_path):
    """External entities (file disclosure) are refused."""
    err = hostile(tmp_path, '<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY x SYSTEM '
                  '"file:///etc/passwd">]>\n<cluster name="&x;"/>\n')
    assert "refused" in str(err)


def test_deep_nesting_is_refused(tmp_path):
    """Elements nested deeper than the cap are refused with a line."""
    depth = 500
    err = hostile(tmp_path, "<cluster>" + "<a>" * depth + "</a>" * depth + "</cluster>")
    assert "nested deeper" in str(err)


def test_huge_file_is_refused(tmp_path):
    """A file over the size cap is refused before parsing."""
    err = hostile(tmp_path, b"<cluster>" + b" " * (9 * 1024 * 1024) + b"</cluster>")
    assert "MiB" in str(err)


def test_wrong_root_and_wrong_types(tmp_path):
    """A root other than <cluster> is refused; wrong attribute types become notes."""
    hostile(tmp_path, "<notcluster/>")
    src = tmp_path / "t.conf"
    src.write_text('<cluster name="t" config_version="many"><clusternodes>'
                   '<clusternode name="a" nodeid="one" votes="x"/></clusternodes>'
                   '<rm><service name="s" max_restarts="lots"/></rm></cluster>')
    conv = convert_cluster_conf(src)
    text = "\n".join(conv.notes)
    assert 'config_version="many"' in text and 'votes="x"' in text and "max_restarts" in text


def test_unknown_ref_is_reported(tmp_path):
    """A ref= to no global resource is listed, not silently dropped."""
    src = tmp_path / "r.conf"
    src.write_text('<cluster name="r" config_version="1"><rm><service name="s">'
                   '<ip ref="10.0.0.9"/></service></rm></cluster>')
    [note] = [n for n in convert_cluster_conf(src).notes if "ref=" in n]
    assert "10.0.0.9" in note and "r.conf:1" in note
