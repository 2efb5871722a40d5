"""The start-up clean-up of a cgroup tree that other executors share (one per node daemon
when several run on one host): a group they remove meanwhile is no error."""

from __future__ import annotations

from pathlib import Path

from hacore.executor.cgroups import CgroupTree


def test_a_resource_group_removed_meanwhile_is_skipped(tmp_path, monkeypatch):
    """A resource group that vanishes between the listing and its own scan (another
    helper removed it) is skipped; the other stale groups are still removed."""
    base = tmp_path / "hacore"
    for name in ("r1", "r2", "r3"):
        (base / name / "op-999999999-1").mkdir(parents=True)  # its executor is long gone
    real_iterdir = Path.iterdir

    def racing_iterdir(self):
        if self.name == "r2":  # the other helper's rmdir lands first
            (self / "op-999999999-1").rmdir()
            self.rmdir()
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", racing_iterdir)
    CgroupTree(base).remove_stale_groups()
    monkeypatch.undo()
    assert sorted(p.name for p in base.iterdir()) == []
