"""Cross checks: quorum that can never be reached, timing, split-brain, dependency cycles."""

from __future__ import annotations

from hacore.config import check_config_text, load_config_text

from .conftest import BASE

NO_FENCE = (BASE.replace('fence = [{ method = "power", devices = [{ device = "pdu", port = "1" }] }]\n', "")
            .replace('fence = [{ method = "power", devices = [{ device = "pdu", port = "2" }] }]\n', "")
            .replace('fence = [{ method = "power", devices = [{ device = "pdu", port = "3" }] }]\n', ""))


def found(text: str, severity: str = "error"):
    return [p for p in check_config_text(text, "c.toml").problems if p.severity == severity]


def test_unreachable_quorum_is_refused():
    """expected_votes above what all nodes together hold can never be quorate."""
    [err] = found(BASE + "\n[quorum]\nexpected_votes = 7\n")
    assert err.key == "quorum.expected_votes" and "never be reached" in err.message
    assert "at most 3" in err.message


def test_expected_votes_defaults_to_sum_of_votes():
    """expected_votes is filled in from the node votes."""
    cfg = load_config_text(BASE.replace('name = "n1"', 'name = "n1"\nvotes = 3'))
    assert cfg.quorum.expected_votes == 5


def test_two_node_needs_exactly_two_nodes():
    """two_node with three nodes is refused."""
    errs = found(BASE + "\n[quorum]\ntwo_node = true\n")
    assert any(e.key == "quorum.two_node" and "exactly two nodes" in e.message for e in errs)


def test_no_fencing_is_fine_with_stop_policy():
    """Without fencing and with the default stop policy the file is valid (self-stop mode)."""
    assert not found(NO_FENCE)


def test_freeze_without_fencing_is_refused_unless_accepted():
    """no_quorum_policy = freeze without fencing is an error; accept_split_brain makes it a
    warning that is given on every load."""
    text = NO_FENCE + '\n[quorum]\nno_quorum_policy = "freeze"\n'
    [err] = found(text)
    assert err.key == "quorum.no_quorum_policy" and "accept_split_brain" in err.message
    accepted = text + "accept_split_brain = true\n"
    assert not found(accepted)
    [warn] = found(accepted, "warning")
    assert "accepted by accept_split_brain" in warn.message


def test_ignore_with_fencing_is_allowed():
    """no_quorum_policy = ignore is allowed when every node has a fence method."""
    assert not found(BASE + '\n[quorum]\nno_quorum_policy = "ignore"\n')


def test_accept_split_brain_alone_warns_it_does_nothing():
    """accept_split_brain without a risky setting warns that it has no effect."""
    [warn] = found(BASE + "\n[quorum]\naccept_split_brain = true\n", "warning")
    assert "no effect" in warn.message


def test_heartbeat_too_slow_for_node_loss_timeout():
    """A heartbeat leaving fewer than 3 beats per node-loss timeout contradicts it."""
    [err] = found(BASE + "\n[timing]\nnode_loss_timeout = 2\nheartbeat_interval = 1\n")
    assert err.key == "timing.heartbeat_interval" and err.line == BASE.count("\n") + 4
    assert "at most 0.667" in err.message


def test_negative_timing_refused():
    """A node_loss_timeout <= 0 is refused with what is valid."""
    [err] = found(BASE + "\n[timing]\nnode_loss_timeout = -1\n")
    assert "> 0" in err.message


def test_dependency_cycle_refused():
    """Services depending on each other in a circle are refused."""
    text = (BASE.replace('tree = ["vip", "www"]', 'tree = ["vip", "www"]\ndepend = "db"')
            + '\n[services.db]\ntree = []\ndepend = "web"\n')
    errs = found(text)
    assert any("circle" in e.message for e in errs)


def test_duplicate_domain_member_refused():
    """A node listed twice in one domain is an error."""
    errs = found(BASE.replace('members = ["n1", "n2"]', 'members = ["n1", "n1"]'))
    assert any("listed twice" in e.message and e.key == "domains.pref.members[1]"
               for e in errs)


def test_resource_used_twice_in_one_service_refused():
    """The same resource twice in one tree is refused."""
    errs = found(BASE.replace('tree = ["vip", "www"]', 'tree = ["vip", "www", "vip"]'))
    assert any("appears twice" in e.message for e in errs)


def test_heartbeat_above_a_tenth_of_the_timeout_warns_it_is_capped():
    """heartbeat_interval between T/10 and T/3 is accepted with a warning naming the cap."""
    [warn] = found(BASE + "\n[timing]\nnode_loss_timeout = 2\nheartbeat_interval = 0.5\n",
                   "warning")
    assert warn.key == "timing.heartbeat_interval" and "every 0.2 s" in warn.message
    assert not found(BASE + "\n[timing]\nnode_loss_timeout = 2\nheartbeat_interval = 0.2\n",
                     "warning")
