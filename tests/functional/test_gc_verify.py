"""gc and verify on real repositories: what is kept, what goes, and what is reported."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from gitmv.store import layout
from gitmv.store.hashing import Oid, hash_bytes
from tests.helpers import assert_clean_error, cached_oids, git, gitmv

CACHE = Path(".git/gitmv/cache")


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

    before = cached_oids(repo) | cached_oids(tmp_path / "wt")  # worktrees share the cache
    needed = {tagged, latest, side, detached, staged}
    assert needed | {abandoned} <= before

    out = gitmv(repo, "gc", "--dry-run").stdout
    assert "  m.bin (named by no commit), 24 B\n" in out and "would remove 1 objects" in out
    assert cached_oids(repo) == before and stale.exists()

    out = gitmv(repo, "gc").stdout
    assert "removed 1 objects" in out and "1 leftover temp files" in out
    assert cached_oids(repo) == before - {abandoned}
    assert not stale.exists() and live.exists()


def test_gc_on_a_remote_lists_before_it_deletes(repo: Path, tmp_path: Path) -> None:
    git(repo, "commit", "-q", "--allow-empty", "-m", "start")
    git(repo, "checkout", "-q", "-b", "tmp")
    old = add_commit(repo, "m.bin", b"old", "old")  # only the tag and tmp reach it
    git(repo, "tag", "old")
    git(repo, "checkout", "-q", "main")
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
    git(other, "branch", "-q", "-rd", "origin/tmp")  # now no commit of the clone names it
    (other / ".git/gitmv").mkdir(parents=True, exist_ok=True)
    (other / ".git/gitmv/config.yaml").write_text("gc:\n  remote_grace: 0\n")
    out = gitmv(other, "gc", "--remote", "origin", "--dry-run").stdout
    unknown = f"an object of unknown name ({old.algorithm}:{old.hex[:12]}) (named by no commit)"
    assert (
        f"would delete 1 objects (3 B) that no commit names, older than 0 seconds:\n  {unknown}, 3 B\n"
        in out
    ), out
    assert {p.parent.name + p.name for p in store.rglob("*") if p.is_file()} == on_remote

    out = gitmv(other, "gc", "--remote", "origin", "--yes").stdout
    assert (
        f"deleting 1 objects (3 B) that no commit names, older than 0 seconds:\n  {unknown}" in out
    )
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

    path = repo / CACHE / layout.object_key(model)
    os.chmod(path, 0o644)
    path.write_bytes(b"bit rot")
    proc = gitmv(repo, "verify", code=1)
    assert_clean_error(proc)
    assert f"corrupt: {model}  model.bin  [cache]" in proc.stdout

    x = hash_bytes(b"x")
    os.unlink(store / layout.object_key(x))
    (store / layout.object_key(model)).chmod(0o644)
    (store / layout.object_key(model)).write_bytes(b"rotten on the remote")
    proc = gitmv(repo, "verify", "--remote", "origin", code=1)
    assert f"missing: {x}  {os.path.join('data', 'x.txt')}  [remote 'origin'" in proc.stdout
    assert f"{model}  model.bin  [remote" not in proc.stdout  # present; only --deep re-hashes
    proc = gitmv(repo, "verify", "--remote", "origin", "--deep", code=1)
    assert f"corrupt: {model}  model.bin  [remote 'origin'" in proc.stdout
    assert "3 problems found" in proc.stderr

    proc = gitmv(repo, "verify", "--deep", code=2)
    assert "--remote" in proc.stderr


# -- chunked objects (DESIGN 3.1) ------------------------------------------------------------

MIB = 1024 * 1024


def chunked_project(repo: Path, tmp_path: Path) -> Path:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    with open(repo / ".gitmv/config.yaml", "a") as f:
        f.write("chunking:\n  min_size: 1048576\n  avg_size: 65536\ngc:\n  remote_grace: 0\n")
    git(repo, "commit", "-qam", "remote")
    return store


def forget_branch(repo: Path, branch: str) -> None:
    """Delete the branch and expire every reflog: then no commit names its versions."""
    git(repo, "branch", "-q", "-D", branch)
    git(repo, "reflog", "expire", "--expire=now", "--all")


def chunks_on(store: Path) -> set[str]:
    return {p.parent.name + p.name for p in (store / "chunks").rglob("*") if p.is_file()}


def list_of(store: Path, oid: Oid) -> set[str]:
    from gitmv.store import chunking

    data = (store / layout.list_key(oid)).read_bytes()
    return {c.oid.hex for c in chunking.decode_list(data, "list")}


def test_gc_on_a_remote_keeps_the_chunks_kept_objects_are_made_of(
    repo: Path, tmp_path: Path
) -> None:
    from gitmv.store import chunking

    store = chunked_project(repo, tmp_path)
    base = random.Random(1).randbytes(3 * MIB)
    tagged = add_commit(repo, "m.bin", base, "v1")
    git(repo, "tag", "v1")
    gitmv(repo, "push")
    git(repo, "checkout", "-q", "-b", "tmp")
    dropped = add_commit(
        repo, "m.bin", base[:MIB] + random.Random(2).randbytes(MIB) + base[2 * MIB :], "v2"
    )
    gitmv(repo, "push")
    git(repo, "checkout", "-q", "main")
    latest = add_commit(repo, "m.bin", base[: 2 * MIB] + random.Random(3).randbytes(MIB), "v3")
    gitmv(repo, "push")
    forget_branch(repo, "tmp")  # now no commit names v2
    own = list_of(store, dropped) - list_of(store, tagged) - list_of(store, latest)
    assert own and chunks_on(store) == list_of(store, tagged) | list_of(store, latest) | own
    local_lists = repo / CACHE / chunking.LOCAL_LISTS
    assert (local_lists / layout.list_key(dropped)).exists()

    out = gitmv(repo, "gc", "--remote", "origin", "--dry-run").stdout
    assert "would delete 1 objects (3.0 MiB)" in out, out
    unknown = f"an object of unknown name ({dropped.algorithm}:{dropped.hex[:12]})"
    assert f"  {unknown} (named by no commit), 3.0 MiB\n  {len(own)} chunks" in out, out
    assert len(chunks_on(store)) == len(list_of(store, tagged) | list_of(store, latest) | own)

    out = gitmv(repo, "gc", "--remote", "origin", "--yes").stdout
    assert f"deleted 1 objects and {len(own)} chunks" in out
    assert not (store / layout.list_key(dropped)).exists()
    assert chunks_on(store) == list_of(store, tagged) | list_of(store, latest)
    assert not (local_lists / layout.list_key(dropped)).exists()  # the local index, too
    assert (local_lists / layout.list_key(latest)).exists()
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin", "--deep").stdout
    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    gitmv(other, "pull")
    gitmv(other, "fetch", "--rev", "v1")
    gitmv(other, "checkout", "--rev", "v1", "--force")
    assert (other / "m.bin").read_bytes() == base


def test_gc_deletes_no_chunk_while_a_kept_chunk_list_is_unreadable(
    repo: Path, tmp_path: Path
) -> None:

    store = chunked_project(repo, tmp_path)
    git(repo, "checkout", "-q", "-b", "tmp")
    old = add_commit(repo, "m.bin", random.Random(4).randbytes(2 * MIB), "old")
    gitmv(repo, "push")
    git(repo, "checkout", "-q", "main")
    kept = add_commit(repo, "m.bin", random.Random(5).randbytes(2 * MIB), "new")
    gitmv(repo, "push")
    forget_branch(repo, "tmp")
    before = chunks_on(store)
    path = store / layout.list_key(kept)
    path.chmod(0o644)
    path.write_bytes(b"not a chunk list")

    proc = gitmv(repo, "gc", "--remote", "origin", "--yes")
    assert f"{kept} is needed but its manifest or chunk list cannot be read" in proc.stderr
    assert not (store / layout.list_key(old)).exists()  # the unneeded list still goes
    assert chunks_on(store) == before


def test_verify_reads_chunked_objects_back_whole(repo: Path, tmp_path: Path) -> None:

    store = chunked_project(repo, tmp_path)
    oid = add_commit(repo, "m.bin", random.Random(6).randbytes(2 * MIB), "m")
    gitmv(repo, "push")
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin", "--deep").stdout
    chunks = sorted((store / "chunks").rglob("*"))
    victim = next(p for p in chunks if p.is_file())
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes()[::-1])  # the same size, other bytes
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin").stdout  # the list is there
    proc = gitmv(repo, "verify", "--remote", "origin", "--deep", code=1)
    assert f"corrupt: {oid}  m.bin  [remote 'origin'" in proc.stdout

    victim.unlink()
    proc = gitmv(repo, "verify", "--remote", "origin", "--deep", code=1)
    assert f"missing: {oid}  m.bin  [remote 'origin'" in proc.stdout
    (store / layout.list_key(oid)).unlink()
    proc = gitmv(repo, "verify", "--remote", "origin", code=1)
    assert f"missing: {oid}  m.bin  [remote 'origin'" in proc.stdout
