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


def test_reading_after_a_seq_skips_the_segments_that_end_before_it(tmp_path):
    """With 5 segments, after=seq of the 4th segment's middle reads only the last two files
    and yields exactly the later events; after=0 reads everything."""
    from hacore.journal import compose
    from hacore.journal.reader import ReadStats
    from hacore.journal.writer import MIN_SEGMENT, segment_paths

    journal = Journal(tmp_path, "n1", Retention(max_bytes=100 * MIN_SEGMENT,
                                                segment_bytes=MIN_SEGMENT))
    total = 0
    while len(segment_paths(tmp_path)) < 5:
        journal.append(**compose.admin("hacore service enable web " + "x" * 200))
        total += 1
    journal.close()
    paths = segment_paths(tmp_path)
    fourth_first = int(paths[3].name[7:19])
    fifth_first = int(paths[4].name[7:19])
    after = (fourth_first + fifth_first) // 2
    stats = ReadStats()
    got = [e.seq for e in read_journal(tmp_path, stats, after=after)]
    assert got == list(range(after + 1, total + 1))
    assert stats.files == [str(p) for p in paths[3:]]
    assert [e.seq for e in read_journal(tmp_path)] == list(range(1, total + 1))
