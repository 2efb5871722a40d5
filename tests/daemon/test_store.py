"""The node's durable state file."""

from __future__ import annotations

import os

import pytest

from hacore.daemon.store import MAX_DONE, LocalState, LocalStore, write_atomically
from hacore.errors import InputError


def test_saved_state_reads_back(tmp_path):
    """What was saved is what a restarted daemon loads."""
    store = LocalStore(str(tmp_path / "state"))
    state = LocalState(cluster_version=4, cluster={"services": {"web": {"state": "disabled"}}},
                       done={"c1-1": {"ok": True}}, local={"web": ["a", "b"]})
    store.save(state)
    back = store.load()
    assert back.cluster_version == 4
    assert back.cluster["services"]["web"]["state"] == "disabled"
    assert back.done == {"c1-1": {"ok": True}}
    assert back.local == {"web": ["a", "b"]}
    assert oct(os.stat(store.path).st_mode & 0o777) == "0o600"


def test_missing_file_is_an_empty_state(tmp_path):
    """A node that never ran starts from an empty state."""
    assert LocalStore(str(tmp_path)).load() == LocalState()


def test_corrupt_file_is_named_in_the_error(tmp_path):
    """A damaged state file is refused with its path and what to do."""
    store = LocalStore(str(tmp_path))
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(InputError, match="state.json.*move it away"):
        store.load()


def test_done_ids_are_bounded(tmp_path):
    """Only the newest operation ids are kept, so the file stays small."""
    store = LocalStore(str(tmp_path))
    state = LocalState(done={f"op-{i}": {"ok": True} for i in range(MAX_DONE + 50)})
    store.save(state)
    back = store.load()
    assert len(back.done) == MAX_DONE
    assert f"op-{MAX_DONE + 49}" in back.done and "op-0" not in back.done


def test_atomic_write_leaves_no_temp_file(tmp_path):
    """An atomic write replaces the file and leaves nothing beside it."""
    path = tmp_path / "f.json"
    path.write_text("old")
    write_atomically(str(path), "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
