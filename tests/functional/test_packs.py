"""Packs on remotes (DESIGN 3.1.1): round trips on folder, S3 and GCS; a remote holding
loose, chunked and packed objects reads alike; a killed pack upload leaves no index; a
remote of an unknown format is refused; a corrupt pack member is refused."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gitmv.store import layout, packs
from gitmv.store.hashing import hash_bytes, hash_file
from tests.functional.test_push_pull import (
    CACHE,
    _count_files,
    _kill_when,
    assert_same_files,
    clone,
    make_files,
)
from tests.helpers import assert_clean_error, git, gitmv
from tests.servers import Server

CHUNKED = "chunking:\n  min_size: 600000\n  avg_size: 65536\n"  # model.bin is cut


def configure(repo: Path, text: str) -> None:
    with open(repo / ".gitmv/config.yaml", "a") as f:
        f.write(text)


def project(repo: Path, tag: str, n: int = 60) -> dict[str, bytes]:
    """A chunked model, a small model and a folder of small files, committed."""
    files = {
        "model.bin": os.urandom(900_000),
        "small.bin": os.urandom(30_000),
        **{f"data/{i % 4}/{i}.txt": f"{tag} row {i}\n".encode() * 9 for i in range(n)},
    }
    make_files(repo, files)
    gitmv(repo, "add", "model.bin", "small.bin", "data")
    git(repo, "commit", "-qam", tag)
    return files


def pack_members(store: Path) -> dict[str, bytes]:
    """Every member of every indexed pack in a folder store, read through its index: each
    index has its pack, and each member hashes to the name it is filed under."""
    members: dict[str, bytes] = {}
    for idx in sorted((store / packs.PACKS_DIR).glob(f"*{packs.INDEX_SUFFIX}")):
        ident = idx.name.removesuffix(packs.INDEX_SUFFIX)
        body = (store / packs.pack_key(ident)).read_bytes()  # an index never lacks its pack
        assert packs.pack_id(body) == ident
        for e in packs.decode_index(idx.read_bytes(), str(idx)):
            data = body[e.offset : e.offset + e.size]
            assert len(data) == e.size
            named = layout.parse_object_key(e.key)
            oid = layout.parse_chunk_key(e.key) if named is None else named.oid
            assert oid is not None, e.key
            if named is None or not named.chunk_list:
                assert hash_bytes(data, oid.algorithm) == oid, e.key
            members[e.key] = data
    return members


@pytest.fixture(params=["folder", "s3", "gcs"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, list[str]]:
    """A remote URL and its `--option` arguments, on each kind of store."""
    if request.param == "folder":
        return str(tmp_path / "store"), []
    if request.param == "s3":
        server: Server = request.getfixturevalue("moto_server")
        bucket = request.getfixturevalue("s3_bucket")
        return f"s3://{bucket}/store", ["--option", f"endpoint_url={server.endpoint}"]
    server = request.getfixturevalue("gcs_server")
    bucket = request.getfixturevalue("gcs_bucket")
    options = [f"endpoint_url={server.endpoint}", "token=anon", "project=test"]
    return f"gs://{bucket}/store", [a for o in options for a in ("--option", o)]


def test_round_trip_through_packs(
    repo: Path, tmp_path: Path, target: tuple[str, list[str]]
) -> None:
    url, options = target
    gitmv(repo, "remote", "add", "origin", url, "--local", *options)
    configure(repo, CHUNKED + "pack:\n  max_object: 4194304\n")
    files = project(repo, "v1")
    assert "pushed 63 objects" in gitmv(repo, "push").stdout  # 60 files, manifest, 2 models
    if not options:  # a folder: look inside
        store = Path(url)
        members = pack_members(store)
        assert len(members) > 62  # the small objects, the manifest, the model's chunks
        assert json.loads((store / packs.FORMAT_KEY).read_text()) == {"format": 1}
        model = hash_file(repo / "model.bin")[0]
        loose = [p for p in (store / "xxh128").rglob("*") if p.is_file()]
        assert loose == [store / layout.list_key(model)]  # only the chunk list, written last
    again = gitmv(repo, "push").stdout
    assert "pushed 0 objects" in again and "already there" in again

    other = clone(repo, tmp_path / "clone")
    gitmv(other, "remote", "add", "origin", url, "--local", *options)
    assert "fetched 63 objects" in gitmv(other, "pull").stdout
    assert_same_files(repo, other, files)
    assert "all sound" in gitmv(other, "verify", "--remote", "origin", "--deep").stdout


def test_loose_chunked_and_packed_objects_read_alike(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    configure(repo, CHUNKED)
    v1 = project(repo, "v1")
    gitmv(repo, "push")  # loose (a folder remote packs only when told) and chunked
    assert not (store / packs.PACKS_DIR).exists()
    configure(repo, "pack:\n  max_object: 4194304\n")
    git(repo, "commit", "-qam", "packs on")
    v2 = project(repo, "v2")
    gitmv(repo, "push")
    assert pack_members(store)  # v2's objects went in packs beside v1's loose ones

    other = clone(repo, tmp_path / "clone")
    gitmv(other, "fetch", "--rev", "HEAD~2")
    gitmv(other, "pull")
    assert_same_files(repo, other, v2)
    git(other, "checkout", "-q", "HEAD~2")
    gitmv(other, "checkout")
    for rel, data in v1.items():
        assert (other / rel).read_bytes() == data, rel
    assert "all sound" in gitmv(other, "verify", "--remote", "origin", "--deep").stdout


def test_a_killed_pack_upload_leaves_no_index_without_its_pack(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    configure(repo, "pack:\n  max_object: 4194304\n  size: 1048576\n")  # many packs
    files = {f"many/{i}.bin": os.urandom(16 * 1024) for i in range(600)}
    make_files(repo, files)
    gitmv(repo, "add", "many")
    git(repo, "commit", "-qam", "v1")
    seen = []
    for attempt, threshold in enumerate((1, 3, 6, 9, 3, 6, 9, 3)):
        if attempt:  # each kill on a fresh remote: a finished push leaves nothing to cut
            store = tmp_path / f"store{attempt}"
            gitmv(repo, "remote", "remove", "origin")
            gitmv(repo, "remote", "add", "origin", str(store))
        _kill_when(["push", "--jobs", "4"], repo, store / packs.PACKS_DIR, threshold)
        seen.append(len(pack_members(store)))  # each index whole, its pack there, sound
        if 0 < seen[-1] < 600 and attempt >= 3:
            break
    assert any(0 < n < 600 for n in seen), seen  # a kill landed mid-push
    git(repo, "commit", "-qam", "the last remote")  # what the clone below reads
    gitmv(repo, "push")
    assert len(pack_members(store)) >= 601
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "pull")
    assert_same_files(repo, other, files)
    assert _count_files(other / CACHE) >= 601


def test_a_remote_of_an_unknown_format_is_refused(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    project(repo, "v1")
    gitmv(repo, "push")
    (store / packs.FORMAT_KEY).write_text('{"format": 99}\n')
    other = clone(repo, tmp_path / "clone")
    proc = gitmv(other, "pull", code=1)
    assert_clean_error(proc)
    assert "storage format 99" in proc.stderr and "upgrade gitmv" in proc.stderr
    assert not (other / "small.bin").exists()


def test_a_corrupt_pack_member_is_refused(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    configure(repo, "pack:\n  max_object: 4194304\n")
    files = project(repo, "v1")
    gitmv(repo, "push")
    small = hash_file(repo / "small.bin")[0]
    for idx in (store / packs.PACKS_DIR).glob("*.idx"):
        for e in packs.decode_index(idx.read_bytes(), str(idx)):
            if e.key == layout.object_key(small):
                pack = store / packs.pack_key(idx.name.removesuffix(".idx"))
                pack.chmod(0o644)
                with open(pack, "r+b") as f:
                    f.seek(e.offset + 10)
                    f.write(b"\0\0\0\0")
    other = clone(repo, tmp_path / "clone")
    proc = gitmv(other, "pull", code=1)
    assert f"{small} from remote 'origin'" in proc.stderr and "corrupt" in proc.stderr
    assert not (other / CACHE / layout.object_key(small)).exists()
    assert (other / "data/0/0.txt").read_bytes() == files["data/0/0.txt"]  # the rest came


def test_remote_gc_drops_and_rewrites_packs_keeping_every_kept_object(
    repo: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    configure(repo, "pack:\n  max_object: 4194304\n")
    v1 = {f"data/{i}.bin": os.urandom(4096) for i in range(10)}
    make_files(repo, v1)
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qam", "v1")
    gitmv(repo, "push")  # one pack of 10 files, one of the manifest
    v2 = {**v1, **{f"data/{i}.bin": os.urandom(4096) for i in range(8)}}
    make_files(repo, v2)
    gitmv(repo, "add", "data")
    git(repo, "commit", "-q", "--amend", "-am", "v2")  # v1 is named by no commit now
    git(repo, "reflog", "expire", "--expire=now", "--all")
    gitmv(repo, "push")
    before = pack_members(store)
    assert len(list((store / packs.PACKS_DIR).glob("*.pack"))) == 4

    path = repo / ".git/gitmv/config.yaml"
    path.write_text(path.read_text() + "gc:\n  remote_grace: 0\n")
    out = gitmv(repo, "gc", "--remote", "origin", "--yes").stdout
    assert "packs: 1 dropped, 1 rewritten without 9 members" in out, out
    after = pack_members(store)  # every index has its pack, every member is sound
    assert len(list((store / packs.PACKS_DIR).glob("*.pack"))) == 3
    wanted = {layout.object_key(hash_bytes(data)) for data in v2.values()}
    assert wanted <= set(after)
    assert len(before) - len(after) == 9  # v1's 8 changed files and its manifest
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "pull")
    assert_same_files(repo, other, v2)


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
def test_an_object_a_push_skipped_survives_remote_gc_in_another_clone(
    repo: Path, tmp_path: Path, packed: bool
) -> None:
    """Clone B names an old version again and pushes: the object is there, so the push
    skips it (and cannot refresh its time). Clone A, whose history no longer names it and
    which has not seen B's commit, runs gc: the version must stay (B's keep note)."""
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    if packed:
        configure(repo, "pack:\n  max_object: 4194304\n")
    old = os.urandom(5000)
    make_files(repo, {"model.bin": old})
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qam", "old")
    gitmv(repo, "push")
    b = clone(repo, tmp_path / "b")
    make_files(repo, {"model.bin": os.urandom(5000)})
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-q", "--amend", "-am", "new")  # A's history names `old` no more
    git(repo, "reflog", "expire", "--expire=now", "--all")
    gitmv(repo, "push")
    for path in store.rglob("*"):
        if path.is_file():
            _age(path, 3600)  # everything so far is an hour old

    (b / "model.bin").unlink(missing_ok=True)
    (b / "model.bin").write_bytes(b"experiment")
    gitmv(b, "add", "model.bin")
    git(b, "commit", "-qam", "experiment")
    make_files(b, {"model.bin": old})
    gitmv(b, "add", "model.bin")
    git(b, "commit", "-qam", "back to the old model")  # not pushed to git yet
    assert "already there" in gitmv(b, "push").stdout

    path = repo / ".git/gitmv/config.yaml"
    path.write_text(path.read_text() + "gc:\n  remote_grace: 600\n")
    gitmv(repo, "gc", "--remote", "origin", "--yes")
    fresh = clone(b, tmp_path / "fresh")
    gitmv(fresh, "pull")
    assert (fresh / "model.bin").read_bytes() == old

    for note in (store / "keep").iterdir():
        _age(note, 3600)  # past the grace period, the note goes
    gitmv(repo, "gc", "--remote", "origin", "--yes")
    assert not list((store / "keep").iterdir())


def test_repack_moves_an_older_remotes_loose_objects_into_packs(
    repo: Path, tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    url = f"s3://{s3_bucket}/store"
    gitmv(repo, "remote", "add", "origin", url, "-o", f"endpoint_url={moto_server.endpoint}")
    configure(repo, CHUNKED + "pack:\n  max_object: 0\n")  # an older remote: all loose
    files = project(repo, "v1")
    gitmv(repo, "push")
    text = (repo / ".gitmv/config.yaml").read_text().replace("max_object: 0", "max_object: 4194304")
    (repo / ".gitmv/config.yaml").write_text(text)
    git(repo, "commit", "-qam", "packs on")
    out = gitmv(repo, "repack", "--remote", "origin").stdout
    assert "packed" in out and "into 1 packs" in out, out  # 60 files, 2 models' bytes, chunks
    import boto3

    client = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    loose = [k for k in keys if not k.startswith(("store/packs/", "store/gitmv.json"))]
    assert loose == [f"store/{layout.list_key(hash_file(repo / 'model.bin')[0])}"], keys
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "pull")
    assert_same_files(repo, other, files)
    assert "all sound" in gitmv(other, "verify", "--remote", "origin", "--deep").stdout


def test_the_old_files_of_a_young_packed_manifest_survive_remote_gc(
    repo: Path, tmp_path: Path
) -> None:
    """Clone B changes one file of a folder and pushes: its new manifest (in a young pack)
    names nine old files the push skipped. Clone A, whose history names none of them and
    which has not seen B's commit, runs gc: the old files must stay."""
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    configure(repo, "pack:\n  max_object: 4194304\n")
    v1 = {f"data/{i}.bin": os.urandom(3000) for i in range(10)}
    make_files(repo, v1)
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qam", "v1")
    gitmv(repo, "push")
    b = clone(repo, tmp_path / "b")
    make_files(repo, {f"data/{i}.bin": os.urandom(3000) for i in range(10)})
    gitmv(repo, "add", "data")
    git(repo, "commit", "-q", "--amend", "-am", "other")  # A names v1's files no more
    git(repo, "reflog", "expire", "--expire=now", "--all")
    gitmv(repo, "push")
    for path in store.rglob("*"):
        if path.is_file():
            _age(path, 3600)

    gitmv(b, "pull")
    (b / "data/0.bin").unlink()
    (b / "data/0.bin").write_bytes(b"changed")
    gitmv(b, "add", "data")
    git(b, "commit", "-qam", "one file changed")
    gitmv(b, "push")  # the new manifest and one file; nine files skipped, no note
    assert not (store / "keep").exists()

    path = repo / ".git/gitmv/config.yaml"
    path.write_text(path.read_text() + "gc:\n  remote_grace: 600\n")
    gitmv(repo, "gc", "--remote", "origin", "--yes")
    fresh = clone(b, tmp_path / "fresh")
    gitmv(fresh, "pull")
    for i in range(1, 10):
        assert (fresh / f"data/{i}.bin").read_bytes() == v1[f"data/{i}.bin"]


def test_the_index_cache_keeps_only_what_the_remotes_list(repo: Path, tmp_path: Path) -> None:
    """Indexes of packs a remote gc dropped or rewrote leave the local cache at the next
    listing, unless another remote still lists the same pack."""
    store, mirror = tmp_path / "store", tmp_path / "mirror"
    gitmv(repo, "remote", "add", "origin", str(store))
    gitmv(repo, "remote", "add", "mirror", str(mirror))
    configure(repo, "pack:\n  max_object: 4194304\n")
    cached = repo / ".git/gitmv/cache/pack-indexes"

    def ids(folder: Path) -> set[str]:
        return {p.name.removesuffix(packs.INDEX_SUFFIX) for p in folder.glob("*.idx")}

    v1 = {f"data/{i}.bin": os.urandom(4096) for i in range(10)}
    make_files(repo, v1)
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qam", "v1")
    gitmv(repo, "push")
    gitmv(repo, "push", "--remote", "mirror")  # the same packs: the same ids
    mirrored = ids(mirror / packs.PACKS_DIR)
    for path in v1:
        (repo / path).chmod(0o644)
    v2 = {**v1, **{f"data/{i}.bin": os.urandom(4096) for i in range(8)}}
    make_files(repo, v2)
    gitmv(repo, "add", "data")
    git(repo, "commit", "-q", "--amend", "-am", "v2")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    gitmv(repo, "push")
    path = repo / ".git/gitmv/config.yaml"
    path.write_text(path.read_text() + "gc:\n  remote_grace: 0\n")
    gitmv(repo, "gc", "--remote", "origin", "--yes")
    gitmv(repo, "push")  # lists packs/ again
    listed = ids(store / packs.PACKS_DIR)
    assert mirrored - listed, "the gc dropped none of v1's packs"
    assert ids(cached) == listed | mirrored  # the mirror still lists v1's
    gitmv(repo, "gc", "--remote", "mirror", "--yes")
    gitmv(repo, "push", "--remote", "mirror")
    assert ids(cached) == listed | ids(mirror / packs.PACKS_DIR)
    assert ids(cached) != listed | mirrored
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "pull")
    assert_same_files(repo, other, v2)
