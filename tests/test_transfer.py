"""Push and fetch planning: manifests, skipping, integrity, concurrency, retries, aborts."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from gitmv import manifest
from gitmv.cache import Cache
from gitmv.errors import RemoteError
from gitmv.hashing import Oid
from gitmv.pointer import Pointer
from gitmv.remote import FolderRemote, OnBytes, Remote, RemoteSpec, open_remote
from gitmv.transfer import TransferResult, _retry, fetch, push
from tests.servers import RemoteTarget, Server, closed_port, s3_put


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
    assert push(here, remote, pointers.items()).ok
    bad = pointers["a.bin"].oid
    s3_put(moto_server, s3_bucket, f"x/{bad.relpath}", b"evil" * 100)

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
    assert len(delays) == 3  # then it gives up


def test_not_pushed_names_the_artifacts_the_remote_lacks(repo: Path, tmp_path: Path) -> None:
    from gitmv.repo import Repo
    from gitmv.transfer import not_pushed
    from gitmv.workspace import collect
    from tests.helpers import gitmv

    (repo / "a.bin").write_bytes(b"a")
    (repo / "d").mkdir()
    (repo / "d/x.txt").write_bytes(b"x")
    gitmv(repo, "add", "a.bin", "d")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    opened = Repo.open(repo)
    pointers = dict(collect(opened))
    (tmp_path / "store").mkdir()
    assert not_pushed(opened, None, pointers) == {"a.bin", "d"}
    gitmv(repo, "push", "d")
    assert not_pushed(opened, "origin", pointers) == {"a.bin"}
    gitmv(repo, "push")
    assert not_pushed(opened, None, pointers) == set()
