"""The folder fingerprint from GNU find: stable while nothing changes, new when anything does."""

from __future__ import annotations

import os
from pathlib import Path

from gitmv.workspace import scan


def tree(top: Path, folders: int = 5, files: int = 3) -> None:
    for d in range(folders):
        for f in range(files):
            path = top / f"d{d}" / f"f{f}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * (d + f))


def test_quick_stamp_is_stable_and_sees_a_change_in_any_part(tmp_path: Path) -> None:
    tree(tmp_path / "data")
    first = scan.quick_stamp(tmp_path / "data")
    assert first is not None and first == scan.quick_stamp(tmp_path / "data")
    seen = {first}
    for change in (
        lambda: (tmp_path / "data" / "d4" / "f2.bin").write_bytes(b"changed"),  # last group
        lambda: (tmp_path / "data" / "d0" / "f0.bin").write_bytes(b"changed too"),  # first
        lambda: (tmp_path / "data" / "top.bin").write_bytes(b"new at the top"),
        lambda: os.chmod(tmp_path / "data" / "d2" / "f1.bin", 0o755),
        lambda: (tmp_path / "data" / "d3" / "f0.bin").unlink(),
        lambda: (tmp_path / "data" / "-name").mkdir(),  # a leading dash is no option to find
    ):
        change()
        stamp = scan.quick_stamp(tmp_path / "data")
        assert stamp is not None and stamp not in seen
        seen.add(stamp)


def test_quick_stamp_of_a_wide_or_empty_folder_and_one_with_a_link(tmp_path: Path) -> None:
    wide = tmp_path / "wide"
    wide.mkdir()
    for i in range(600):  # more top-level names than one argument list is given
        (wide / f"-{i}.bin").write_bytes(b"%d" % i)  # a leading dash is no option to find
    before = scan.quick_stamp(wide)
    (wide / "-599.bin").write_bytes(b"other")
    assert before is not None and scan.quick_stamp(wide) not in (None, before)

    (tmp_path / "empty").mkdir()
    assert scan.quick_stamp(tmp_path / "empty") is not None

    tree(tmp_path / "linked", folders=2)
    (tmp_path / "linked" / "d1" / "link").symlink_to(tmp_path / "wide")
    assert scan.quick_stamp(tmp_path / "linked") is None  # left to the walk, which follows it
