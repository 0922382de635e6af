"""Atomic outputs: all or nothing, with the permissions of an ordinary file."""

import os
import stat

import pytest

from omnifuse.utils.atomic import atomic_dir, atomic_file


def test_atomic_file_replaces_only_on_success_and_respects_umask(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as handle:
            handle.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and len(list(tmp_path.iterdir())) == 1
    old = os.umask(0o022)
    try:
        with atomic_file(target) as handle:
            handle.write("new")
        with atomic_dir(tmp_path / "folder") as folder:
            (folder / "a.txt").write_text("a")
    finally:
        os.umask(old)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o755
