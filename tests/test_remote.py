"""The remote object store on every backend: a folder, file://, S3 (moto), GCS (emulator)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitmv.base.config import Config
from gitmv.base.errors import GitmvError, IntegrityError, RemoteError
from gitmv.remotes.folder import FolderRemote
from gitmv.remotes.opener import open_remote, spec_from_config
from gitmv.remotes.options import RemoteSpec
from gitmv.remotes.remote import MissingObject, Remote
from gitmv.remotes.retries import is_transient
from gitmv.store import layout
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid, hash_bytes
from tests.servers import RemoteTarget, Server, closed_port


def make_remote(target: RemoteTarget, name: str = "store") -> Remote:
    return open_remote(RemoteSpec(name, target.url, dict(target.options)))


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def cached(cache: Cache, data: bytes, tmp_path: Path) -> Oid:
    src = tmp_path / f"src-{os.urandom(4).hex()}"
    src.write_bytes(data)
    oid, _ = cache.add_file(src, "xxh128")
    return oid


def test_round_trip_on_every_backend(
    remote_target: RemoteTarget, cache: Cache, tmp_path: Path
) -> None:
    remote = make_remote(remote_target)
    remote.check(write=True)
    payloads = [b"alpha", b"", os.urandom(300_000)]
    oids = [cached(cache, data, tmp_path) for data in payloads]
    absent = hash_bytes(b"never uploaded")
    assert remote.has_many([*oids, absent]) == set()

    seen: list[int] = []
    for oid in oids:
        remote.upload(oid, cache.path(oid), seen.append)
    assert sum(seen) == sum(len(p) for p in payloads)
    assert remote.has_many([*oids, absent]) == set(oids)
    assert sorted(remote.iter_oids()) == sorted(oids)

    for oid, data in zip(oids, payloads, strict=True):
        dest = tmp_path / f"dl-{oid.hex}"
        remote.download(oid, dest)
        assert dest.read_bytes() == data
        with remote.open(oid) as f:
            assert f.read() == data

    remote.delete(oids[:2])
    assert remote.has_many(oids) == {oids[2]}
    with pytest.raises(MissingObject, match=str(oids[0])):
        remote.download(oids[0], tmp_path / "gone")
    assert not (tmp_path / "gone").exists()


def test_has_many_lists_folders_instead_of_asking_per_object(
    remote_target: RemoteTarget, cache: Cache, tmp_path: Path
) -> None:
    remote = make_remote(remote_target)
    remote.check(write=True)
    stored = [cached(cache, f"object {i}".encode(), tmp_path) for i in range(40)]
    for oid in stored:
        remote.upload(oid, cache.path(oid))
    # absent objects both in folders that exist and in folders that do not
    absent = [hash_bytes(f"absent {i}".encode()) for i in range(60)]
    sha = hash_bytes(b"other algorithm", "sha256")
    assert remote.has_many([*stored, *absent, sha]) == set(stored)


class CountingFolder(FolderRemote):
    def __init__(self, root: Path) -> None:
        super().__init__(RemoteSpec("count", str(root)), root)
        self.calls: list[str] = []

    def exists(self, key: str) -> bool:
        self.calls.append("exists")
        return super().exists(key)

    def list_names(self, prefix: str) -> list[str]:
        self.calls.append("list")
        return super().list_names(prefix)


def test_has_many_asks_few_questions(cache: Cache, tmp_path: Path) -> None:
    remote = CountingFolder(tmp_path / "store")
    remote.check(write=True)
    oids = [cached(cache, f"object {i}".encode(), tmp_path) for i in range(300)]
    for oid in oids[:150]:
        remote.upload(oid, cache.path(oid))
    assert remote.has_many(oids) == set(oids[:150])
    folders = {oid.hex[:2] for oid in oids[:150]}
    # never one question per object: the packs/ folder (DESIGN 3.1.1), `xxh128/`, its folders
    assert remote.calls == ["list"] * (2 + len(folders))
    remote.calls.clear()
    assert remote.has_many(oids[:3]) == set(oids[:3])
    assert remote.calls == ["exists"] * 3


def test_has_many_on_a_sparse_remote_asks_about_the_keys_in_folders_that_exist(
    cache: Cache, tmp_path: Path
) -> None:
    """Many keys, few of them in folders the remote has: once `xxh128/` is listed, the keys
    in folders that do not exist are known absent, and the rest are asked about one by one
    when that is no more than listing their folders."""
    remote = CountingFolder(tmp_path / "store")
    remote.check(write=True)
    there = cached(cache, b"the one object", tmp_path)
    remote.upload(there, cache.path(there))
    absent = [hash_bytes(f"absent {i}".encode()) for i in range(120)]
    absent = [oid for oid in absent if oid.hex[:2] != there.hex[:2]]
    assert len(absent) > 64  # more keys than the folders they fall in: a listing first
    assert remote.has_many([there, *absent]) == {there}
    assert remote.calls == ["list", "list", "exists"]  # packs/, xxh128/, the one key


def test_upload_refuses_a_corrupt_cache_object(
    remote_target: RemoteTarget, cache: Cache, tmp_path: Path
) -> None:
    remote = make_remote(remote_target)
    remote.check(write=True)
    oid = cached(cache, b"good bytes", tmp_path)
    path = cache.path(oid)
    os.chmod(path, 0o644)
    path.write_bytes(b"rotten bytes")
    with pytest.raises(IntegrityError, match=str(oid)):
        remote.upload(oid, path)
    assert remote.has_many([oid]) == set()
    assert list(remote.iter_keys("xxh128")) == []


def test_folder_upload_leaves_no_temp_and_never_overwrites(cache: Cache, tmp_path: Path) -> None:
    remote = open_remote(RemoteSpec("f", str(tmp_path / "store")))
    assert isinstance(remote, FolderRemote)
    remote.check(write=True)
    oid = cached(cache, b"payload", tmp_path)
    remote.upload(oid, cache.path(oid))
    final = tmp_path / "store" / layout.object_key(oid)
    before = os.stat(final)
    remote.upload(oid, cache.path(oid))
    assert os.stat(final).st_ino == before.st_ino
    assert os.listdir(final.parent) == [final.name]
    assert not os.access(final, os.W_OK) or os.geteuid() == 0


def test_folder_remote_check(tmp_path: Path) -> None:
    missing = open_remote(RemoteSpec("backup", str(tmp_path / "nope")))
    with pytest.raises(RemoteError, match=r"'backup'.*does not exist"):
        missing.check()
    missing.check(write=True)  # a first push creates the folder
    assert (tmp_path / "nope").is_dir()
    deep = open_remote(RemoteSpec("backup", str(tmp_path / "no" / "such" / "disk")))
    with pytest.raises(RemoteError, match="does not exist") as info:
        deep.check(write=True)
    assert info.value.hint
    (tmp_path / "file").write_text("x")
    with pytest.raises(RemoteError, match="not a folder"):
        open_remote(RemoteSpec("backup", str(tmp_path / "file"))).check()


def test_reads_ask_the_library_how_it_reads_once(moto_server: Server, s3_bucket: str) -> None:
    """Whether s3fs's `cat_file` takes `max_concurrency` is asked once per file system
    class, not on every object read."""
    from gitmv.remotes import fsspec_remote

    url = f"s3://{s3_bucket}/store"
    remote = open_remote(RemoteSpec("s3", url, {"endpoint_url": moto_server.endpoint}))
    fsspec_remote._class_splits_reads.cache_clear()
    payloads = [os.urandom(100 + n) for n in range(5)]
    for n, data in enumerate(payloads):
        remote.put_bytes(f"files/k{n}", data, hash_bytes(data))
    got = [remote.get_bytes(f"files/k{n}") for n in range(5)]
    assert got == payloads
    info = fsspec_remote._class_splits_reads.cache_info()
    assert (info.misses, info.hits) == (1, 4)


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_unreachable_endpoint_fails_within_seconds(scheme: str, aws_env: None) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    options = (
        {"endpoint_url": endpoint, "token": "anon"}
        if scheme == "gs"
        else {"endpoint_url": endpoint}
    )
    remote = open_remote(RemoteSpec("far", f"{scheme}://bucket/x", options))
    start = time.monotonic()
    with pytest.raises(RemoteError, match="cannot reach remote 'far'") as info:
        remote.check()
    assert time.monotonic() - start < 5
    assert info.value.hint


def test_unreachable_default_s3_endpoint_fails_within_seconds(aws_env: None) -> None:
    # No TCP probe here (no endpoint_url): botocore's short timeouts and few retries must
    # do it, and CHECK_TIMEOUT bounds the whole probe whatever the library does.
    options = {"client_kwargs": {"endpoint_url": f"http://127.0.0.1:{closed_port()}"}}
    remote = open_remote(RemoteSpec("far", "s3://bucket/x", options))
    start = time.monotonic()
    with pytest.raises(RemoteError, match="'far'") as info:
        remote.check()
    assert time.monotonic() - start < 10
    assert is_transient(info.value)


def test_missing_bucket_is_named(moto_server: Server, gcs_server: Server) -> None:
    s3 = open_remote(
        RemoteSpec("s3r", "s3://no-such-bucket-x/p", {"endpoint_url": moto_server.endpoint})
    )
    with pytest.raises(RemoteError, match=r"'s3r'.*bucket 'no-such-bucket-x' does not exist"):
        s3.check()
    gcs = open_remote(
        RemoteSpec(
            "gcr", "gs://no-such-bucket-y/p", {"endpoint_url": gcs_server.endpoint, "token": "anon"}
        )
    )
    with pytest.raises(RemoteError, match=r"'gcr'.*bucket 'no-such-bucket-y' does not exist"):
        gcs.check()


def test_bad_option_is_an_error_not_a_crash(moto_server: Server) -> None:
    remote = open_remote(
        RemoteSpec("s3r", "s3://b/p", {"endpoint_url": moto_server.endpoint, "bogus_kw": "1"})
    )
    with pytest.raises(GitmvError, match="'s3r'"):
        remote.check()


def test_errors_never_show_a_secret(moto_server: Server) -> None:
    secret = "Sup3rS3cretValue"
    url = f"http://127.0.0.1:{closed_port()}"
    options = {"endpoint_url": url, "key": "AKIAEXAMPLE", "secret": secret}
    remote = open_remote(RemoteSpec("s3r", "s3://user:pw@bucket/p", options))
    with pytest.raises(RemoteError) as info:
        remote.check()
    text = f"{info.value.message}\n{info.value.hint}"
    assert "'s3r'" in text
    assert secret not in text
    assert "user:pw" not in text


def test_transient_errors_are_told_apart() -> None:
    assert is_transient(ConnectionResetError())
    assert is_transient(TimeoutError())
    wrapped = RemoteError("x")
    wrapped.__cause__ = ConnectionRefusedError()
    assert is_transient(wrapped)
    assert not is_transient(FileNotFoundError("no such bucket"))
    assert not is_transient(PermissionError("denied"))
    assert not is_transient(ValueError("bad"))

    class HttpError(Exception):
        def __init__(self, code: int) -> None:
            self.code = code

    assert is_transient(HttpError(503))
    assert is_transient(HttpError(429))
    assert not is_transient(HttpError(403))
    assert not is_transient(HttpError(404))


def _config(tmp_path: Path, project: str, local: str = "") -> Config:
    root = tmp_path / "root"
    common = root / ".git"
    (root / ".gitmv").mkdir(parents=True, exist_ok=True)
    (common / "gitmv").mkdir(parents=True, exist_ok=True)
    (root / ".gitmv" / "config.yaml").write_text(project)
    if local:
        (common / "gitmv" / "config.yaml").write_text(local)
    return Config(root, common)


def test_spec_from_config_merges_layers_and_aliases(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "core: {remote: origin}\n"
        "remote:\n  origin: {url: ../store, endpointurl: 'http://x', jobs: 3}\n"
        "  s3: {url: 's3://b/p', region: eu-west-1}\n",
        "remote:\n  s3: {secret: hidden}\n",
    )
    spec = spec_from_config(config, None, tmp_path / "root")
    assert spec.name == "origin"
    assert spec.url == str(tmp_path / "store")
    assert spec.options == {"endpoint_url": "http://x", "jobs": 3}
    assert spec.jobs == 3
    s3 = spec_from_config(config, "s3", tmp_path / "root")
    assert s3.options == {"region": "eu-west-1", "secret": "hidden"}
    assert "hidden" not in repr(s3.label)


def test_spec_from_config_names_what_is_wrong(tmp_path: Path) -> None:
    config = _config(tmp_path, "remote:\n  a: {url: /x}\n")
    with pytest.raises(RemoteError, match="no default remote") as info:
        spec_from_config(config, None, tmp_path)
    assert "--default" in (info.value.hint or "")
    with pytest.raises(RemoteError, match="no remote named 'b' \\(configured: a\\)"):
        spec_from_config(config, "b", tmp_path)
    bad = _config(tmp_path, "remote:\n  a: {url: /x, jobs: many}\n")
    with pytest.raises(GitmvError, match="jobs"):
        spec_from_config(bad, "a", tmp_path)
