"""Push plans its existence checks from what it knows (issue 18): a directory whose last
pushed manifest (its parent) is still on the remote has only its new entries asked
about. Whatever that knowledge says, a push uploads exactly what the remote lacks: after
a partial push, after objects were deleted from the remote, after the record is lost."""

from __future__ import annotations

import os
from pathlib import Path

from gitmv.store import layout, pointer
from gitmv.store.hashing import hash_bytes
from tests.functional.test_push_pull import assert_same_files, clone, make_files
from tests.helpers import git, gitmv

RECORDS = ".git/gitmv/cache/on-remotes"


def version(repo: Path, files: dict[str, bytes], tag: str) -> str:
    """Commit `files` as the folder artifact `data`; its manifest's object key."""
    make_files(repo, files)
    gitmv(repo, "add", "data")
    git(repo, "commit", "-qam", tag)
    return layout.object_key(pointer.read(repo / "data.gmv").oid)


def key(data: bytes) -> str:
    return layout.object_key(hash_bytes(data))


def writable(repo: Path, files: dict[str, bytes]) -> None:
    for rel in files:
        (repo / rel).chmod(0o644)


def test_push_uploads_what_the_remote_lacks_whatever_the_parent_says(
    repo: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store))
    git(repo, "commit", "-qam", "remote")
    v1 = {f"data/{i}.bin": os.urandom(2048) for i in range(30)}
    version(repo, v1, "v1")
    assert "pushed 31 objects" in gitmv(repo, "push").stdout
    assert list((repo / RECORDS).iterdir())  # the parent of the next push, recorded

    # a push of v2 that stopped after one of its three new files: no manifest, two missing
    writable(repo, v1)
    changed = {f"data/{i}.bin": os.urandom(2048) for i in range(3)}
    v2 = {**v1, **changed}
    manifest2 = version(repo, v2, "v2")
    assert "pushed 4 objects" in gitmv(repo, "push").stdout
    for gone in [manifest2, key(changed["data/0.bin"]), key(changed["data/1.bin"])]:
        (store / gone).unlink()
    assert "pushed 3 objects" in gitmv(repo, "push").stdout  # two files, then the manifest

    # v3 shares data/9.bin with v2; the remote lost v2's manifest (its parent) and that file:
    # the parent is not there to vouch for anything, so every entry is asked about
    writable(repo, v2)
    v3 = {**v2, "data/29.bin": os.urandom(2048)}
    version(repo, v3, "v3")
    (store / manifest2).unlink()
    (store / key(v3["data/9.bin"])).unlink()
    assert "pushed 3 objects" in gitmv(repo, "push").stdout
    other = clone(repo, tmp_path / "clone")
    gitmv(other, "pull")
    assert_same_files(repo, other, v3)

    # a record that is unreadable, or names a manifest the cache lacks: the full check
    for record in (repo / RECORDS).iterdir():
        record.write_text("{not json")
    writable(repo, v3)
    v4 = {**v3, "data/28.bin": os.urandom(2048)}
    version(repo, v4, "v4")
    (store / key(v4["data/8.bin"])).unlink()
    assert "pushed 3 objects" in gitmv(repo, "push").stdout
    third = clone(repo, tmp_path / "third")
    gitmv(third, "pull")
    assert_same_files(repo, third, v4)
