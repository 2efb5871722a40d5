"""The journal on disk: sequence numbers, torn lines, rotation and retention."""

import os

import pytest

from hacore.errors import InputError
from hacore.journal import Journal, Retention, read_journal, segment_paths
from hacore.journal.event import MAX_LINE
from hacore.journal.reader import ReadStats

SMALL = Retention(max_bytes=4 * 65536, segment_bytes=65536)


def dir_bytes(path):
    return sum(p.stat().st_size for p in path.iterdir())


def test_seq_grows_by_one_and_continues_after_reopen(tmp_path):
    """seq counts 1, 2, 3 and a reopened journal goes on from the last event."""
    with Journal(tmp_path, "n1") as j:
        assert [j.append("admin", f"m{i}").seq for i in range(3)] == [1, 2, 3]
    with Journal(tmp_path, "n1") as j:
        assert j.append("admin", "again").seq == 4
    assert [e.seq for e in read_journal(tmp_path)] == [1, 2, 3, 4]


def test_event_round_trips_through_the_file(tmp_path):
    """What append returns is exactly what the reader gives back."""
    with Journal(tmp_path, "n1") as j:
        written = j.append("operation", "start of web/vip succeeded in 0.10 s", service="web",
                           fields={"action": "start", "duration": 0.1, "result": "succeeded"})
    (read,) = list(read_journal(tmp_path))
    assert read.to_dict() == written.to_dict()


def test_a_torn_last_line_is_skipped_then_cut_off(tmp_path):
    """A half-written last line is skipped by the reader and removed when the journal reopens,
    so the next event starts on its own line with the next seq."""
    with Journal(tmp_path, "n1") as j:
        j.append("admin", "one")
        j.append("admin", "two")
    (segment,) = segment_paths(tmp_path)
    with open(segment, "ab") as handle:
        handle.write(b'{"seq":3,"time":1.0,"node":"n1","kind":"adm')
    stats = ReadStats()
    assert [e.message for e in read_journal(tmp_path, stats)] == ["one", "two"]
    assert stats.skipped == 1
    with Journal(tmp_path, "n1") as j:
        assert j.append("admin", "three").seq == 3
    assert [e.message for e in read_journal(tmp_path)] == ["one", "two", "three"]
    assert segment.read_bytes().endswith(b"\n")


def test_a_damaged_line_in_the_middle_is_skipped(tmp_path):
    """A line that is not JSON is skipped and counted; the events around it are read."""
    with Journal(tmp_path, "n1") as j:
        j.append("admin", "one")
    (segment,) = segment_paths(tmp_path)
    with open(segment, "ab") as handle:
        handle.write(b"garbage\n")
    with Journal(tmp_path, "n1") as j:
        j.append("admin", "two")
    stats = ReadStats()
    assert [e.message for e in read_journal(tmp_path, stats)] == ["one", "two"]
    assert stats.skipped == 1


def test_rotation_and_retention_bound_the_disk_use(tmp_path):
    """Writing 20x the limit rotates segments and removes the oldest: the directory never
    holds more than max_bytes, and the newest events are all kept in order."""
    with Journal(tmp_path, "n1", SMALL) as j:
        for i in range(4000):
            j.append("operation", f"event {i} " + "x" * 300)
            if i % 500 == 0:
                assert dir_bytes(tmp_path) <= SMALL.max_bytes
        last = j.seq
    assert dir_bytes(tmp_path) <= SMALL.max_bytes
    assert len(segment_paths(tmp_path)) >= 3
    seqs = [e.seq for e in read_journal(tmp_path)]
    assert seqs == list(range(seqs[0], last + 1))
    assert seqs[0] > 1


def test_a_huge_event_is_cut_to_a_bounded_line(tmp_path):
    """A message or fields too large are cut, so one line never exceeds MAX_LINE bytes."""
    with Journal(tmp_path, "n1", SMALL) as j:
        j.append("admin", "m" * 100000, fields={"blob": "b" * 100000})
    (segment,) = segment_paths(tmp_path)
    assert segment.stat().st_size <= MAX_LINE
    (event,) = list(read_journal(tmp_path))
    assert event.fields == {"truncated": True}


def test_segments_older_than_max_age_are_removed(tmp_path):
    """Closed segments whose last write is older than max_age are removed at open."""
    with Journal(tmp_path, "n1", SMALL) as j:
        for i in range(400):
            j.append("admin", f"event {i} " + "x" * 300)
    segments = segment_paths(tmp_path)
    assert len(segments) >= 2
    old = segments[0]
    os.utime(old, (1, 1))
    Journal(tmp_path, "n1", SMALL).close()
    assert not old.exists()
    assert segments[-1].exists()


def test_unknown_kind_and_bad_retention_are_refused():
    """An unknown kind, or a retention that cannot hold two segments, is an InputError."""
    with pytest.raises(InputError, match="segment_bytes"):
        Retention(max_bytes=100000, segment_bytes=65536)
    with pytest.raises(InputError, match="max_age"):
        Retention(max_age=0)


def test_unknown_kind_is_refused(tmp_path):
    """append refuses a kind outside KINDS, naming the valid ones."""
    with Journal(tmp_path, "n1") as j, pytest.raises(InputError, match="membership"):
        j.append("gossip", "hello")
