"""The loader: valid files load with defaults filled in; every problem names line and key."""

from __future__ import annotations

import os

import pytest

from hacore.config import (
    ConfigError,
    check_config,
    check_config_text,
    load_config,
    load_config_text,
)
from hacore.errors import InputError

from .conftest import BASE, DATA


def problems(text: str, **kw):
    return check_config_text(text, "c.toml", **kw).problems


def only_errors(text: str, **kw):
    return [p for p in problems(text, **kw) if p.severity == "error"]


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def test_base_file_loads_with_defaults():
    """A minimal valid file loads; unset values get their documented defaults."""
    cfg = load_config_text(BASE)
    assert cfg.name == "test" and [n.name for n in cfg.nodes] == ["n1", "n2", "n3"]
    assert cfg.quorum.expected_votes == 3 and cfg.quorum.no_quorum_policy == "stop"
    assert cfg.timing.node_loss_timeout == 1.0 and cfg.timing.heartbeat_interval == 0.1
    web = cfg.service("web")
    assert web.recovery == "restart" and web.autostart is True
    assert web.start_order == ("vip", "www") and web.stop_order == ("www", "vip")
    vip = web.resources[0]
    assert vip.stop_timeout == 20.0 and vip.operation("monitor").interval == 30.0


def test_example_file_in_repository_loads():
    """examples/cluster.toml is a valid configuration."""
    cfg = load_config(DATA.parents[2] / "examples" / "cluster.toml")
    assert [n.name for n in cfg.nodes] == ["n1", "n2", "n3"]
    assert cfg.fence_devices[0].agent == "fence_hacore_testbed"


def test_timing_derives_from_node_loss_timeout():
    """Only node_loss_timeout set: heartbeat is a tenth of it, the self-stop margin twice."""
    cfg = load_config_text(BASE + "\n[timing]\nnode_loss_timeout = 5\n")
    assert cfg.timing.heartbeat_interval == 0.5 and cfg.timing.self_stop_margin == 10.0


CASES = [
    # (replace, with, expected key, words in the message)
    ('config_version = 1', 'config_version = "one"', "cluster.config_version", "integer"),
    ('id = 2', 'id = 1', "nodes[1].id", "used by 2 nodes"),
    ('addresses = ["10.1.0.2"]', 'addresses = ["10.1.0.1"]', "nodes[1].addresses[0]",
     "already node 'n1'"),
    ('addresses = ["10.1.0.3"]', 'addresses = ["not an address!"]', "nodes[2].addresses[0]",
     "neither an IP"),
    ('name = "n3"', 'name = "n3"\ncolour = "red"', "nodes[2].colour", "valid keys"),
    ('devices = [{ device = "pdu", port = "3" }]', 'devices = ["nopdu"]',
     "nodes[2].fence[0].devices[0]", "'nopdu' is not defined"),
    ('members = ["n1", "n2"]', 'members = ["n1", "n9"]', "domains.pref.members[1]",
     "not a cluster node"),
    ('domain = "pref"', 'domain = "nodomain"', "services.web.domain", "not defined"),
    ('tree = ["vip", "www"]', 'tree = ["vip", "www", "ghost"]', "services.web.tree[2]",
     "'ghost' is not defined"),
    ('tree = ["vip", "www"]', 'tree = ["vip", "www"]\ndepend = "db"', "services.web.depend",
     "not defined"),
    ('tree = ["vip", "www"]', 'tree = ["vip", "www"]\nrecovery = "pray"',
     "services.web.recovery", "'relocate'"),
    ('params = { config_file', 'operations = { stop = { timeout = 0 } }\nparams = { config_file',
     "services.web.resources.www.operations.stop.timeout", "wait forever"),
    ('params = { config_file', 'operations = { stop = { interval = 0 } }\nparams = { config_file',
     "services.web.resources.www.operations.stop.timeout", "needs a timeout"),
    ('params = { config_file', 'operations = { status = { interval = 5 } }\nparams = { config_file',
     "services.web.resources.www.operations.status", "monitor"),
    ('agent = "fence_dummy"', 'agent = 7', "fence_devices.pdu.agent", "string"),
    ('ordered = true', 'ordered = "yes"', "domains.pref.ordered", "true or false"),
]


@pytest.mark.parametrize("old,new,key,words", CASES, ids=[c[2] for c in CASES])
def test_each_error_names_line_and_key(old, new, key, words):
    """A single mistake gives an error at its line, naming its key and what is valid."""
    assert old in BASE
    text = BASE.replace(old, new, 1)
    errors = only_errors(text)
    match = [p for p in errors if p.key == key]
    assert match, f"no error for {key}: {[str(p) for p in errors]}"
    assert words in match[0].message
    first_line = BASE[:BASE.index(old)].count("\n") + 1
    extra = new.count("\n") if key.endswith(("colour", "depend", "recovery")) else 0
    assert match[0].line == first_line + extra
    assert str(match[0]).startswith(f"c.toml:{match[0].line}: {key}:")


def test_all_errors_are_reported_at_once():
    """Three independent mistakes give three errors, not only the first."""
    text = (BASE.replace('config_version = 1', 'config_version = -1')
            .replace('domain = "pref"', 'domain = "x"')
            .replace('id = 3', 'id = 0'))
    keys = {p.key for p in only_errors(text)}
    assert {"cluster.config_version", "services.web.domain", "nodes[2].id"} <= keys


def test_syntax_error_names_line():
    """Broken TOML is reported with the line tomllib found it on."""
    text = BASE.replace('name = "n2"', 'name = "n2', 1)
    [problem] = problems(text)
    assert problem.line == line_of(text, 'name = "n2') and "not valid TOML" in problem.message


def test_load_config_raises_config_error_with_problems(write):
    """load_config raises ConfigError, an InputError (exit 2), holding every problem."""
    path = write(BASE.replace('id = 2', 'id = 1'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert isinstance(info.value, InputError) and info.value.exit_code == 2
    assert all(p.file == str(path) for p in info.value.errors)
    assert f"{path}:" in str(info.value)


@pytest.mark.parametrize("setup,words", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "directory"),
    (lambda p: p.write_bytes(b"\xff\xfe[cluster]"), "UTF-8"),
])
def test_unreadable_files_give_input_error(tmp_path, setup, words):
    """Missing, directory or binary files raise InputError naming the file."""
    path = tmp_path / "c.toml"
    setup(path)
    with pytest.raises(InputError, match=words):
        load_config(path)


def test_missing_sections_are_reported():
    """An empty file says that [cluster] and [[nodes]] are needed."""
    messages = " ".join(p.message for p in only_errors(""))
    assert "[cluster]" in messages and "[[nodes]]" in messages


def test_explicit_order_is_used_and_checked():
    """`order` replaces rgmanager's order; stop is its reverse; a wrong list is refused."""
    text = BASE.replace('tree = ["vip", "www"]', 'tree = ["vip", "www"]\norder = ["www", "vip"]')
    web = load_config_text(text).service("web")
    assert web.start_order == ("www", "vip") and web.stop_order == ("vip", "www")
    bad = BASE.replace('tree = ["vip", "www"]', 'tree = ["vip", "www"]\norder = ["www"]')
    [err] = [p for p in only_errors(bad) if p.key == "services.web.order"]
    assert "missing: vip" in err.message


def test_explicit_order_keeps_parents_first():
    """An order that starts a child before its parent is refused."""
    text = BASE.replace('tree = ["vip", "www"]',
                        'tree = [{ resource = "vip", children = ["www"] }]\n'
                        'order = ["www", "vip"]')
    assert any("before its parent" in p.message for p in only_errors(text))


def test_service_local_resource_shadows_nothing_and_tree_flags_apply():
    """Tree entries carry independent / non_critical and subtree restart windows."""
    text = BASE.replace('tree = ["vip", "www"]',
                        'tree = ["vip", { resource = "www", non_critical = true, '
                        'max_restarts = 2, restart_expire_time = 60 }]')
    www = load_config_text(text).service("web").resources[1]
    assert www.non_critical and www.max_restarts == 2 and www.restart_expire_time == 60.0


def test_secrets_file_readable_by_others_warns(tmp_path):
    """A secret file with group/other bits set gives a warning naming the file."""
    secret = tmp_path / "ipmi"
    secret.write_text("pw\n")
    os.chmod(secret, 0o644)
    text = BASE.replace('agent = "fence_dummy"',
                        f'agent = "fence_dummy"\nsecrets = {{ passwd = "{secret}" }}')
    warnings = [p for p in problems(text) if p.severity == "warning"]
    assert any(str(secret) in p.message and p.key == "fence_devices.pdu.secrets.passwd"
               for p in warnings)
    os.chmod(secret, 0o600)
    assert not [p for p in problems(text) if p.severity == "warning"]
    assert load_config_text(text).fence_devices[0].secret_files == {"passwd": str(secret)}


def test_inline_password_in_world_readable_file_warns(write):
    """Passwords inline in a file others can read give a warning to chmod or move them."""
    path = write(BASE.replace('agent = "fence_dummy"',
                              'agent = "fence_dummy"\nparams = { passwd = "x" }'))
    os.chmod(path, 0o644)
    result = check_config(path)
    assert result.config is not None
    assert any("readable by others" in p.message for p in result.warnings)


def test_local_checks_find_missing_device_and_script(tmp_path):
    """--local reports a missing block device and a missing script; plain validate does not."""
    text = BASE.replace('tree = ["vip", "www"]', 'tree = ["vip", "www", "data", "hook"]') + """
[services.web.resources.data]
agent = "fs"
params = { device = "/dev/hacore-no-such-disk", mountpoint = "/mnt/x" }

[services.web.resources.hook]
agent = "script"
params = { file = "/usr/local/bin/hacore-no-such-script" }
"""
    assert not only_errors(text)
    keys = {p.key for p in only_errors(text, local=True)}
    assert "services.web.params.device" in keys and "services.web.params.file" in keys


def test_local_resource_hiding_a_global_one_warns():
    """A service-local resource named like a global one is used, with a warning."""
    text = BASE + '\n[services.web.resources.vip]\nagent = "ip"\nparams = { address = "10.1.0.9" }\n'
    warnings = [p for p in problems(text) if p.severity == "warning"]
    assert any("hides the global" in p.message for p in warnings)
    assert load_config_text(text).service("web").resources[0].params["address"] == "10.1.0.9"


def test_huge_toml_file_is_refused(write):
    """A file over the size cap is refused before parsing, naming the file."""
    path = write("# padding\n" * 500_000)
    with pytest.raises(InputError, match="larger than"):
        load_config(path)


def test_deeply_nested_toml_gives_a_problem_not_a_crash():
    """Arrays nested thousands deep give a problem, not a RecursionError."""
    result = check_config_text("x = " + "[" * 5000 + "]" * 5000, "deep.toml")
    assert result.config is None and result.errors


def test_deep_resource_tree_is_refused():
    """A resource tree deeper than 32 levels is refused."""
    entry = '"www"'
    for _ in range(40):
        entry = f'{{ resource = "vip", children = [{entry}] }}'
    text = BASE.replace('tree = ["vip", "www"]', f"tree = [{entry}]")
    assert any("deeper than 32" in p.message for p in only_errors(text))


def test_local_check_accepts_a_native_fencer():
    """`--local` accepts a native fence device (power-file) that is no script in PATH."""
    text = (BASE + '\n[fence_devices.pf]\nagent = "power-file"\nparams = { state_dir = "/tmp" }\n')
    assert not [p for p in only_errors(text, local=True) if p.key.startswith("fence_devices.pf")]
