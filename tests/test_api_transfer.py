"""gitmv.api.push and gitmv.api.pull: the CLI's verbs from Python, on real git with a folder
remote and an S3 server, read back through the reports they return."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitmv import api
from gitmv.base.errors import GitmvError
from gitmv.store import layout
from gitmv.store.hashing import hash_bytes
from tests.helpers import git, gitmv, snapshot
from tests.servers import Server

FILES = {
    "model.bin": os.urandom(100_000),
    "data/a.txt": b"row a\n" * 50,
    "data/b.txt": b"row b\n" * 50,
    "data/c/d.txt": b"row d\n" * 50,
}


def project(repo: Path, remote_url: str, *options: str) -> None:
    """A model file and a data folder, tracked and committed with a default remote."""
    for rel, data in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)
    gitmv(repo, "add", "model.bin", "data")
    args = [a for o in options for a in ("--option", o)]
    gitmv(repo, "remote", "add", "origin", remote_url, *args)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")


def clone(repo: Path, where: Path) -> Path:
    git(repo.parent, "clone", "-q", str(repo), str(where))
    gitmv(where, "init", "--no-hooks")
    return where


def stored(store: Path, data: bytes) -> bytes:
    """The bytes a folder remote holds for `data`'s object."""
    return (store / layout.object_key(hash_bytes(data, "xxh128"))).read_bytes()


def test_push_then_pull_through_a_folder_remote(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    project(repo, str(store))

    report = api.push(repo=repo)
    # model.bin, the data folder's three files and its manifest
    assert (report.artifacts, report.transferred, report.skipped) == (2, 5, 0)
    assert report.nbytes > sum(len(d) for d in FILES.values())  # the manifest's bytes too
    assert report.ok and report.failed == () and report.aborted is None
    assert report.remote == f"{'origin'!r} ({store})"  # the label the CLI prints
    for data in FILES.values():
        assert stored(store, data) == data

    again = api.push(repo=repo)
    assert (again.transferred, again.nbytes, again.skipped, again.ok) == (0, 0, 2, True)

    other = clone(repo, tmp_path / "clone")
    first = api.pull("model.bin", repo=other)  # one path, given as a string
    assert (first.fetched.artifacts, first.fetched.transferred) == (1, 1)
    assert first.checkout is not None and first.checkout.restored == ("model.bin",)
    assert first.ok and first.healed == () and first.refetched is None
    assert (other / "model.bin").read_bytes() == FILES["model.bin"]
    assert not (other / "data").exists()

    rest = api.pull(repo=other)
    assert (rest.fetched.artifacts, rest.fetched.transferred, rest.fetched.skipped) == (2, 4, 1)
    assert rest.checkout is not None
    assert rest.checkout.restored == ("data",) and rest.checkout.unchanged == ("model.bin",)
    assert rest.ok
    for rel, data in FILES.items():
        assert (other / rel).read_bytes() == data


def test_a_failed_object_is_in_the_report_not_raised(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    project(repo, str(store))
    assert api.push(["model.bin"], repo=repo).transferred == 1  # the data folder stays home

    other = clone(repo, tmp_path / "clone")
    report = api.pull(repo=other)
    assert not report.ok and not report.fetched.ok
    assert report.fetched.transferred == 1
    assert {f.path for f in report.fetched.failed} == {"data"}  # its manifest is not there
    assert report.checkout is not None
    assert report.checkout.restored == ("model.bin",) and report.checkout.not_cached == ("data",)
    assert not (other / "data").exists()


def test_push_and_pull_on_s3(
    repo: Path, tmp_path: Path, moto_server: Server, s3_bucket: str
) -> None:
    project(repo, f"s3://{s3_bucket}/models", f"endpoint_url={moto_server.endpoint}")
    pushed = api.push(repo=repo, jobs=4)
    assert (pushed.artifacts, pushed.transferred, pushed.ok) == (2, 5, True)

    other = clone(repo, tmp_path / "clone")
    pulled = api.pull(repo=other)
    assert (pulled.fetched.transferred, pulled.fetched.skipped, pulled.ok) == (5, 0, True)
    assert pulled.checkout is not None and pulled.checkout.restored == ("data", "model.bin")
    for rel, data in FILES.items():
        assert (other / rel).read_bytes() == data


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda r: api.push(["nope.bin"], repo=r), "no artifact tracked there"),
        (lambda r: api.push(remote="nowhere", repo=r), "nowhere"),
        (lambda r: api.push(["model.bin"], repo=r, all_refs=True), "--all takes no paths"),
        (lambda r: api.push(repo=r, all_refs=True, revs=["HEAD"]), "exclude each other"),
        (lambda r: api.push(repo=r, revs=["no-such-rev"]), "no-such-rev"),
        (lambda r: api.pull(["nope.bin"], repo=r), "no artifact tracked there"),
        (lambda r: api.pull(remote="nowhere", repo=r), "nowhere"),
    ],
)
def test_a_bad_input_raises_with_a_hint_and_changes_nothing(
    repo: Path, tmp_path: Path, call: object, words: str
) -> None:
    store = tmp_path / "store"
    project(repo, str(store))
    os.unlink(repo / "model.bin")  # a pull would restore it
    before = snapshot(tmp_path)
    with pytest.raises(GitmvError) as raised:
        call(repo)  # type: ignore[operator]
    assert words in raised.value.message and raised.value.hint
    assert snapshot(tmp_path) == before


def test_without_a_default_remote_the_error_says_how_to_add_one(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"weights")
    gitmv(repo, "add", "model.bin")
    before = snapshot(repo)
    for call in (api.push, api.pull):
        with pytest.raises(GitmvError) as raised:
            call(repo=repo)
        assert raised.value.message == "no default remote is configured"
        assert "gitmv remote add NAME URL --default" in (raised.value.hint or "")
    assert snapshot(repo) == before
