"""Push and fetch planning: manifests, skipping, integrity, concurrency, retries, aborts."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gitmv.base.errors import IntegrityError, RemoteError
from gitmv.remotes.folder import FolderRemote
from gitmv.remotes.opener import open_remote
from gitmv.remotes.options import RemoteSpec
from gitmv.remotes.remote import OnBytes, Remote
from gitmv.store import chunking, layout, manifest
from gitmv.store.cache import Cache
from gitmv.store.chunking import Settings
from gitmv.store.hashing import Oid
from gitmv.store.packs import PackSettings
from gitmv.store.pointer import Pointer
from gitmv.transfer import engine as transfer
from gitmv.transfer.engine import TransferResult, fetch
from gitmv.transfer.workers import DEFAULT_POLICY
from gitmv.transfer.workers import retry as _retry
from tests.servers import RemoteTarget, Server, closed_port, s3_put


def push(*args: Any, **kwargs: Any) -> TransferResult:
    """The engine's push with loose objects (unless told): these tests look at and spoil
    objects by their loose keys. Packs have their own tests (functional/test_packs.py)."""
    kwargs.setdefault("pack", PackSettings(max_object=0))
    return transfer.push(*args, **kwargs)


class Counter:
    """A progress sink that adds everything up, from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.planned_objects = self.planned_bytes = self.nbytes = self.objects = 0

    def start(self, objects: int, nbytes: int) -> None:
        with self.lock:
            self.planned_objects += objects
            self.planned_bytes += nbytes

    def advance(self, nbytes: int) -> None:
        with self.lock:
            self.nbytes += nbytes

    def object_done(self) -> None:
        with self.lock:
            self.objects += 1


def add_file(cache: Cache, tmp_path: Path, data: bytes) -> Pointer:
    src = tmp_path / f"src-{os.urandom(4).hex()}"
    src.write_bytes(data)
    oid, size = cache.add_file(src, "xxh128")
    return Pointer(oid, size, "file")


def add_dir(cache: Cache, tmp_path: Path, files: dict[str, bytes]) -> Pointer:
    entries = []
    for path, data in files.items():
        p = add_file(cache, tmp_path, data)
        entries.append(manifest.ManifestEntry(path, p.oid, p.size))
    oid = cache.add_small(manifest.encode(entries), "xxh128")
    return Pointer(oid, sum(len(d) for d in files.values()), "dir", len(files))


def workspace(cache: Cache, tmp_path: Path) -> dict[str, Pointer]:
    files = {f"part/{i:03d}.bin": f"file {i}".encode() * 50 for i in range(60)}
    files["same-as-model.bin"] = b"model bytes" * 1000  # shared with the file artifact
    return {
        "model.bin": add_file(cache, tmp_path, b"model bytes" * 1000),
        "data": add_dir(cache, tmp_path, files),
        "empty": add_dir(cache, tmp_path, {}),
    }


def all_oids(cache: Cache) -> set[Oid]:
    return set(cache.iter_oids())


def test_push_then_fetch_into_an_empty_cache(remote_target: RemoteTarget, tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    pointers = workspace(here, tmp_path)
    remote = open_remote(RemoteSpec("origin", remote_target.url, dict(remote_target.options)))
    progress = Counter()

    result = push(here, remote, pointers.items(), jobs=4, progress=progress)
    assert result.ok, result
    objects = all_oids(here)
    assert result.transferred == len(objects) == 63  # 60 parts, the model, 2 manifests
    assert progress.objects == progress.planned_objects == result.transferred
    assert progress.nbytes == progress.planned_bytes == result.nbytes
    assert set(remote.iter_oids()) == objects

    again = push(here, remote, pointers.items())
    assert (again.transferred, again.skipped, again.failed) == (0, 3, ())

    there = Cache(tmp_path / "there")
    progress = Counter()
    got = fetch(there, remote, pointers.items(), jobs=4, progress=progress)
    assert got.ok, got
    assert got.transferred == len(objects)
    assert progress.objects == progress.planned_objects == got.transferred
    assert progress.nbytes == progress.planned_bytes == got.nbytes
    assert all_oids(there) == objects
    for oid in objects:
        assert there.read_bytes(oid) == here.read_bytes(oid)
    assert os.listdir(there.root / "tmp") == []


def test_fetch_of_what_the_cache_has_never_contacts_the_remote(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    pointers = workspace(cache, tmp_path)
    offline = open_remote(
        RemoteSpec("far", "s3://bucket/p", {"endpoint_url": f"http://127.0.0.1:{closed_port()}"})
    )
    result = fetch(cache, offline, pointers.items())
    assert result.ok
    assert (result.transferred, result.skipped) == (0, 63)


def test_a_directory_manifest_is_pushed_only_after_all_its_files(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    pointers = workspace(cache, tmp_path)
    lost = manifest.decode(cache.read_bytes(pointers["data"].oid), "m")[5]
    cache.remove(lost.oid)
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))

    result = push(cache, remote, pointers.items())
    assert not result.ok
    assert [(f.oid, f.path) for f in result.failed] == [(lost.oid, f"data/{lost.path}")]
    assert "not in the cache" in result.failed[0].reason
    on_remote = set(remote.iter_oids())
    assert pointers["data"].oid not in on_remote  # its files are not all there
    assert pointers["model.bin"].oid in on_remote
    assert len(on_remote) == 63 - 2


def test_a_corrupt_remote_object_never_enters_the_cache(
    tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    here = Cache(tmp_path / "here")
    pointers = {"a.bin": add_file(here, tmp_path, b"good" * 100)}
    pointers["b.bin"] = add_file(here, tmp_path, b"fine" * 100)
    remote = open_remote(
        RemoteSpec("origin", f"s3://{s3_bucket}/x", {"endpoint_url": moto_server.endpoint})
    )
    loose = PackSettings(max_object=0)  # a loose object to spoil (packs: test_packs.py)
    assert push(here, remote, pointers.items(), pack=loose).ok
    bad = pointers["a.bin"].oid
    s3_put(moto_server, s3_bucket, f"x/{layout.object_key(bad)}", b"evil" * 100)

    there = Cache(tmp_path / "there")
    result = fetch(there, remote, pointers.items())
    assert [f.oid for f in result.failed] == [bad]
    reason = result.failed[0].reason
    assert str(bad) in reason and "'origin'" in reason and "corrupt" in reason
    assert not there.has(bad)
    assert there.has(pointers["b.bin"].oid)
    assert os.listdir(there.root / "tmp") == []


def test_an_object_missing_from_the_remote_is_reported(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    pointers = {"a.bin": add_file(here, tmp_path, b"a"), "b.bin": add_file(here, tmp_path, b"b")}
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    assert push(here, remote, pointers.items()).ok
    remote.delete([pointers["a.bin"].oid])
    there = Cache(tmp_path / "there")
    result = fetch(there, remote, pointers.items())
    assert [(f.path, f.oid) for f in result.failed] == [("a.bin", pointers["a.bin"].oid)]
    assert "missing from remote 'origin'" in result.failed[0].reason
    assert result.transferred == 1


class SlowFolder(FolderRemote):
    """Counts how many uploads run at once, and can fail like a remote that went away."""

    def __init__(self, root: Path, fail_after: int | None = None) -> None:
        super().__init__(RemoteSpec("slow", str(root)), root)
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.calls = 0
        self.fail_after = fail_after

    def put_file(self, key: str, src: Path, expected: Oid, on_bytes: OnBytes | None = None) -> None:
        with self.lock:
            self.calls += 1
            if self.fail_after is not None and self.calls > self.fail_after:
                raise RemoteError("remote 'slow' stopped answering")
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(0.01)
            super().put_file(key, src, expected, on_bytes)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_transfers_run_jobs_at_once(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    pointers = {f"f{i}": add_file(cache, tmp_path, f"{i}".encode()) for i in range(40)}
    remote = SlowFolder(tmp_path / "store")
    assert push(cache, remote, pointers.items(), jobs=5).ok
    assert remote.peak == 5


def test_a_remote_that_goes_away_stops_the_transfer(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    pointers = {f"f{i}": add_file(cache, tmp_path, f"{i}".encode()) for i in range(200)}
    remote: Remote = SlowFolder(tmp_path / "store", fail_after=10)
    result: TransferResult = push(cache, remote, pointers.items(), jobs=2)
    assert result.aborted is not None and "stopped answering" in result.aborted
    assert result.transferred == 10
    assert remote.calls < 20  # the rest were never tried  # type: ignore[attr-defined]


def test_retry_backs_off_on_transient_errors_only() -> None:
    delays: list[float] = []
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionResetError("reset by peer")
        return "done"

    assert _retry(flaky, sleep=delays.append) == "done"
    assert len(delays) == 2 and delays[1] > delays[0] * 0.5 and all(d > 0 for d in delays)

    def denied() -> None:
        attempts.append(1)
        raise PermissionError("denied")

    attempts.clear()
    with pytest.raises(PermissionError):
        _retry(denied, sleep=delays.append)
    assert len(attempts) == 1

    def down() -> None:
        raise ConnectionRefusedError()

    delays.clear()
    with pytest.raises(ConnectionRefusedError):
        _retry(down, sleep=delays.append)
    assert len(delays) == DEFAULT_POLICY.retries  # then it gives up


def test_not_pushed_names_the_artifacts_the_remote_lacks(repo: Path, tmp_path: Path) -> None:
    from gitmv.ops.session import open_session
    from gitmv.repo.context import Repo
    from gitmv.repo.pointers import collect
    from gitmv.transfer.engine import not_pushed
    from tests.helpers import gitmv

    (repo / "a.bin").write_bytes(b"a")
    (repo / "d").mkdir()
    (repo / "d/x.txt").write_bytes(b"x")
    gitmv(repo, "add", "a.bin", "d")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    opened = Repo.open(repo)
    pointers = dict(collect(opened))
    (tmp_path / "store").mkdir()
    assert not_pushed(open_session(opened, None).remote, pointers) == {"a.bin", "d"}
    gitmv(repo, "push", "d")
    assert not_pushed(open_session(opened, "origin").remote, pointers) == {"a.bin"}
    gitmv(repo, "push")
    assert not_pushed(open_session(opened, None).remote, pointers) == set()


# -- chunked objects (DESIGN 3.1) ------------------------------------------------------------

SMALL_CHUNKS = Settings(min_size=256 * 1024, avg_size=64 * 1024)


def edited(data: bytes, *regions: int) -> bytes:
    """`data` with 2,000 bytes overwritten at each offset: an in-place change, same size."""
    out = bytearray(data)
    for offset in regions:
        out[offset : offset + 2000] = random.Random(offset).randbytes(2000)
    return bytes(out)


def keys_under(remote: Remote, prefix: str) -> set[str]:
    return set(remote.iter_keys(prefix))


def test_a_large_file_goes_up_as_chunks_and_comes_back_whole(
    remote_target: RemoteTarget, tmp_path: Path
) -> None:
    here = Cache(tmp_path / "here")
    v1 = random.Random(1).randbytes(2 * 1024 * 1024)
    pointers = {
        "model.bin": add_file(here, tmp_path, v1),
        "small.txt": add_file(here, tmp_path, b"s"),
    }
    oid = pointers["model.bin"].oid
    remote = open_remote(RemoteSpec("origin", remote_target.url, dict(remote_target.options)))
    progress = Counter()

    loose = PackSettings(max_object=0)  # chunks loose, to list them (packs: test_packs.py)
    result = push(
        here, remote, pointers.items(), progress=progress, settings=SMALL_CHUNKS, pack=loose
    )
    assert result.ok, result
    assert result.transferred == 2
    listed = chunking.decode_list(remote.get_bytes(layout.list_key(oid)), "list", len(v1))
    assert len(listed) > 8
    assert keys_under(remote, "chunks") == {layout.chunk_key(c.oid) for c in listed}
    assert not remote.exists(layout.object_key(oid))  # chunked, not whole
    list_bytes = len(chunking.encode_list(listed))
    assert result.nbytes == len(v1) + 1 + list_bytes
    assert progress.nbytes == progress.planned_bytes == result.nbytes
    assert progress.objects == progress.planned_objects == 2
    assert transfer.present(remote, [oid]) == {oid}

    again = push(here, remote, pointers.items(), settings=SMALL_CHUNKS)
    assert (again.transferred, again.skipped, again.nbytes) == (0, 2, 0)

    there = Cache(tmp_path / "there")
    progress = Counter()
    got = fetch(there, remote, pointers.items(), jobs=4, progress=progress)
    assert got.ok, got
    assert got.transferred == 2 and got.nbytes == len(v1) + 1
    assert progress.nbytes == progress.planned_bytes and progress.objects == 2
    assert there.read_bytes(oid) == v1
    assert chunking.load_local_list(there, oid, len(v1)) == listed  # the local index
    assert os.listdir(there.root / "tmp") == []


def test_a_new_version_moves_only_the_chunks_that_changed(
    remote_target: RemoteTarget, tmp_path: Path
) -> None:
    if remote_target.kind in ("file-url", "memory"):
        pytest.skip("the folder and object-store cases cover this")
    here = Cache(tmp_path / "here")
    v1 = random.Random(2).randbytes(4 * 1024 * 1024)
    v2 = edited(v1, 100_000, 2_000_000, 3_500_000)
    p1, p2 = add_file(here, tmp_path, v1), add_file(here, tmp_path, v2)
    remote = open_remote(RemoteSpec("origin", remote_target.url, dict(remote_target.options)))
    assert push(here, remote, [("m.bin", p1)], settings=SMALL_CHUNKS).ok

    up = push(here, remote, [("m.bin", p2)], settings=SMALL_CHUNKS)
    assert up.ok and up.transferred == 1
    assert up.nbytes < len(v2) * 0.15, up.nbytes

    there = Cache(tmp_path / "there")
    assert fetch(there, remote, [("m.bin", p2)]).nbytes == len(v2)
    down = fetch(there, remote, [("m.bin", p1)])  # v1, next to v2 in the cache
    assert down.ok and down.transferred == 1
    assert down.nbytes < len(v1) * 0.15, down.nbytes
    assert there.read_bytes(p1.oid) == v1


def test_versions_fetched_together_share_their_chunk_downloads(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    v1 = random.Random(3).randbytes(2 * 1024 * 1024)
    v2 = edited(v1, 1_000_000)
    pointers = [("a.bin", add_file(here, tmp_path, v1)), ("b.bin", add_file(here, tmp_path, v2))]
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    pushed = push(here, remote, pointers, settings=SMALL_CHUNKS)
    assert pushed.ok and pushed.nbytes < len(v1) * 1.15  # the shared chunks went up once

    there = Cache(tmp_path / "there")
    got = fetch(there, remote, pointers)
    assert got.ok and got.transferred == 2
    assert got.nbytes < len(v1) * 1.15
    assert there.read_bytes(pointers[1][1].oid) == v2


def test_either_form_of_an_object_counts_as_present(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    big = add_file(here, tmp_path, random.Random(4).randbytes(300_000))
    small = add_file(here, tmp_path, b"whole")
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    assert push(here, remote, [("big", big), ("small", small)], settings=SMALL_CHUNKS).ok
    assert transfer.stored(remote, [big.oid, small.oid]) == ({small.oid}, {big.oid})
    # A clone with a higher threshold still sees the chunked object as pushed.
    again = push(here, remote, [("big", big)], settings=Settings())
    assert (again.transferred, again.skipped) == (0, 1)


class FailingChunk(FolderRemote):
    """Refuses to store one chunk, the way a remote that fills up or denies a key would."""

    def __init__(self, root: Path, bad_key: str | None) -> None:
        super().__init__(RemoteSpec("origin", str(root)), root)
        self.bad_key = bad_key
        self.put: list[str] = []

    def put_bytes(self, key: str, data: bytes, expected: Oid) -> None:
        if key == self.bad_key:
            raise IntegrityError(f"refusing {key}")
        self.put.append(key)
        super().put_bytes(key, data, expected)


def test_a_chunk_list_goes_up_only_after_all_its_chunks(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    data = random.Random(5).randbytes(1024 * 1024)
    p = add_file(here, tmp_path, data)
    chunks = chunking.cut(here.path(p.oid), SMALL_CHUNKS.avg_size, "xxh128")
    bad = layout.chunk_key(chunks[3].oid)
    remote = FailingChunk(tmp_path / "store", bad)

    result = push(here, remote, [("m.bin", p)], settings=SMALL_CHUNKS)
    assert [(f.oid, f.path) for f in result.failed] == [(p.oid, "m.bin")]
    assert "stored as chunks" in result.failed[0].reason and "refusing" in result.failed[0].reason
    assert not remote.exists(layout.list_key(p.oid))
    assert len(remote.put) == len(chunks) - 1

    healed = FailingChunk(tmp_path / "store", None)
    again = push(here, healed, [("m.bin", p)], settings=SMALL_CHUNKS)
    assert again.ok
    assert healed.put == [bad, layout.list_key(p.oid)]  # only what was missing, list last


def test_a_corrupt_cache_file_is_never_pushed_as_chunks(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    p = add_file(here, tmp_path, random.Random(6).randbytes(600_000))
    os.chmod(here.path(p.oid), 0o644)
    with open(here.path(p.oid), "r+b") as f:
        f.seek(300_000)
        f.write(b"bit rot")
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    result = push(here, remote, [("m.bin", p)], settings=SMALL_CHUNKS)
    assert [f.oid for f in result.failed] == [p.oid]
    assert "corrupt" in result.failed[0].reason
    assert keys_under(remote, "chunks") == set() and transfer.present(remote, [p.oid]) == set()


def test_a_corrupt_chunk_on_the_remote_never_enters_the_cache(
    tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    here = Cache(tmp_path / "here")
    good = random.Random(7).randbytes(700_000)
    pointers = [("a.bin", add_file(here, tmp_path, good))]
    pointers.append(("b.bin", add_file(here, tmp_path, random.Random(8).randbytes(500_000))))
    remote = open_remote(
        RemoteSpec("origin", f"s3://{s3_bucket}/x", {"endpoint_url": moto_server.endpoint})
    )
    assert push(here, remote, pointers, settings=SMALL_CHUNKS).ok
    oid = pointers[0][1].oid
    victim = chunking.cut(here.path(oid), SMALL_CHUNKS.avg_size, "xxh128")[2]
    s3_put(moto_server, s3_bucket, f"x/{layout.chunk_key(victim.oid)}", b"evil" * 1000)

    there = Cache(tmp_path / "there")
    result = fetch(there, remote, pointers)
    assert [(f.oid, f.path) for f in result.failed] == [(oid, "a.bin")]
    reason = result.failed[0].reason
    assert str(victim.oid) in reason and "'origin'" in reason and "corrupt" in reason
    assert not there.has(oid) and there.has(pointers[1][1].oid)
    assert os.listdir(there.root / "tmp") == []
    assert list(chunking.local_lists(there)) == [pointers[1][1].oid]


def test_a_chunk_list_whose_chunk_is_gone_fails_that_object_only(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    p = add_file(here, tmp_path, random.Random(9).randbytes(400_000))
    other = add_file(here, tmp_path, random.Random(10).randbytes(400_000))
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    assert push(here, remote, [("a", p), ("b", other)], settings=SMALL_CHUNKS).ok
    first = chunking.cut(here.path(p.oid), SMALL_CHUNKS.avg_size, "xxh128")[0]
    remote.delete_keys([layout.chunk_key(first.oid)])

    there = Cache(tmp_path / "there")
    result = fetch(there, remote, [("a", p), ("b", other)])
    assert [(f.oid, f.path) for f in result.failed] == [(p.oid, "a")]
    assert "missing from remote 'origin'" in result.failed[0].reason
    assert str(first.oid) in result.failed[0].reason
    assert result.transferred == 1 and not there.has(p.oid)
    assert os.listdir(there.root / "tmp") == []


def test_the_package_list_a_pointer_names_goes_up_with_it(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    packages = here.add_small(b"numpy==2.0.0\n", "xxh128")
    model = add_file(here, tmp_path, b"weights")
    with_meta = Pointer(model.oid, model.size, "file", meta={"env": {"packages": str(packages)}})
    lost = Pointer(model.oid, model.size, "file", meta={"env": {"packages": "xxh128:" + "0" * 32}})
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    result = push(here, remote, [("m.bin", with_meta)])
    assert result.ok and result.transferred == 2
    assert set(remote.iter_oids()) == {model.oid, packages}
    # A package list nobody has (a pointer written before lists were pushed) fails nothing.
    assert push(here, remote, [("m.bin", lost)]).ok
    # Fetching a pointer does not fetch its package list: that is read on demand.
    there = Cache(tmp_path / "there")
    assert fetch(there, remote, [("m.bin", with_meta)]).transferred == 1


class WatchingTemps(FolderRemote):
    """Notes, at every chunk download, how many files the fetching cache has in its tmp."""

    def __init__(self, root: Path, watched: Path) -> None:
        super().__init__(RemoteSpec("origin", str(root)), root)
        self.watched = watched
        self.seen: list[int] = []

    def get_bytes(self, key: str) -> bytes:
        if key.startswith("chunks/"):
            self.seen.append(len(os.listdir(self.watched)) if self.watched.exists() else 0)
        return super().get_bytes(key)


def test_chunked_objects_are_rebuilt_one_at_a_time(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    pointers = [
        (f"part-{i}.bin", add_file(here, tmp_path, random.Random(20 + i).randbytes(300_000)))
        for i in range(5)
    ]
    plain = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    assert push(here, plain, pointers, settings=SMALL_CHUNKS).ok
    there = Cache(tmp_path / "there")
    remote = WatchingTemps(tmp_path / "store", there.root / "tmp")
    result = fetch(there, remote, pointers, jobs=4)
    assert result.ok and result.transferred == 5
    assert remote.seen and max(remote.seen) == 1  # one temp file open at a time, never five
    assert os.listdir(there.root / "tmp") == []
    for _, p in pointers:
        assert there.read_bytes(p.oid) == here.read_bytes(p.oid)


def test_a_chunk_that_repeats_in_a_file_is_downloaded_once(tmp_path: Path) -> None:
    here = Cache(tmp_path / "here")
    block = random.Random(30).randbytes(200_000)
    data = block * 8 + random.Random(31).randbytes(100_000)  # the same chunks, again and again
    p = add_file(here, tmp_path, data)
    remote = open_remote(RemoteSpec("origin", str(tmp_path / "store")))
    pushed = push(here, remote, [("m.bin", p)], settings=SMALL_CHUNKS)
    assert pushed.ok and pushed.nbytes < len(data) / 2  # the repeats went up once
    there = Cache(tmp_path / "there")
    got = fetch(there, remote, [("m.bin", p)])
    assert got.ok and got.transferred == 1
    assert got.nbytes < pushed.nbytes  # each distinct chunk came down once (list aside)
    assert there.read_bytes(p.oid) == data
