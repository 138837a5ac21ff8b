"""Staging files: the order of the system calls stage() guesses never changes what it finds or writes."""

from __future__ import annotations

import os
from pathlib import Path

from newsletter.write import TEMP_PREFIX, Staging, stage


def _temps(folder: Path) -> list[str]:
    return [name for _, _, files in os.walk(folder) for name in files if name.startswith(TEMP_PREFIX)]


def test_a_folder_there_already_after_new_ones_beside_it_is_compared_with(tmp_path: Path) -> None:
    public = tmp_path / "public"
    (public / "kept").mkdir(parents=True)
    (public / "kept" / "index.html").write_bytes(b"same")
    (public / "changed").mkdir()
    (public / "changed" / "index.html").write_bytes(b"old")
    staging = Staging()
    # New folders first: stage() then guesses that the next folder beside them is new too.
    assert staging.stage(public / "new-1" / "index.html", "one")
    assert staging.stage(public / "new-2" / "deeper" / "index.html", b"two")
    assert not staging.stage(public / "kept" / "index.html", "same"), "unchanged bytes are left alone"
    assert staging.stage(public / "new-3" / "index.html", "three")
    assert staging.stage(public / "changed" / "index.html", "new")
    assert sorted(Path(target).relative_to(public).as_posix() for target in staging.commit()) == [
        "changed/index.html",
        "new-1/index.html",
        "new-2/deeper/index.html",
        "new-3/index.html",
    ]
    assert (public / "new-2" / "deeper" / "index.html").read_bytes() == b"two"
    assert (public / "kept" / "index.html").read_bytes() == b"same"
    assert (public / "changed" / "index.html").read_bytes() == b"new"
    assert _temps(tmp_path) == []


def test_a_whole_file_is_staged_whatever_its_size(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    temp = stage(tmp_path / "a" / "big.bin", data)
    assert temp is not None
    assert Path(temp).read_bytes() == data
    assert stage(tmp_path / "a" / "big.bin", data) is not None, "not there yet: only the temporary file is"


def test_a_failed_commit_puts_back_old_files_and_removes_new_ones(tmp_path: Path) -> None:
    """Files staged in folders the run made keep no backup (none can be there): a rollback still removes them."""
    from newsletter.write import _staged_new

    public = tmp_path / "public"
    (public / "changed").mkdir(parents=True)
    (public / "changed" / "index.html").write_bytes(b"old")
    staging = Staging()
    assert staging.stage(public / "new-1" / "index.html", "one")
    assert staging.stage(public / "changed" / "index.html", "new")
    assert staging.stage(public / "new-2" / "index.html", "two")
    assert [_staged_new(temp) for temp, _target in staging.files] == [True, False, True]
    (public / "new-2" / "index.html").mkdir()  # in the way: the third file cannot be put in place
    try:
        staging.commit()
    except OSError:
        pass
    else:
        raise AssertionError("the commit should have failed")
    assert (public / "changed" / "index.html").read_bytes() == b"old"
    assert not (public / "new-1" / "index.html").exists()
    assert _temps(tmp_path) == []
