"""gc and verify on real repositories: what is kept, what goes, and what is reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gitmv.hashing import Oid, hash_bytes
from tests.helpers import assert_clean_error, git, gitmv

CACHE = Path(".git/gitmv/cache")


def cached(repo: Path) -> set[Oid]:
    found = set()
    for dirpath, _, names in os.walk(repo / CACHE / "xxh128"):
        for name in names:
            found.add(Oid("xxh128", Path(dirpath).name + name))
    return found


def add_commit(repo: Path, name: str, data: bytes, message: str) -> Oid:
    (repo / name).write_bytes(data)
    gitmv(repo, "add", name)
    git(repo, "commit", "-qm", message)
    return hash_bytes(data)


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    return int(proc.stdout)


def test_gc_keeps_what_any_ref_worktree_or_index_needs(repo: Path, tmp_path: Path) -> None:
    tagged = add_commit(repo, "m.bin", b"v1", "v1")
    git(repo, "tag", "t1")
    latest = add_commit(repo, "m.bin", b"v2", "v2")
    git(repo, "checkout", "-q", "-b", "side")
    side = add_commit(repo, "side.bin", b"side branch only", "side")
    git(repo, "checkout", "-q", "main")
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt"))
    detached = add_commit(tmp_path / "wt", "w.bin", b"detached worktree HEAD only", "wt")
    (repo / "staged.bin").write_bytes(b"staged, never committed")
    gitmv(repo, "add", "staged.bin")
    staged = hash_bytes(b"staged, never committed")
    (repo / "m.bin").write_bytes(b"v3, added then abandoned")
    gitmv(repo, "add", "m.bin")
    abandoned = hash_bytes(b"v3, added then abandoned")
    git(repo, "checkout", "-q", "HEAD", "--", "m.bin.gmv")  # back to v2: v3 is garbage
    (repo / CACHE / "tmp").mkdir(exist_ok=True)
    stale = repo / CACHE / "tmp" / f"dl.gmvtmp-{dead_pid()}-0bad"
    stale.write_bytes(b"half a download")
    live = repo / CACHE / "tmp" / f"dl.gmvtmp-{os.getpid()}-0ace"
    live.write_bytes(b"a download in progress")

    before = cached(repo) | cached(tmp_path / "wt")  # worktrees share the cache
    needed = {tagged, latest, side, detached, staged}
    assert needed | {abandoned} <= before

    out = gitmv(repo, "gc", "--dry-run").stdout
    assert str(abandoned) in out and "would remove 1 objects" in out
    assert cached(repo) == before and stale.exists()

    out = gitmv(repo, "gc").stdout
    assert "removed 1 objects" in out and "1 leftover temp files" in out
    assert cached(repo) == before - {abandoned}
    assert not stale.exists() and live.exists()


def test_gc_on_a_remote_lists_before_it_deletes(repo: Path, tmp_path: Path) -> None:
    old = add_commit(repo, "m.bin", b"old", "old")
    git(repo, "tag", "old")
    (repo / "data").mkdir()
    (repo / "data/a.txt").write_bytes(b"a")
    (repo / "data/b.txt").write_bytes(b"b")
    gitmv(repo, "add", "data")
    new = add_commit(repo, "m.bin", b"new", "new")
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    git(repo, "commit", "-qam", "remote")
    gitmv(repo, "push", "--all")
    on_remote = {p.parent.name + p.name for p in store.rglob("*") if p.is_file()}
    assert len(on_remote) == 5  # old, new, the manifest and its two files

    # a clone with an empty cache must still see the directory's files as needed
    git(repo, "clone", "-q", str(repo), str(tmp_path / "clone"))
    other = tmp_path / "clone"
    git(other, "tag", "-d", "old")
    out = gitmv(other, "gc", "--remote", "origin", "--dry-run").stdout
    assert f"would delete 1 objects:\n  {old}\n" in out
    assert {p.parent.name + p.name for p in store.rglob("*") if p.is_file()} == on_remote

    out = gitmv(other, "gc", "--remote", "origin").stdout
    assert f"deleting 1 objects:\n  {old}\n" in out
    left = {p.parent.name + p.name for p in store.rglob("*") if p.is_file()}
    assert left == on_remote - {old.hex}
    assert new.hex in left
    gitmv(other, "pull")
    assert (other / "data/b.txt").read_bytes() == b"b"


def test_verify_reports_each_corrupt_or_missing_object(repo: Path, tmp_path: Path) -> None:
    model = add_commit(repo, "model.bin", b"weights", "model")
    (repo / "data").mkdir()
    (repo / "data/x.txt").write_bytes(b"x")
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qm", "data")
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    git(repo, "commit", "-qam", "remote")
    gitmv(repo, "push")
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin", "--deep").stdout

    path = repo / CACHE / model.relpath
    os.chmod(path, 0o644)
    path.write_bytes(b"bit rot")
    proc = gitmv(repo, "verify", code=1)
    assert_clean_error(proc)
    assert f"corrupt: {model}  model.bin  [cache]" in proc.stdout

    x = hash_bytes(b"x")
    os.unlink(store / x.relpath)
    (store / model.relpath).chmod(0o644)
    (store / model.relpath).write_bytes(b"rotten on the remote")
    proc = gitmv(repo, "verify", "--remote", "origin", code=1)
    assert f"missing: {x}  {os.path.join('data', 'x.txt')}  [remote 'origin'" in proc.stdout
    assert f"{model}  model.bin  [remote" not in proc.stdout  # present; only --deep re-hashes
    proc = gitmv(repo, "verify", "--remote", "origin", "--deep", code=1)
    assert f"corrupt: {model}  model.bin  [remote 'origin'" in proc.stdout
    assert "3 problems found" in proc.stderr

    proc = gitmv(repo, "verify", "--deep", code=2)
    assert "--remote" in proc.stderr
