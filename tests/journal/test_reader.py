"""Reading journals back: several nodes merged, and following new events."""

from hacore.journal import Journal, JournalFollower, Retention, merge, read_journal


class FakeClock:
    """Hands out the given times in turn (the first one is read when the journal opens)."""

    def __init__(self, *times):
        self.times = list(times)

    def __call__(self):
        return self.times.pop(0)


def test_merge_orders_by_time_and_keeps_each_nodes_own_order(tmp_path):
    """Events of two nodes interleave by time; n2's clock stepping back does not reorder
    n2's own events."""
    a, b = tmp_path / "n1", tmp_path / "n2"
    with Journal(a, "n1", clock_fn=FakeClock(0.0, 10.0, 12.0, 14.0)) as j:
        for m in ("a1", "a2", "a3"):
            j.append("admin", m)
    with Journal(b, "n2", clock_fn=FakeClock(0.0, 11.0, 13.0, 12.5)) as j:
        for m in ("b1", "b2", "b3"):
            j.append("admin", m)
    merged = [e.message for e in merge([read_journal(a), read_journal(b)])]
    assert merged == ["a1", "b1", "a2", "b2", "b3", "a3"]


def test_follower_returns_only_new_whole_events_across_rotation(tmp_path):
    """The follower skips what was there, returns what is appended (also in a new segment
    after rotation), and never a line without its newline."""
    retention = Retention(max_bytes=8 * 65536, segment_bytes=65536)
    j = Journal(tmp_path, "n1", retention)
    j.append("admin", "old")
    follower = JournalFollower([tmp_path])
    assert follower.poll() == []
    for i in range(300):
        j.append("admin", f"new {i} " + "x" * 400)
    got = follower.poll()
    assert [e.message.split(" ")[1] for e in got] == [str(i) for i in range(300)]
    partial = j.directory / j._path.name
    with open(partial, "ab") as handle:
        handle.write(b'{"seq":999')
    assert follower.poll() == []
    j.close()
