"""store/objects.py: the one folder object store, under the cache and under the folder remote.

The contract runs against the store each of them holds (`Cache.objects`,
`FolderRemote.objects`): the same test, both. Then what the folder remote gains from it,
observed on real processes: its publishes are fsynced (seen with strace, unless
`core.fsync: false`), and a push sweeps the stale temp files a killed push left there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitmv.base import atomic
from gitmv.remotes.folder import FolderRemote
from gitmv.remotes.opener import open_remote
from gitmv.remotes.options import RemoteSpec
from gitmv.store.cache import Cache
from gitmv.store.hashing import hash_bytes
from gitmv.store.layout import chunk_key, list_key, object_key
from gitmv.store.objects import TMP, FolderStore
from tests.helpers import git, gitmv


def _cache_store(root: Path) -> FolderStore:
    return Cache(root).objects


def _remote_store(root: Path) -> FolderStore:
    remote = open_remote(RemoteSpec("origin", str(root)))
    assert isinstance(remote, FolderRemote)
    return remote.objects


STORES: dict[str, Callable[[Path], FolderStore]] = {
    "cache": _cache_store,
    "folder remote": _remote_store,
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FolderStore:
    made: FolderStore = STORES[request.param](tmp_path / "objects")
    return made


def writer(data: bytes) -> Callable[[int], int]:
    def fill(fd: int) -> int:
        os.write(fd, data)
        return len(data)

    return fill


def temps_left(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if atomic.is_temp_name(p.name)]


# -- the contract, on both --------------------------------------------------------------------


def test_a_put_object_is_whole_read_only_and_readable_every_way(
    store: FolderStore, tmp_path: Path
) -> None:
    data = b"weights " * 1000
    key = object_key(hash_bytes(data))

    assert not store.has(key)
    assert store.put(key, writer(data)) == len(data)

    assert store.has(key) and store.has_many([key, "xxh128/00/absent"]) == {key}
    assert store.read(key) == data
    with store.open(key) as f:
        assert f.read() == data
    store.get(key, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == data
    assert (store.root / key).stat().st_mode & 0o777 == 0o444
    assert list(store.iter_keys("xxh128")) == [key]
    [stat] = store.iter_stats("xxh128")
    assert (stat.key, stat.size) == (key, len(data)) and stat.mtime is not None
    assert store.list_names(key.rsplit("/", 1)[0]) == [key.rsplit("/", 1)[1]]
    assert temps_left(store.root) == []


def test_an_object_is_never_overwritten(store: FolderStore) -> None:
    data = b"the first bytes"
    key = object_key(hash_bytes(data))
    store.put(key, writer(data))

    tmp, _ = store.write_temp(writer(b"other bytes under the same name"))

    assert store.publish(tmp, key) is False
    assert store.read(key) == data
    assert not os.path.exists(tmp) and temps_left(store.root) == []


def test_a_failed_write_leaves_neither_object_nor_temp(store: FolderStore) -> None:
    key = object_key(hash_bytes(b"never"))

    def failing(fd: int) -> int:
        os.write(fd, b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        store.put(key, failing)

    assert not store.has(key)
    assert temps_left(store.root) == []


def test_listing_names_objects_chunks_and_lists_but_never_temps(store: FolderStore) -> None:
    whole, chunk, listed = b"whole", b"a chunk", b"a chunk list"
    keys = {
        object_key(hash_bytes(whole)): whole,
        chunk_key(hash_bytes(chunk)): chunk,
        list_key(hash_bytes(b"big")): listed,
    }
    for key, data in keys.items():
        store.put(key, writer(data))
    # a temp file beside an object, as earlier versions of the folder remote wrote them
    beside = store.root / f"{object_key(hash_bytes(whole))}.gmvtmp-1-ab0"
    beside.write_bytes(b"half")

    found = {*store.iter_keys("xxh128"), *store.iter_keys("chunks")}

    assert found == set(keys)
    assert {s.key for s in store.iter_stats("xxh128")} == found - {chunk_key(hash_bytes(chunk))}


def test_delete_removes_and_forgives_the_absent(store: FolderStore) -> None:
    keys = [object_key(hash_bytes(bytes([i]))) for i in range(3)]
    for i, key in enumerate(keys):
        store.put(key, writer(bytes([i])))

    store.delete([keys[0], keys[2], "xxh128/00/never-there"])

    assert store.has_many(keys) == {keys[1]}


def test_the_cache_and_the_folder_remote_lay_an_object_out_alike(tmp_path: Path) -> None:
    data = b"one object, two homes"
    oid = hash_bytes(data)
    cache = Cache(tmp_path / "cache")
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "remote")))

    cache.add_small(data, oid.algorithm)
    remote.put_bytes(object_key(oid), data, oid)

    for root in (tmp_path / "cache", tmp_path / "remote"):
        assert (root / object_key(oid)).read_bytes() == data
        assert os.listdir(root / TMP) == []  # written in tmp/, renamed into place


def test_the_folder_remote_names_an_object_only_once_its_batch_is_durable(tmp_path: Path) -> None:
    data = b"a small object, published with its batch"
    oid = hash_bytes(data)
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "remote")))
    final = tmp_path / "remote" / object_key(oid)

    with remote.batch():
        remote.put_bytes(object_key(oid), data, oid)

        assert not final.exists()  # a power cut now leaves a temp file, never a name
        assert len(os.listdir(tmp_path / "remote" / TMP)) == 1
    assert final.read_bytes() == data and os.listdir(tmp_path / "remote" / TMP) == []


# -- which temp files are abandoned --------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=-1)
    return int(proc.stdout)


def _temp(root: Path, pid: int, age: float) -> Path:
    path = root / TMP / f"obj.gmvtmp-{pid}-{os.urandom(4).hex()}0"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half an object")
    os.utime(path, (time.time() - age, time.time() - age))
    return path


DAY = atomic.ABANDONED_AGE


def test_the_cache_sweeps_a_dead_writers_temp_at_once(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    dead = _temp(cache.root, _dead_pid(), 0)
    live = _temp(cache.root, os.getpid(), 0)

    cache.add_small(b"x", "xxh128")  # the first write of a process sweeps

    assert not dead.exists() and live.exists()


def test_the_folder_remote_judges_a_temp_by_its_age_alone(tmp_path: Path) -> None:
    """Another machine may push to the same folder: a pid dead here may live there."""
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "remote")))
    assert isinstance(remote, FolderRemote)
    fresh_dead = _temp(remote.root, _dead_pid(), 60)
    stale_live = _temp(remote.root, os.getpid(), DAY + 60)

    remote.put_bytes(object_key(hash_bytes(b"x")), b"x", hash_bytes(b"x"))

    assert fresh_dead.exists() and not stale_live.exists()


# -- the folder remote, as a user pushes to it ------------------------------------------------------


def _pushing_repo(repo: Path, store: Path, data: bytes, fsync: bool = True) -> None:
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    if not fsync:
        (repo / ".git/gitmv/config.yaml").write_text("core:\n  fsync: false\n")
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "v1")


def test_a_push_sweeps_the_remotes_stale_temps_and_keeps_fresh_ones(
    repo: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    _pushing_repo(repo, store, os.urandom(50_000))
    # what killed pushes left: one two days ago, one a minute ago (perhaps still running
    # on another machine, whatever its pid says here)
    stale = _temp(store, os.getpid(), 2 * DAY)
    fresh = _temp(store, _dead_pid(), 60)

    gitmv(repo, "push")

    assert not stale.exists()
    assert fresh.exists()
    assert hash_bytes((repo / "model.bin").read_bytes()) in {
        hash_bytes(p.read_bytes()) for p in (store / "xxh128").rglob("*") if p.is_file()
    }


def _strace_works() -> bool:
    strace = shutil.which("strace")
    if strace is None:
        return False
    probe = subprocess.run([strace, "-f", "-o", os.devnull, "true"], capture_output=True)
    return probe.returncode == 0


def _fsyncs_under(repo: Path, folder: Path, log: Path) -> list[str]:
    """Run `gitmv push` under strace: the fsync/fdatasync/syncfs calls on files or folders
    below `folder` (`-y` prints the path each descriptor is open on)."""
    strace = shutil.which("strace")
    assert strace is not None
    traced = [strace, "-f", "-y", "-e", "trace=fsync,fdatasync,syncfs", "-o", str(log)]
    proc = subprocess.run(
        [*traced, sys.executable, "-m", "gitmv", "push"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    real = os.path.realpath(folder)
    calls = re.findall(r"(?:f(?:data)?sync|syncfs)\(\d+<([^>]*)>\) = 0", log.read_text())
    return [path for path in calls if path == real or path.startswith(real + "/")]


@pytest.mark.skipif(not _strace_works(), reason="needs strace, allowed to trace")
def test_the_folder_remote_fsyncs_what_it_publishes_unless_told_not_to(
    repo: Path, tmp_path: Path
) -> None:
    data = os.urandom(50_000)
    store = tmp_path / "store"
    _pushing_repo(repo, store, data)

    synced = _fsyncs_under(repo, store, tmp_path / "strace.log")

    real = os.path.realpath(store)
    # objects are published in batches: one syncfs of the store's file system makes the
    # bytes of the batch durable before the renames, a second one the renames
    assert synced.count(real) >= 2, synced
    assert (store / object_key(hash_bytes(data))).read_bytes() == data

    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    gitmv(other, "init", "--no-hooks")
    _pushing_repo(other, tmp_path / "store2", data, fsync=False)

    assert _fsyncs_under(other, tmp_path / "store2", tmp_path / "strace2.log") == []
