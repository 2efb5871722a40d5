"""Property tests: any valid configuration survives a dump and reload; garbage never crashes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hacore.config import check_config_text, load_config_text
from hacore.config.build_services import complete_operations
from hacore.config.dump import config_to_dict, config_to_toml, toml_value
from hacore.config.model import (
    ClusterConfig,
    DomainMember,
    FailoverDomain,
    FenceDevice,
    FenceDeviceRef,
    FenceMethod,
    Node,
    Operation,
    Quorum,
    Resource,
    Service,
    Timing,
)
from hacore.config.ordering import start_order, stop_order
from hacore.config.rhcs import convert_root, parse_text
from hacore.errors import InputError

names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
params = st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,6}", fullmatch=True), texts, max_size=3)
seconds = st.integers(1, 600).map(float)


@st.composite
def resources(draw, pool: list[str], depth: int = 0) -> Resource:
    name = pool.pop()
    ops = [Operation("stop", draw(seconds))]
    if draw(st.booleans()):
        ops.append(Operation("monitor", draw(seconds), draw(seconds), draw(st.integers(0, 20))))
    agent = draw(st.sampled_from(["ip", "fs", "script", "apache", "mysql",
                                  "ocf:heartbeat:Dummy", "lsb:cron"]))
    children: list[Resource] = []
    if depth < 2 and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 2))):
            if pool:
                children.append(draw(resources(pool, depth + 1)))
    return Resource(name, agent, draw(params), complete_operations(agent, ops, None),
                    tuple(children),
                    independent=draw(st.booleans()), max_restarts=draw(st.integers(0, 5)))


@st.composite
def configs(draw) -> ClusterConfig:
    count = draw(st.integers(1, 5))
    node_names = [f"n{i}" for i in range(1, count + 1)]
    fenced = draw(st.booleans())
    nodes = tuple(Node(n, i + 1, (f"10.0.0.{i + 1}",), 1,
                       (FenceMethod("power", (FenceDeviceRef("pdu", {"port": str(i)}),)),)
                       if fenced else ()) for i, n in enumerate(node_names))
    devices = (FenceDevice("pdu", "fence_dummy", draw(params)),) if fenced else ()
    members = draw(st.lists(st.sampled_from(node_names), unique=True, min_size=1))
    domain = FailoverDomain("dom", tuple(DomainMember(m, i + 1) for i, m in enumerate(members)),
                            draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))
    pool = [f"r{i}" for i in range(12)]
    shared = tuple(draw(resources(pool, 2)) for _ in range(draw(st.integers(0, 2))))
    services = []
    for s in range(draw(st.integers(0, 3))):
        roots: tuple[Resource, ...] = ()
        for _ in range(draw(st.integers(0, 2))):
            if pool:
                roots += (draw(resources(pool)),)
        if shared and draw(st.booleans()):
            roots += (shared[0],)
        svc = Service(f"s{s}", roots, domain=draw(st.sampled_from([None, "dom"])),
                      autostart=draw(st.booleans()),
                      recovery=draw(st.sampled_from(["restart", "relocate", "disable"])),
                      max_restarts=draw(st.integers(0, 5)),
                      restart_expire_time=draw(st.integers(0, 600).map(float)),
                      depend_mode=draw(st.sampled_from(["hard", "soft"])))
        start, stop = tuple(start_order(roots)), tuple(stop_order(roots))
        if draw(st.booleans()) and len(roots) > 1 and not any(r.children for r in roots):
            start = tuple(reversed(start))
            stop = tuple(reversed(start))
        services.append(Service(**{**svc.__dict__, "start_order": start, "stop_order": stop}))
    loss = draw(st.sampled_from([1.0, 3.0, 10.0]))
    return ClusterConfig(draw(names), draw(st.integers(0, 10**6)), nodes,
                         Quorum(count, no_quorum_policy="stop"),
                         Timing(loss, loss / 5, self_stop_margin=2 * loss), devices, (domain,),
                         shared, tuple(services))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.booleans())
def test_valid_configs_round_trip_through_toml(cfg, minimal):
    """dump(cfg) loads back to exactly cfg, minimal or with every default written."""
    text = config_to_toml(cfg, minimal=minimal)
    assert load_config_text(text) == cfg


@settings(max_examples=60, deadline=None)
@given(configs())
def test_show_json_is_stable_json(cfg):
    """show --json of a reloaded config equals that of the original and is plain JSON."""
    again = load_config_text(config_to_toml(cfg))
    data = config_to_dict(again)
    assert json.loads(json.dumps(data)) == config_to_dict(cfg)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_garbage_text_never_raises(text):
    """Any text gives a result with problems or a config, never an exception."""
    result = check_config_text(text, "g.toml")
    assert result.config is not None or result.errors


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=12).filter(lambda v: v is not None)
sections = st.sampled_from(["cluster", "nodes", "quorum", "timing", "fence_devices", "domains",
                            "resources", "services", "other"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(sections, toml_values, max_size=6))
def test_wrong_types_anywhere_never_raise(doc):
    """Well-formed TOML with values of any type in any section gives problems, not a crash."""
    def clean(v):
        if isinstance(v, list):
            return [clean(x) for x in v if x is not None]
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        return v
    text = "\n".join(f"{k} = {toml_value(clean(v))}" for k, v in doc.items())
    result = check_config_text(text, "w.toml")
    for problem in result.problems:
        assert problem.file == "w.toml"


xml_attrs = st.dictionaries(st.sampled_from(["name", "nodeid", "votes", "ref", "address",
                                             "device", "priority", "ordered", "token",
                                             "__independent_subtree", "interval", "depth"]),
                            st.text(st.characters(min_codepoint=32, max_codepoint=126,
                                                  blacklist_characters='<>&"'), max_size=6))
tags = st.sampled_from(["cman", "totem", "clusternodes", "clusternode", "fence", "method",
                        "device", "fencedevices", "fencedevice", "rm", "failoverdomains",
                        "failoverdomain", "failoverdomainnode", "resources", "service", "ip",
                        "fs", "script", "apache", "action", "vm", "quorumd", "odd"])
elements = st.recursive(st.tuples(tags, xml_attrs, st.just([])),
                        lambda inner: st.tuples(tags, xml_attrs, st.lists(inner, max_size=3)),
                        max_leaves=20)


def render(elem) -> str:
    tag, attrs, children = elem
    attr_text = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f"<{tag}{attr_text}>" + "".join(render(c) for c in children) + f"</{tag}>"


@settings(max_examples=200, deadline=None)
@given(st.lists(elements, max_size=4))
def test_random_cluster_conf_converts_without_crash(children):
    """Any well-formed cluster.conf tree converts to a config (with notes), never crashes."""
    xml = '<cluster name="r" config_version="1">' + "".join(map(render, children)) + \
        "</cluster>"
    conv = convert_root(parse_text(xml), "r.conf")
    config_to_toml(conv.config)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_xml_raise_only_input_error(data):
    """Random bytes either parse or raise InputError."""
    try:
        parse_text(data)
    except InputError:
        pass
