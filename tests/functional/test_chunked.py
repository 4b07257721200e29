"""Large files stored as chunks (DESIGN 3.1), as a user meets them: push, clone, pull, a
new version, damage on the remote, a push killed half-way."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from gitmv.store import chunking, layout
from gitmv.store.hashing import Oid, hash_bytes
from tests.helpers import assert_clean_error, git, gitmv

CACHE = Path(".git/gitmv/cache")
MIB = 1024 * 1024
SIZE = 24 * MIB
# Finer than the 1 MiB default: at 24 MiB, 1 MiB chunks would make each edited region cost
# a few MiB, and the 1%-change story would measure chunk granularity, not the design.
AVG = 64 * 1024
_UNITS = {"B": 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB}


def project(repo: Path, tmp_path: Path) -> Path:
    """The repository with a folder remote and the chunk size above, committed."""
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    with open(repo / ".gitmv/config.yaml", "a") as f:
        f.write(f"chunking:\n  avg_size: {AVG}\n")
        # the whole-file cache (and its local chunk index) beside chunked remotes, as these
        # stories are about; tests/functional/test_chunked_cache.py has the chunked cache
        f.write("cache:\n  chunked: false\n")
    git(repo, "add", ".gitmv/config.yaml")
    git(repo, "commit", "-qm", "gitmv remote")
    return store


def add_version(repo: Path, data: bytes, message: str) -> Oid:
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", message)
    return hash_bytes(data)


def one_percent_changed(data: bytes) -> bytes:
    """Three regions of 80 KiB rewritten in place (1% of 24 MiB): a fine-tuned layer."""
    out = bytearray(data)
    for n, offset in enumerate((3 * MIB, 11 * MIB + 12345, 20 * MIB + 777)):
        out[offset : offset + 80 * 1024] = random.Random(n).randbytes(80 * 1024)
    return bytes(out)


def store_bytes(store: Path) -> int:
    return sum(
        os.path.getsize(os.path.join(d, name)) for d, _, names in os.walk(store) for name in names
    )


def moved(out: str) -> int:
    """The byte count of `pushed/fetched N objects (12.3 MiB)`, to the 0.1 unit."""
    match = re.search(r"(?:pushed|fetched) \d+ objects? \(([\d.]+) (B|KiB|MiB|GiB)\)", out)
    assert match, out
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def chunk_files(store: Path) -> list[Path]:
    return sorted(p for p in (store / "chunks").rglob("*") if p.is_file())


def clone(repo: Path, where: Path) -> Path:
    git(repo.parent, "clone", "-q", str(repo), str(where))
    return where


def test_a_one_percent_change_moves_about_one_percent(repo: Path, tmp_path: Path) -> None:
    store = project(repo, tmp_path)
    v1 = random.Random(1).randbytes(SIZE)
    first = add_version(repo, v1, "v1")
    out = gitmv(repo, "push").stdout
    assert "pushed 1 object (24.0 MiB)" in out
    assert (store / layout.list_key(first)).is_file()
    assert not (store / layout.object_key(first)).exists()  # chunks, not the whole file
    after_v1 = store_bytes(store)

    v2 = one_percent_changed(v1)
    second = add_version(repo, v2, "v2: fine-tuned")
    out = gitmv(repo, "push").stdout
    uploaded = store_bytes(store) - after_v1
    assert uploaded < SIZE * 0.15, uploaded
    assert abs(moved(out) - uploaded) < 0.1 * MIB  # what push reports is what went up

    other = clone(repo, tmp_path / "clone")
    out = gitmv(other, "pull").stdout
    assert (other / "model.bin").read_bytes() == v2
    assert moved(out) >= SIZE - 0.1 * MIB  # nothing to rebuild from: all of v2
    listed = other / CACHE / chunking.LOCAL_LISTS / layout.list_key(second)
    assert listed.is_file()  # the local chunk index

    out = gitmv(other, "fetch", "--rev", "HEAD~1").stdout
    assert moved(out) < SIZE * 0.15, out  # only the chunks v2 does not share
    gitmv(other, "checkout", "--rev", "HEAD~1", "model.bin", "--force")
    assert (other / "model.bin").read_bytes() == v1
    assert hash_bytes((other / CACHE / layout.object_key(first)).read_bytes()) == first
    assert os.listdir(other / CACHE / "tmp") == []
    assert "all sound" in gitmv(other, "verify", "--remote", "origin", "--deep").stdout


def test_a_corrupt_chunk_on_the_remote_is_refused(repo: Path, tmp_path: Path) -> None:
    store = project(repo, tmp_path)
    oid = add_version(repo, random.Random(2).randbytes(10 * MIB), "v1")
    gitmv(repo, "push")
    victim = chunk_files(store)[7]
    victim.chmod(0o644)
    victim.write_bytes(b"flipped" + victim.read_bytes()[7:])

    other = clone(repo, tmp_path / "clone")
    proc = gitmv(other, "pull", code=1)
    assert "Traceback" not in proc.stderr
    assert str(oid) in proc.stderr and "'origin'" in proc.stderr and "corrupt" in proc.stderr
    assert not (other / CACHE / layout.object_key(oid)).exists()
    assert not (other / "model.bin").exists()
    assert os.listdir(other / CACHE / "tmp") == []

    proc = gitmv(repo, "verify", "--remote", "origin", "--deep", code=1)
    assert f"corrupt: {oid}  model.bin  [remote 'origin'" in proc.stdout
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin").stdout  # the list is there


def test_a_chunk_list_whose_chunks_are_gone_is_a_clean_error(repo: Path, tmp_path: Path) -> None:
    store = project(repo, tmp_path)
    oid = add_version(repo, random.Random(3).randbytes(9 * MIB), "v1")
    gitmv(repo, "push")
    gone = chunk_files(store)[0]
    gone.unlink()
    chunk = Oid("xxh128", gone.parent.name + gone.name)

    other = clone(repo, tmp_path / "clone")
    proc = gitmv(other, "fetch", code=1)
    assert_clean_error(proc)
    assert str(oid) in proc.stderr and str(chunk) in proc.stderr
    assert "missing from remote 'origin'" in proc.stderr
    assert not (other / CACHE / layout.object_key(oid)).exists()

    proc = gitmv(repo, "verify", "--remote", "origin", "--deep", code=1)
    assert f"missing: {oid}  model.bin  [remote 'origin'" in proc.stdout
    gitmv(repo, "push", "--all")  # the list is there: push sees nothing to do ...
    assert not gone.exists()
    (store / layout.list_key(oid)).unlink()  # ... until the damaged list is gone
    gitmv(repo, "push")
    assert gone.exists()
    gitmv(other, "pull")
    assert hash_bytes((other / "model.bin").read_bytes()) == oid


def _kill_when(repo: Path, store: Path, files: int) -> None:
    """Run `gitmv push` and SIGKILL it once the store holds `files` published files (not
    counting temps in its tmp/: a push publishes chunks in batches)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitmv", "push", "--jobs", "4"],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if sum(len(n) for top, _, n in os.walk(store) if Path(top).name != "tmp") >= files:
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_a_chunked_push_killed_half_way_completes_on_the_next_run(
    repo: Path, tmp_path: Path
) -> None:
    store = project(repo, tmp_path)
    oid = add_version(repo, random.Random(4).randbytes(SIZE), "v1")
    half_done = 0
    for files in (1, 60, 200):
        _kill_when(repo, store, files)
        if chunk_files(store) and not (store / layout.list_key(oid)).exists():
            half_done += 1  # chunks there, the list not yet: what a crash leaves
    assert half_done >= 1
    gitmv(repo, "push")
    assert (store / layout.list_key(oid)).is_file()
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin", "--deep").stdout
    # What a killed upload leaves among the chunks, once it is old, gc --remote sweeps.
    leftover = chunk_files(store)[0].with_name(f"cdef.gmvtmp-{os.getpid()}-0bad")
    leftover.write_bytes(b"half a chunk")
    os.utime(leftover, (time.time() - 7200, time.time() - 7200))
    out = gitmv(repo, "gc", "--remote", "origin", "--yes").stdout
    assert "leftover temp file" in out and not leftover.exists()
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "pull")
    assert hash_bytes((other / "model.bin").read_bytes()) == oid
