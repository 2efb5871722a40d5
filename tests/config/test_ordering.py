"""rgmanager's start/stop order (REFERENCE 4.4) computed from resource trees."""

from __future__ import annotations

from hacore.config.model import Resource
from hacore.config.ordering import start_order, stop_order


def r(name: str, agent: str, *children: Resource) -> Resource:
    return Resource(name, agent, children=children)


def test_type_levels_order_service_children():
    """Typed children start by level (fs before ip before script), untyped last."""
    roots = [r("app", "apache"), r("hook", "script"), r("vip", "ip"), r("data", "fs"),
             r("vg", "ocf:heartbeat:LVM")]
    assert start_order(roots) == ["vg", "data", "vip", "hook", "app"]


def test_stop_levels_are_not_the_reverse_of_start():
    """Untyped stop first (reverse file order), then script, ip, fs, lvm by stop level."""
    roots = [r("app1", "apache"), r("hook", "script"), r("vip", "ip"), r("data", "fs"),
             r("app2", "mysql"), r("vg", "ocf:heartbeat:LVM")]
    assert stop_order(roots) == ["app2", "app1", "hook", "vip", "data", "vg"]


def test_same_type_keeps_file_order_and_reverses_on_stop():
    """Two ips start in file order and stop in reverse."""
    roots = [r("ip1", "ip"), r("ip2", "ip")]
    assert start_order(roots) == ["ip1", "ip2"] and stop_order(roots) == ["ip2", "ip1"]


def test_depth_first_children_follow_their_parent():
    """<fs><mysql/></fs><ip/> starts fs, mysql, then ip (depth first)."""
    roots = [r("data", "fs", r("db", "mysql")), r("vip", "ip")]
    assert start_order(roots) == ["data", "db", "vip"]
    assert stop_order(roots) == ["vip", "db", "data"]


def test_fs_children_use_fs_levels():
    """Under a filesystem, a nested fs starts before an untyped child."""
    roots = [r("data", "fs", r("www", "apache"), r("logs", "fs"))]
    assert start_order(roots) == ["data", "logs", "www"]
    assert stop_order(roots) == ["www", "logs", "data"]


def test_children_of_other_agents_keep_file_order():
    """Under an ip, children start in file order regardless of type."""
    roots = [r("vip", "ip", r("hook", "script"), r("data", "fs"))]
    assert start_order(roots) == ["vip", "hook", "data"]
    assert stop_order(roots) == ["data", "hook", "vip"]


def test_kind_of_overrides_agent_type():
    """A kind_of function (the importer's original types) decides the levels."""
    roots = [r("a", "x"), r("b", "y")]
    kinds = {"a": "script", "b": "lvm"}
    assert start_order(roots, lambda res: kinds[res.name]) == ["b", "a"]
