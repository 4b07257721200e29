"""The chunked local cache (`cache.chunked`, DESIGN 3.1.1): a large file kept as its chunks
plus a chunk list, so that versions sharing most bytes share them on disk; every reader
accepts either form, and a damaged chunk never reaches the work tree."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from gitmv.store import layout
from gitmv.store.hashing import Oid, hash_bytes
from tests.helpers import assert_clean_error, git, gitmv

CACHE = Path(".git/gitmv/cache")
MIB = 1024 * 1024
SIZE = 8 * MIB
AVG = 64 * 1024  # fine chunks: a 1% change then costs ~1%, not a few 1 MiB chunks


def project(repo: Path, tmp_path: Path, chunked: bool) -> Path:
    """A folder remote, small chunks, files of 1 MiB or more chunked; `cache.chunked` set."""
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    with open(repo / ".gitmv/config.yaml", "a") as f:
        f.write(f"chunking:\n  avg_size: {AVG}\n  min_size: {MIB}\n")
        f.write(f"cache:\n  chunked: {'true' if chunked else 'false'}\n")
    git(repo, "add", ".gitmv/config.yaml")
    git(repo, "commit", "-qm", "gitmv remote")
    return store


def set_chunked(repo: Path, on: bool) -> None:
    gitmv(repo, "config", "cache.chunked", "true" if on else "false")
    git(repo, "commit", "-qam", f"cache.chunked {on}")


def add_version(repo: Path, data: bytes, message: str) -> Oid:
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", message)
    return hash_bytes(data)


def one_percent_changed(data: bytes, seed: int = 0) -> bytes:
    """One region of 1% of the file rewritten in place: a fine-tuned layer."""
    out = bytearray(data)
    n = len(data) // 100
    offset = random.Random(seed).randrange(0, len(data) - n)
    out[offset : offset + n] = random.Random(seed + 100).randbytes(n)
    return bytes(out)


def whole(repo: Path, oid: Oid) -> Path:
    return repo / CACHE / layout.object_key(oid)


def chunk_list(repo: Path, oid: Oid) -> Path:
    return repo / CACHE / layout.list_key(oid)


def du(folder: Path) -> int:
    """Disk use in bytes, as `du` counts it (blocks, each inode once)."""
    out = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) * 1024


def chunk_files(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / CACHE / "chunks").rglob("*") if p.is_file())


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "whole"])
def test_round_trip_add_checkout_push_pull(repo: Path, tmp_path: Path, chunked: bool) -> None:
    project(repo, tmp_path, chunked)
    v1 = random.Random(1).randbytes(SIZE)
    v2 = one_percent_changed(v1)
    first = add_version(repo, v1, "v1")
    assert chunk_list(repo, first).is_file() is chunked
    assert whole(repo, first).is_file() is not chunked
    second = add_version(repo, v2, "v2")
    gitmv(repo, "push", "--all")
    gitmv(repo, "checkout", "--rev", "HEAD~1", "model.bin", "--force")
    assert (repo / "model.bin").read_bytes() == v1
    gitmv(repo, "checkout", "model.bin", "--force")
    assert (repo / "model.bin").read_bytes() == v2
    assert "model.bin" not in gitmv(repo, "status").stdout.replace("up to date", "")

    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    gitmv(other, "pull")
    assert (other / "model.bin").read_bytes() == v2
    assert chunk_list(other, second).is_file() is chunked
    assert whole(other, second).is_file() is not chunked
    gitmv(other, "fetch", "--rev", "HEAD~1")  # only v1's changed chunks come down
    gitmv(other, "checkout", "--rev", "HEAD~1", "model.bin", "--force")
    assert (other / "model.bin").read_bytes() == v1
    verified = gitmv(other, "verify")
    assert "corrupt" not in verified.stdout + verified.stderr


def test_versions_share_their_bytes_on_disk(repo: Path, tmp_path: Path) -> None:
    project(repo, tmp_path, chunked=True)
    v1 = random.Random(2).randbytes(SIZE)
    add_version(repo, v1, "v1")
    one = du(repo / CACHE)
    add_version(repo, one_percent_changed(v1), "v2")
    two = du(repo / CACHE)
    # the second version costs its changed chunks (~1% plus a chunk at each edge), not 8 MiB
    assert two < one * 1.05, (one, two)
    assert one < SIZE * 1.1, one


def test_a_whole_file_cache_holds_each_version_whole(repo: Path, tmp_path: Path) -> None:
    """The contrast to the test above, so its bound says something: off, it is 2x."""
    project(repo, tmp_path, chunked=False)
    v1 = random.Random(2).randbytes(SIZE)
    add_version(repo, v1, "v1")
    add_version(repo, one_percent_changed(v1), "v2")
    assert du(repo / CACHE) > 2 * SIZE * 0.95


def test_a_corrupt_chunk_never_reaches_the_work_tree(repo: Path, tmp_path: Path) -> None:
    project(repo, tmp_path, chunked=True)
    data = random.Random(3).randbytes(SIZE)
    oid = add_version(repo, data, "v1")
    gitmv(repo, "push")
    victim = chunk_files(repo)[5]
    os.chmod(victim, 0o644)
    damaged = bytearray(victim.read_bytes())
    damaged[10] ^= 0xFF
    victim.write_bytes(bytes(damaged))
    chunk = f"xxh128:{victim.parent.name}{victim.name}"
    (repo / "model.bin").unlink()

    proc = gitmv(repo, "checkout", "model.bin", code=None)
    assert_clean_error(proc)
    assert chunk in proc.stderr and str(oid) in proc.stderr, proc.stderr
    assert "gitmv fetch" in proc.stderr, proc.stderr
    assert not (repo / "model.bin").exists()
    assert sorted(p.name for p in repo.iterdir() if p.name.startswith("model.bin")) == [
        "model.bin.gmv"
    ]  # no partial file beside it
    assert not victim.exists()  # moved to quarantine, with the list: the object is missing

    gitmv(repo, "fetch")
    gitmv(repo, "checkout", "model.bin")
    assert (repo / "model.bin").read_bytes() == data
    assert chunk_list(repo, oid).is_file() and victim.is_file()


def test_a_missing_chunk_is_named_and_fetched_again(repo: Path, tmp_path: Path) -> None:
    project(repo, tmp_path, chunked=True)
    data = random.Random(4).randbytes(SIZE)
    oid = add_version(repo, data, "v1")
    gitmv(repo, "push")
    victim = chunk_files(repo)[-1]
    victim.unlink()
    (repo / "model.bin").unlink()
    proc = gitmv(repo, "checkout", "model.bin", code=None)
    assert_clean_error(proc)
    assert f"xxh128:{victim.parent.name}{victim.name}" in proc.stderr
    assert str(oid) in proc.stderr
    gitmv(repo, "pull")
    assert (repo / "model.bin").read_bytes() == data


def test_switching_the_key_keeps_every_version_readable(repo: Path, tmp_path: Path) -> None:
    project(repo, tmp_path, chunked=False)
    v1 = random.Random(5).randbytes(SIZE)
    v2 = one_percent_changed(v1, 1)
    v3 = one_percent_changed(v2, 2)
    o1 = add_version(repo, v1, "v1")  # whole
    set_chunked(repo, True)
    o2 = add_version(repo, v2, "v2")  # chunked, beside a whole version
    assert whole(repo, o1).is_file() and chunk_list(repo, o2).is_file()
    assert not whole(repo, o2).exists()
    set_chunked(repo, False)
    o3 = add_version(repo, v3, "v3")  # whole again
    assert whole(repo, o3).is_file()
    for rev, data in (("HEAD~4", v1), ("HEAD~2", v2), ("HEAD", v3)):
        gitmv(repo, "checkout", "--rev", rev, "model.bin", "--force")
        assert (repo / "model.bin").read_bytes() == data, rev
    assert gitmv(repo, "verify").returncode == 0
    # pushed and pulled into a clone that keeps whole files: all three come back
    gitmv(repo, "push", "--all")
    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    gitmv(other, "pull")
    gitmv(other, "fetch", "--rev", "HEAD~2")
    gitmv(other, "checkout", "--rev", "HEAD~2", "model.bin", "--force")
    assert (other / "model.bin").read_bytes() == v2


def test_gc_keeps_the_chunks_a_kept_list_names(repo: Path, tmp_path: Path) -> None:
    project(repo, tmp_path, chunked=True)
    v1 = random.Random(6).randbytes(SIZE)
    o1 = add_version(repo, v1, "v1")
    v2 = one_percent_changed(v1)
    (repo / "model.bin").write_bytes(v2)
    gitmv(repo, "add", "model.bin")
    o2 = hash_bytes(v2)
    git(repo, "commit", "-q", "--amend", "-m", "v2 replaces v1")  # v1 named by the reflog only
    git(repo, "reflog", "expire", "--expire=now", "--all")
    before = set(chunk_files(repo))
    old = 0.0  # the chunks are made older than gc's grace for chunks a fetch is writing
    for p in before:
        os.utime(p, (old, old))
    gitmv(repo, "gc")
    assert not chunk_list(repo, o1).exists()
    after = set(chunk_files(repo))
    assert after < before  # v1's own chunks went
    gitmv(repo, "checkout", "model.bin", "--force")
    assert (repo / "model.bin").read_bytes() == v2
    assert chunk_list(repo, o2).is_file()


def test_push_sends_the_cached_chunks_without_cutting_again(repo: Path, tmp_path: Path) -> None:
    store = project(repo, tmp_path, chunked=True)
    data = random.Random(7).randbytes(SIZE)
    oid = add_version(repo, data, "v1")
    gitmv(repo, "push")
    # the remote's list is the cache's own, byte for byte; nothing was cut for the push,
    # so no local chunk index of a whole object was written
    assert (store / layout.list_key(oid)).read_bytes() == chunk_list(repo, oid).read_bytes()
    assert not (repo / CACHE / "chunk-lists").exists()
    other = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    gitmv(other, "pull")
    assert (other / "model.bin").read_bytes() == data
