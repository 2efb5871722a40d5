"""The metrics registry and its text exposition, parsed back."""

import pytest

from hacore.observability.metrics import Registry, parse_exposition


def test_counters_gauges_and_labels_round_trip():
    """Values written come back from the parsed exposition, labels escaped and unescaped."""
    r = Registry()
    c = r.counter("hacore_things_total", "Things.", ("kind",))
    g = r.gauge("hacore_level", "Level.")
    c.inc(kind='a "quoted"\\ \nvalue')
    c.inc(2.5, kind="b")
    g.set(-3)
    text = r.exposition()
    assert "# TYPE hacore_things_total counter" in text
    assert "# HELP hacore_level Level." in text
    parsed = parse_exposition(text)
    assert parsed[("hacore_things_total", (("kind", 'a "quoted"\\ \nvalue'),))] == 1
    assert parsed[("hacore_things_total", (("kind", "b"),))] == 2.5
    assert parsed[("hacore_level", ())] == -3


def test_histogram_buckets_are_cumulative_with_sum_and_count():
    """Observations 0.3, 3 and 700 fill le buckets cumulatively; +Inf holds all three."""
    r = Registry()
    h = r.histogram("hacore_op_seconds", "Ops.", ("action",), buckets=(1, 5))
    for v in (0.3, 3, 700):
        h.observe(v, action="start")
    parsed = parse_exposition(r.exposition())
    key = lambda le: ("hacore_op_seconds_bucket", (("action", "start"), ("le", le)))
    assert parsed[key("1")] == 1
    assert parsed[key("5")] == 2
    assert parsed[key("+Inf")] == 3
    assert parsed[("hacore_op_seconds_sum", (("action", "start"),))] == pytest.approx(703.3)
    assert parsed[("hacore_op_seconds_count", (("action", "start"),))] == 3


def test_bad_names_labels_and_uses_are_refused():
    """Invalid metric or label names, a duplicate name, wrong labels, a counter going down."""
    r = Registry()
    with pytest.raises(ValueError):
        r.counter("bad-name", "x")
    with pytest.raises(ValueError):
        r.gauge("ok_name", "x", ("le",))
    c = r.counter("hacore_c_total", "x", ("a",))
    with pytest.raises(ValueError):
        r.counter("hacore_c_total", "again")
    with pytest.raises(ValueError, match="takes labels a"):
        c.inc(b="1")
    with pytest.raises(ValueError, match="cannot go down"):
        c.inc(-1, a="1")


def test_parse_refuses_a_malformed_line():
    """A line that is not a sample is a ValueError with its number."""
    with pytest.raises(ValueError, match="line 2"):
        parse_exposition("ok 1\nnot a sample at all\n")
