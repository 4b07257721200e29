"""`gitmv import lfs` on repositories made by the real `git lfs`, with a real local LFS store.

The LFS "server" is a bare repository reached by a file:// URL: Git LFS (2.10 and later)
moves objects to and from it with its built-in standalone file transfer agent
(`lfs-standalone-file`), offline, into `<bare>.git/lfs/objects`. A clone made with no LFS
filter configured holds pointer texts and an empty LFS store: the `git lfs fetch` case.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import assert_clean_error, git, gitmv, snapshot


def _lfs_missing() -> str | None:
    try:
        proc = subprocess.run(["git", "lfs", "version"], capture_output=True, text=True)
    except OSError as exc:
        return f"git is not runnable: {exc}"
    if proc.returncode != 0:
        return f"`git lfs version` failed: {proc.stderr.strip() or proc.returncode}"
    return None


_MISSING = _lfs_missing()
if _MISSING:
    print(f"skipping the Git LFS import tests: {_MISSING}")
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"Git LFS: {_MISSING}")

V1 = os.urandom(30_000)
V2 = os.urandom(40_000)
A = os.urandom(5_000)
B = os.urandom(700)
ATTRIBUTES = "# team attributes\n*.bin filter=lfs diff=lfs merge=lfs -text\n*.txt text eol=lf\n"


def states(repo: Path) -> dict[str, str]:
    return {r["path"]: r["state"] for r in json.loads(gitmv(repo, "status", "--json").stdout)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def import_json(repo: Path, *args: str, code: int = 0) -> dict[str, object]:
    proc = gitmv(repo, "import", "lfs", "--json", *args, code=code)
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


@pytest.fixture
def lfs_repo(tmp_path: Path) -> Path:
    """A work repository with Git LFS: `*.bin` tracked, two commits of model.bin, pushed to
    a bare repository whose LFS store is the file:// server."""
    server = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(server))
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    git(work, "lfs", "install", "--local")
    (work / ".gitattributes").write_text(ATTRIBUTES)
    (work / "model.bin").write_bytes(V1)
    (work / "data/sub").mkdir(parents=True)
    (work / "data/a.bin").write_bytes(A)
    (work / "data/sub/b.bin").write_bytes(B)
    (work / "notes.txt").write_text("plain git\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", "v1")
    (work / "model.bin").write_bytes(V2)
    git(work, "commit", "-qam", "v2")
    git(work, "remote", "add", "origin", server.as_uri())
    git(work, "push", "-q", "origin", "main")
    assert git(work, "lfs", "ls-files").count(" * ") == 3  # the three files are LFS pointers
    return work


def clone_without_lfs_bytes(lfs_repo: Path, tmp_path: Path, name: str) -> Path:
    """A clone with no LFS filter configured: pointer texts in the work tree, no LFS store."""
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(tmp_path / "server.git"), str(clone))
    assert (clone / "model.bin").read_bytes().startswith(b"version https://git-lfs")
    assert not (clone / ".git/lfs/objects").exists()
    return clone


def test_import_converts_every_lfs_file_and_stages_the_migration(
    lfs_repo: Path, tmp_path: Path
) -> None:
    repo = lfs_repo
    old = git(repo, "rev-parse", "HEAD~1").strip()
    doc = import_json(repo)
    assert {(c["path"], c["origin"], c["size"]) for c in doc["converted"]} == {  # type: ignore[attr-defined,index]
        ("model.bin", "work tree", len(V2)),
        ("data/a.bin", "work tree", len(A)),
        ("data/sub/b.bin", "work tree", len(B)),
    }
    assert doc["skipped"] == []
    assert doc["removed"] == ["*.bin (from .gitattributes)"]
    notes = " ".join(doc["notes"])  # type: ignore[arg-type]
    assert "Git LFS server file://" in notes and "gitmv remote add" in notes
    # the pattern left; every other line and comment is kept byte for byte
    assert (repo / ".gitattributes").read_text() == (
        "# team attributes\n*.txt text eol=lf\n.gitignore merge=union\n"
    )
    assert (repo / ".gitmv/config.yaml").is_file()  # set up as `gitmv init` does
    staged = git(repo, "diff", "--cached", "--name-status").splitlines()
    assert {"D\tmodel.bin", "D\tdata/a.bin", "D\tdata/sub/b.bin", "A\tmodel.bin.gmv"} <= set(staged)
    assert {"A\tdata/a.bin.gmv", "A\tdata/sub/b.bin.gmv", "M\t.gitattributes"} <= set(staged)
    assert git(repo, "ls-files", "*.bin") == ""
    git(repo, "commit", "-qm", "move from Git LFS to gitmv")
    assert git(repo, "status", "--porcelain") == ""
    assert states(repo) == {"model.bin": "clean", "data/a.bin": "clean", "data/sub/b.bin": "clean"}
    assert git(repo, "lfs", "ls-files") == ""  # nothing of HEAD is in LFS any more
    assert b"sha256" not in (repo / "model.bin.gmv").read_bytes()  # gitmv's own xxh128 oid

    # delete the artifacts: `gitmv checkout` restores every byte
    for rel in ("model.bin", "data/a.bin", "data/sub/b.bin"):
        (repo / rel).unlink()
    gitmv(repo, "checkout")
    assert (repo / "model.bin").read_bytes() == V2
    assert (repo / "data/a.bin").read_bytes() == A
    assert (repo / "data/sub/b.bin").read_bytes() == B

    # an OLD commit still checks out with Git LFS (history is not rewritten), and back
    git(repo, "checkout", "-q", old)
    assert (repo / "model.bin").read_bytes() == V1
    assert git(repo, "lfs", "ls-files").count(" * ") == 3
    git(repo, "checkout", "-q", "main")
    gitmv(repo, "checkout")
    assert (repo / "model.bin").read_bytes() == V2
    assert states(repo) == {"model.bin": "clean", "data/a.bin": "clean", "data/sub/b.bin": "clean"}

    # push to a new gitmv remote; a fresh clone's `gitmv pull` gets every byte
    gitmv(repo, "remote", "add", "store", str(tmp_path / "gitmv-store"), "--default")
    git(repo, "commit", "-qam", "gitmv remote")
    gitmv(repo, "push")
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(repo), str(fresh))
    gitmv(fresh, "pull")
    assert (fresh / "model.bin").read_bytes() == V2
    assert (fresh / "data/a.bin").read_bytes() == A
    assert (fresh / "data/sub/b.bin").read_bytes() == B

    # a second run converts nothing and says so
    before = snapshot(repo)
    again = import_json(repo)
    assert again["converted"] == [] and again["removed"] == []
    assert "nothing to convert" in gitmv(repo, "import", "lfs").stdout
    assert snapshot(repo) == before


def test_dry_run_says_what_would_change_and_changes_nothing(lfs_repo: Path) -> None:
    with open(lfs_repo / ".gitattributes", "a") as f:  # a pattern no file matches stays
        f.write("*.psd filter=lfs diff=lfs merge=lfs -text\n")
    git(lfs_repo, "commit", "-qam", "psd too")
    before = snapshot(lfs_repo)
    index = git(lfs_repo, "ls-files", "-s")
    out = gitmv(lfs_repo, "import", "lfs", "--dry-run").stdout
    assert "would convert model.bin (39.1 KiB, from the work tree)" in out
    assert "would remove *.bin (from .gitattributes)" in out
    assert "would remove *.psd" not in out
    assert (
        "Git LFS patterns kept (they match files not imported, or no file in the index): *.psd"
        in out
    )
    assert snapshot(lfs_repo) == before
    assert git(lfs_repo, "ls-files", "-s") == index


def test_bytes_from_the_lfs_store_when_the_work_tree_holds_pointers(
    lfs_repo: Path, tmp_path: Path
) -> None:
    clone = clone_without_lfs_bytes(lfs_repo, tmp_path, "clone")
    git(clone, "lfs", "fetch")  # the store has the bytes; the work tree still the pointers
    doc = import_json(clone)
    assert {c["origin"] for c in doc["converted"]} == {"Git LFS store"}  # type: ignore[attr-defined]
    assert (clone / "model.bin").read_bytes() == V2
    assert (clone / "data/sub/b.bin").read_bytes() == B
    git(clone, "commit", "-qm", "migrate")
    assert set(states(clone).values()) == {"clean"}


def test_bytes_from_git_lfs_fetch_when_neither_holds_them(lfs_repo: Path, tmp_path: Path) -> None:
    clone = clone_without_lfs_bytes(lfs_repo, tmp_path, "clone")
    dry = import_json(clone, "data", "--dry-run")
    assert {c["origin"] for c in dry["converted"]} == {"Git LFS server (git lfs fetch)"}  # type: ignore[attr-defined]
    assert not (clone / ".git/lfs").exists()  # a dry run fetches nothing
    doc = import_json(clone, "data")  # only under data/: model.bin and its pattern stay LFS
    assert {(c["path"], c["origin"]) for c in doc["converted"]} == {  # type: ignore[attr-defined]
        ("data/a.bin", "Git LFS server (git lfs fetch)"),
        ("data/sub/b.bin", "Git LFS server (git lfs fetch)"),
    }
    assert doc["removed"] == []
    assert "*.bin (.gitattributes)" in " ".join(doc["notes"])  # type: ignore[arg-type]
    assert (clone / "data/a.bin").read_bytes() == A
    assert (clone / "data/sub/b.bin").read_bytes() == B
    # just those objects were fetched: model.bin's is still only on the server
    assert not (clone / ".git/lfs/objects" / sha(V2)[:2] / sha(V2)[2:4] / sha(V2)).exists()
    assert (clone / ".gitattributes").read_text() == ATTRIBUTES + ".gitignore merge=union\n"
    git(clone, "commit", "-qm", "migrate data/")
    assert git(clone, "lfs", "ls-files", "-n").split() == ["model.bin"]
    assert states(clone) == {"data/a.bin": "clean", "data/sub/b.bin": "clean"}


def test_a_corrupt_lfs_object_is_refused_and_named(lfs_repo: Path, tmp_path: Path) -> None:
    clone = clone_without_lfs_bytes(lfs_repo, tmp_path, "clone")
    git(clone, "lfs", "fetch")
    obj = clone / ".git/lfs/objects" / sha(A)[:2] / sha(A)[2:4] / sha(A)
    obj.unlink()  # a new file: the file:// agent may have hard-linked the server's copy here
    obj.write_bytes(b"X" + A[1:])  # same size, wrong bytes
    before = snapshot(clone)
    index = git(clone, "ls-files", "-s")
    proc = gitmv(clone, "import", "lfs", code=1)
    assert_clean_error(proc)
    assert "data/a.bin" in proc.stderr and str(obj) in proc.stderr and "corrupt" in proc.stderr
    assert snapshot(clone) == before
    assert git(clone, "ls-files", "-s") == index
    # the hint's way out: `git lfs fsck` moves it aside, `git lfs fetch` brings it again
    git(clone, "lfs", "fsck", check=False)
    git(clone, "lfs", "fetch")
    doc = import_json(clone)
    assert len(doc["converted"]) == 3  # type: ignore[arg-type]
    assert (clone / "data/a.bin").read_bytes() == A


def test_a_malformed_lfs_pointer_writes_nothing(lfs_repo: Path) -> None:
    bad = b"version https://git-lfs.github.com/spec/v1\noid sha256:nothex\nsize 12\n"
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--no-filters", "--stdin"],
            cwd=lfs_repo,
            input=bad,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    git(lfs_repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},data/bad.bin")
    (lfs_repo / "data/bad.bin").write_bytes(bad)
    before = snapshot(lfs_repo)
    index = git(lfs_repo, "ls-files", "-s")
    for args in ((), ("--dry-run",)):
        proc = gitmv(lfs_repo, "import", "lfs", *args, code=1)
        assert_clean_error(proc)
        assert "data/bad.bin: malformed Git LFS pointer" in proc.stderr
    assert snapshot(lfs_repo) == before
    assert git(lfs_repo, "ls-files", "-s") == index


def test_a_modified_file_is_skipped_and_keeps_its_pattern(lfs_repo: Path) -> None:
    (lfs_repo / "model.bin").write_bytes(b"an edit the user has not committed")
    doc = import_json(lfs_repo)
    assert [c["path"] for c in doc["converted"]] == ["data/a.bin", "data/sub/b.bin"]  # type: ignore[attr-defined]
    assert [s["path"] for s in doc["skipped"]] == ["model.bin"]  # type: ignore[attr-defined]
    assert "modified" in doc["skipped"][0]["reason"]  # type: ignore[index]
    assert doc["removed"] == []
    assert (lfs_repo / "model.bin").read_bytes() == b"an edit the user has not committed"
    assert "*.bin filter=lfs" in (lfs_repo / ".gitattributes").read_text()
    assert git(lfs_repo, "ls-files", "*.bin").split() == ["model.bin"]


def test_a_pointer_that_a_kept_pattern_would_swallow_is_not_converted(lfs_repo: Path) -> None:
    # `data/**` stays while data/sub/b.bin is modified, and would store data/a.bin.gmv in LFS
    (lfs_repo / ".gitattributes").write_text(
        ATTRIBUTES + "data/** filter=lfs diff=lfs merge=lfs -text\n"
    )
    git(lfs_repo, "commit", "-qam", "data in LFS")
    (lfs_repo / "data/sub/b.bin").write_bytes(b"edited")
    doc = import_json(lfs_repo)
    assert [c["path"] for c in doc["converted"]] == ["model.bin"]  # type: ignore[attr-defined]
    reasons = {s["path"]: s["reason"] for s in doc["skipped"]}  # type: ignore[attr-defined]
    assert "would be stored by Git LFS" in reasons["data/a.bin"]
    assert "modified" in reasons["data/sub/b.bin"]
    assert doc["removed"] == []  # `*.bin` still matches the data files
    assert git(lfs_repo, "check-attr", "filter", "--", "model.bin.gmv").endswith("unspecified\n")


def test_an_lfs_file_named_like_a_pointer_blocks_nothing_but_itself(lfs_repo: Path) -> None:
    # `*.gmv` in LFS: that file cannot become an artifact, and while its pattern stays every
    # pointer would be stored by Git LFS, so nothing is converted and nothing is written
    with open(lfs_repo / ".gitattributes", "a") as f:
        f.write("*.gmv filter=lfs diff=lfs merge=lfs -text\n")
    (lfs_repo / "legacy.gmv").write_bytes(b"not a gitmv pointer")
    git(lfs_repo, "add", ".")
    git(lfs_repo, "commit", "-qm", "a .gmv in LFS")
    before = snapshot(lfs_repo)
    doc = import_json(lfs_repo)
    assert doc["converted"] == [] and doc["removed"] == []
    reasons = {s["path"]: s["reason"] for s in doc["skipped"]}  # type: ignore[attr-defined]
    assert "named like a gitmv pointer" in reasons["legacy.gmv"]
    assert "model.bin.gmv would be stored by Git LFS" in reasons["model.bin"]
    assert snapshot(lfs_repo) == before


def test_paths_are_taken_from_where_the_user_stands(lfs_repo: Path) -> None:
    proc = gitmv(lfs_repo, "import", "lfs", "no/such/place", code=1)
    assert_clean_error(proc)
    assert "no/such/place: no such file or folder" in proc.stderr
    doc = import_json(lfs_repo / "data", "sub")
    assert [c["path"] for c in doc["converted"]] == ["data/sub/b.bin"]  # type: ignore[attr-defined]
    assert git(lfs_repo, "ls-files", "*.bin").split() == ["data/a.bin", "model.bin"]
    assert (lfs_repo / "data/sub/.gitignore").read_text() == "/b.bin\n"
