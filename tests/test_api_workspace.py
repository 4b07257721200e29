"""api.add and api.status on real repositories: what the CLI does, from Python."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitmv import api
from gitmv.base.errors import GitmvError
from gitmv.store.hashing import hash_bytes
from tests.helpers import git, gitmv, snapshot


def test_add_a_file_and_a_folder_then_status_tells_each_state(repo: Path) -> None:
    (repo / "model.pt").write_bytes(b"weights v1")
    (repo / "data").mkdir()
    (repo / "data/a.csv").write_text("x\n1\n")
    (repo / "data/b.csv").write_text("x\n2\n")

    report = api.add(["model.pt", "data"], repo=repo, type="model", meta=["params.lr=0.1"])

    model, data = report.artifacts
    assert (model.path, model.pointer.kind, model.changed) == ("model.pt", "file", True)
    assert model.pointer.oid == hash_bytes(b"weights v1")
    assert (data.path, data.pointer.kind, data.pointer.files) == ("data", "dir", 2)
    staged = set(git(repo, "diff", "--cached", "--name-only").split())
    assert {"model.pt.gmv", "data.gmv", ".gitignore"} <= staged
    assert "model.pt" not in staged
    text = (repo / "model.pt.gmv").read_text()
    assert "type: model" in text and "lr: 0.1" in text and "code:" in text
    assert [(a.path, a.state) for a in api.status(repo=repo).artifacts] == [
        ("data", "clean"),
        ("model.pt", "clean"),
    ]
    # the same bytes again: nothing to record
    assert not api.add([repo / "model.pt"], repo=repo).artifacts[0].changed

    (repo / "model.pt").write_bytes(b"weights v2")
    shutil.rmtree(repo / "data")
    states = {a.path: a.state for a in api.status(repo=repo).artifacts}
    assert states == {"model.pt": "modified", "data": "missing"}
    cli = gitmv(repo, "status", "--json").stdout
    assert '"state": "modified"' in cli and '"state": "missing"' in cli

    shutil.rmtree(repo / ".git/gitmv/cache")  # bytes found nowhere: not-cached
    only = api.status(["data"], repo=repo).artifacts
    assert [(a.path, a.state, a.kind) for a in only] == [("data", "not-cached", "dir")]


def test_status_with_remote_marks_what_the_remote_lacks(repo: Path, tmp_path: Path) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    (repo / "a.bin").write_bytes(b"a")
    (repo / "b.bin").write_bytes(b"b")
    api.add(["a.bin", "b.bin"], repo=repo)
    gitmv(repo, "push", "a.bin")
    states = {a.path: a.state for a in api.status(repo=repo, remote=True).artifacts}
    assert states == {"a.bin": "clean", "b.bin": "not-pushed"}
    assert [a.state for a in api.status(["b.bin"], repo=repo, remote="origin").artifacts] == [
        "not-pushed"
    ]
    with pytest.raises(GitmvError) as raised:
        api.status(repo=repo, remote="nope")
    assert "nope" in raised.value.message


def test_a_bad_path_raises_with_a_hint_and_changes_nothing(repo: Path) -> None:
    (repo / "good.bin").write_bytes(b"good")
    (repo / "model.pt").write_bytes(b"m")
    api.add(["model.pt"], repo=repo)
    git(repo, "commit", "-qm", "model")
    before = snapshot(repo), git(repo, "status", "--porcelain")

    cases = {
        "missing.bin": "no such file or folder",
        "model.pt.gmv": "is a pointer file",
        "../outside.bin": "outside",
    }
    for bad, says in cases.items():
        with pytest.raises(GitmvError) as raised:  # good.bin comes first: still not added
            api.add(["good.bin", bad], repo=repo)
        assert says in raised.value.message, raised.value.message
        assert raised.value.hint or bad == "missing.bin"
        assert (snapshot(repo), git(repo, "status", "--porcelain")) == before

    with pytest.raises(GitmvError) as raised:  # a bad --input: refused before a byte moves
        api.add(["good.bin"], repo=repo, inputs=["nothing-tracked.bin"])
    assert raised.value.hint and "gitmv add" in raised.value.hint
    with pytest.raises(GitmvError) as raised:
        api.status(["nowhere"], repo=repo)
    assert raised.value.hint == "`gitmv ls` lists them"
    assert (snapshot(repo), git(repo, "status", "--porcelain")) == before
