"""`status` names the files changed inside a modified folder from the manifest it has just
built (from the folder index, from a stamp, or from a rescan) and all three answer alike
(issue 18: the report used to rescan and decode the whole folder on its own)."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

from tests.helpers import git, gitmv

_clock = iter(range(1, 10**6))


def _write(path: Path, data: bytes) -> None:
    """Written with an mtime an hour back (never twice the same): out of the racy window,
    so status may keep its stamp."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = time.time_ns() - 3_600_000_000_000 + next(_clock) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def _files(repo: Path) -> dict[str, list[str]]:
    rows = json.loads(gitmv(repo, "status", "--json").stdout)
    (row,) = [r for r in rows if r["path"] == "d"]
    assert row["state"] == "modified"
    files: dict[str, list[str]] = row["files"]
    return files


def test_the_report_of_a_modified_folder_is_the_same_from_index_stamp_and_rescan(
    repo: Path,
) -> None:
    rng = random.Random(18)
    names = [f"s{i % 5}/f{i:04d}.bin" for i in range(400)]  # > 16 KiB of manifest: bisected
    for name in names:
        _write(repo / "d" / name, rng.randbytes(16))
    gitmv(repo, "add", "d")
    git(repo, "commit", "-qm", "d")
    modified = sorted(rng.sample(names, 7))
    deleted = sorted(rng.sample(sorted(set(names) - set(modified)), 5))
    for name in modified:
        _write(repo / "d" / name, b"changed " + name.encode())
    for name in deleted:
        (repo / "d" / name).unlink()
    added = [*sorted(f"s{i}/new{i}.bin" for i in range(4)), "top.bin"]
    for name in added:
        _write(repo / "d" / name, name.encode())
    os.chmod(repo / "d" / names[-1], 0o755)  # an exec bit alone is a modification
    want = {"added": added, "modified": sorted([*modified, names[-1]]), "deleted": deleted}

    assert _files(repo) == want  # patched from the folder index
    assert _files(repo) == want  # the stamp answers; its manifest is not in the cache
    state = repo / ".git" / "gitmv"
    shutil.rmtree(state / "folders")
    assert _files(repo) == want  # the stamp again, then no index: a rescan
    (state / "state.sqlite").unlink(missing_ok=True)
    assert _files(repo) == want  # nothing remembered at all

    # a second version: diff between commits names the same files
    gitmv(repo, "add", "d")
    git(repo, "commit", "-qm", "d2")
    diff = json.loads(gitmv(repo, "diff", "HEAD~1", "HEAD", "--json").stdout)
    assert diff[0]["files"] == want
