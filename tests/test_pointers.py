"""gitmv.repo.pointers on real git: each source of pointers, and the one rule for a broken
pointer on each (an error naming where it was read, never a silent skip)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gitmv.base import git as gitcmd
from gitmv.base.errors import GitmvError, PointerError
from gitmv.ops.hooks import PushedRef
from gitmv.ops.verify import needed_pointers
from gitmv.repo import pointers
from gitmv.repo.context import Repo
from gitmv.store.hashing import hash_bytes
from gitmv.store.pointer import MAX_SIZE
from tests.helpers import git

ZERO = "0" * 40
CONFLICT = b"<<<<<<< HEAD\ngitmv: 1\n=======\n>>>>>>> side\n"


def text(data: bytes) -> bytes:
    return f"gitmv: 1\noid: {hash_bytes(data)}\nsize: {len(data)}\nkind: file\n".encode()


def put(repo: Path, name: str, body: bytes) -> None:
    """Write a pointer file (no artifact needed: these readers never look at bytes)."""
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def commit(repo: Path, files: dict[str, bytes], message: str) -> str:
    for name, body in files.items():
        put(repo, name, body)
    git(repo, "add", "-f", *files)
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


# -- the work tree ---------------------------------------------------------------------------


def test_work_tree_pointers_are_selected_by_artifact_pointer_or_folder(repo: Path) -> None:
    put(repo, "a.bin.gmv", text(b"a"))
    put(repo, "d/b.bin.gmv", text(b"b"))
    put(repo, "d/c.bin.gmv", text(b"c"))
    r = Repo.open(repo)
    assert sorted(pointers.tracked(r)) == ["a.bin", "d/b.bin", "d/c.bin"]
    assert [a for a, _ in pointers.collect(r, ["d"])] == ["d/b.bin", "d/c.bin"]
    assert [a for a, _ in pointers.collect(r, ["a.bin.gmv"])] == ["a.bin"]
    (found,) = pointers.collect(r, ["d/c.bin"])
    assert found[1].oid == hash_bytes(b"c")
    with pytest.raises(GitmvError, match=re.escape("nope: no artifact tracked there")):
        pointers.select(r, pointers.tracked(r), ["nope"])
    files = {f.path: f for f in pointers.work_tree_files(repo)}
    assert files["d/b.bin.gmv"].parse().size == 1 and files["d/b.bin.gmv"].blob == ""


def test_a_broken_work_tree_pointer_is_an_error_naming_the_file(repo: Path) -> None:
    put(repo, "a.bin.gmv", text(b"a"))
    put(repo, "d/bad.bin.gmv", CONFLICT)
    r = Repo.open(repo)
    with pytest.raises(PointerError, match=re.escape("merge conflict in d/bad.bin.gmv")):
        pointers.collect(r)
    assert [a for a, _ in pointers.collect(r, ["a.bin"])] == ["a.bin"]  # not asked: not read
    (bad,) = [f for f in pointers.work_tree_files(repo) if f.path == "d/bad.bin.gmv"]
    with pytest.raises(PointerError, match=re.escape("merge conflict in d/bad.bin.gmv")):
        bad.parse()
    put(repo, "huge.bin.gmv", b"#" * (MAX_SIZE + 1))
    (huge,) = [f for f in pointers.work_tree_files(repo) if f.path == "huge.bin.gmv"]
    with pytest.raises(
        PointerError, match=re.escape("huge.bin.gmv: pointer is over the 1 MiB limit")
    ):
        huge.parse()


# -- the index -------------------------------------------------------------------------------


def test_index_files_are_the_staged_versions(repo: Path) -> None:
    put(repo, "m.bin.gmv", text(b"staged"))
    git(repo, "add", "m.bin.gmv")
    put(repo, "m.bin.gmv", text(b"work tree"))  # not staged: the index still holds the first
    put(repo, "bad.bin.gmv", CONFLICT)
    git(repo, "add", "bad.bin.gmv")
    r = Repo.open(repo)
    files = {f.path: f for f in pointers.index_files(r, repo)}
    assert sorted(files) == ["bad.bin.gmv", "m.bin.gmv"]
    assert files["m.bin.gmv"].parse().oid == hash_bytes(b"staged")
    assert files["m.bin.gmv"].blob == git(repo, "rev-parse", ":m.bin.gmv").strip()
    with pytest.raises(PointerError, match=re.escape("merge conflict in bad.bin.gmv")):
        files["bad.bin.gmv"].parse()


def test_unmerged_files_are_each_sides_pointer_and_a_broken_side_is_an_error(
    repo: Path,
) -> None:
    commit(repo, {"m.bin.gmv": text(b"base")}, "base")
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, {"m.bin.gmv": CONFLICT}, "theirs: broken")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"m.bin.gmv": text(b"ours")}, "ours")
    git(repo, "merge", "-q", "side", check=False)
    files = dict(pointers.unmerged_files(Repo.open(repo)))
    assert sorted(files) == [1, 2, 3] and {f.path for f in files.values()} == {"m.bin.gmv"}
    assert files[1].parse().oid == hash_bytes(b"base")
    assert files[2].parse().oid == hash_bytes(b"ours")
    with pytest.raises(PointerError, match=re.escape("merge conflict in m.bin.gmv")):
        files[3].parse()


# -- one revision ----------------------------------------------------------------------------


def test_pointers_at_a_revision_leave_out_what_is_no_pointer(repo: Path) -> None:
    first = commit(repo, {"m.bin.gmv": text(b"v1")}, "v1")
    os.symlink("m.bin.gmv", repo / "link.bin.gmv")
    git(repo, "add", "link.bin.gmv")
    commit(repo, {"m.bin.gmv": text(b"v2"), "odd.gmv/notes.txt": b"a folder, no pointer"}, "v2")
    assert "link.bin.gmv" in git(repo, "ls-files")
    r = Repo.open(repo)
    assert {a: p.oid for a, p in pointers.pointers_at(r, first).items()} == {
        "m.bin": hash_bytes(b"v1")
    }
    assert list(pointers.pointers_at(r, "HEAD")) == ["m.bin"]
    assert pointers.artifacts(r, "HEAD")["m.bin"].oid == hash_bytes(b"v2")


def test_a_broken_pointer_at_a_revision_is_an_error_naming_rev_and_path(repo: Path) -> None:
    commit(repo, {"m.bin.gmv": text(b"v1"), "bad.bin.gmv": b"gitmv: 1\nkind: file\n"}, "bad")
    r = Repo.open(repo)
    with pytest.raises(PointerError, match=re.escape("HEAD:bad.bin.gmv: missing key 'oid'")):
        pointers.pointers_at(r, "HEAD")
    commit(repo, {"bad.bin.gmv": b"#" * (MAX_SIZE + 10)}, "huge")
    with pytest.raises(
        PointerError, match=re.escape("HEAD:bad.bin.gmv: pointer is over the 1 MiB limit")
    ):
        pointers.pointers_at(r, "HEAD")
    (bad,) = [f for f in pointers.files_at(r, "HEAD", label="abc") if f.path == "bad.bin.gmv"]
    assert bad.data is None and bad.label == "abc:bad.bin.gmv"  # never read into memory


# -- history ---------------------------------------------------------------------------------


def test_history_lists_each_version_once(repo: Path) -> None:
    commit(repo, {"m.bin.gmv": text(b"v1")}, "v1")
    commit(repo, {"m.bin.gmv": text(b"v2"), "copy.bin.gmv": text(b"v1")}, "v2")
    git(repo, "checkout", "-q", "-b", "side", "HEAD~1")
    commit(repo, {"side.bin.gmv": text(b"s")}, "side")
    git(repo, "checkout", "-q", "main")
    (repo / "tree.gmv").mkdir()
    commit(repo, {"tree.gmv/x": b"a folder named like a pointer"}, "odd")
    r = Repo.open(repo)
    found = pointers.in_history(r, gitcmd.LOCAL_BRANCHES_AND_TAGS)
    assert sorted(p.oid for _, p in found) == sorted(hash_bytes(d) for d in (b"v1", b"v2", b"s"))
    assert len(pointers.history_files(r, ["main"])) == 2  # two blobs; the folder is no pointer


def test_a_broken_pointer_in_history_is_an_error_not_a_skip(repo: Path) -> None:
    commit(repo, {"m.bin.gmv": text(b"v1"), "bad.bin.gmv": CONFLICT}, "oops")
    commit(repo, {"bad.bin.gmv": text(b"fixed")}, "fixed")
    r = Repo.open(repo)
    with pytest.raises(PointerError, match=re.escape("merge conflict in bad.bin.gmv")):
        pointers.in_history(r, ["main"])
    fixed = pointers.in_history(r, ["--no-walk", "HEAD"])  # the tip alone is sound
    assert sorted(p.oid for _, p in fixed) == sorted([hash_bytes(b"fixed"), hash_bytes(b"v1")])
    commit(repo, {"big.bin.gmv": b"#" * (MAX_SIZE + 10)}, "huge")
    with pytest.raises(
        PointerError, match=re.escape("big.bin.gmv: pointer is over the 1 MiB limit")
    ):
        pointers.in_history(r, ["--no-walk", "HEAD"])


# -- the commits a push sends ----------------------------------------------------------------


def test_pointers_to_push_are_what_the_new_commits_change(repo: Path) -> None:
    base = commit(repo, {"m.bin.gmv": text(b"v1")}, "v1")
    tip = commit(repo, {"m.bin.gmv": text(b"v2"), "n.bin.gmv": text(b"n")}, "v2")
    r = Repo.open(repo)
    found = pointers.pointers_to_push(r, "origin", [PushedRef("main", tip, "main", base)])
    assert sorted((a, p.oid) for a, p in found) == [
        ("m.bin", hash_bytes(b"v2")),
        ("n.bin", hash_bytes(b"n")),
    ]
    assert pointers.pointers_to_push(r, "origin", [PushedRef("main", tip, "main", tip)]) == []
    assert [c for c, _ in pointers.commit_files(r, [tip, base])] == [tip, tip, base]


@pytest.mark.parametrize("body", [CONFLICT, b"#" * (MAX_SIZE + 10)], ids=["conflict", "huge"])
def test_a_broken_pointer_in_a_pushed_commit_refuses_the_push(repo: Path, body: bytes) -> None:
    base = commit(repo, {"m.bin.gmv": text(b"v1")}, "v1")
    tip = commit(repo, {"bad.bin.gmv": body}, "oops")
    r = Repo.open(repo)
    with pytest.raises(
        PointerError, match=re.escape(f"commit {tip[:10]} holds a broken pointer: ")
    ):
        pointers.pointers_to_push(r, "origin", [PushedRef("main", tip, "main", base)])


# -- every tip: what gc and verify keep ------------------------------------------------------


def test_files_everywhere_reads_refs_worktrees_indexes_and_work_trees(
    repo: Path, tmp_path: Path
) -> None:
    commit(repo, {"m.bin.gmv": text(b"main")}, "main")
    git(repo, "branch", "other")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "other")
    wt = tmp_path / "wt"
    commit(wt, {"o.bin.gmv": text(b"other")}, "other")  # only the other worktree's HEAD
    git(repo, "tag", "t1")
    put(repo, "m.bin.gmv", text(b"staged"))
    git(repo, "add", "m.bin.gmv")
    put(repo, "m.bin.gmv", text(b"work tree"))
    put(wt, "w.bin.gmv", text(b"other work tree"))
    put(repo, "bad.bin.gmv", b"gitmv: 1\noid: " + str(hash_bytes(b"kept")).encode() + b"\n")
    r = Repo.open(repo)
    files = pointers.files_everywhere(r)
    named = set()
    for f in files:
        try:
            named.add(f.parse().oid)
        except PointerError as exc:
            assert "bad.bin.gmv" in exc.message
    wanted = {b"main", b"other", b"staged", b"work tree", b"other work tree"}
    assert named == {hash_bytes(d) for d in wanted}
    assert files[0].blob == ""  # the work trees come first: reports name what the user sees
    # gc never deletes on doubt: the broken pointer's text still protects its oid
    assert needed_pointers(r)[hash_bytes(b"kept")] == ("unknown", "bad.bin")


def test_head_files_are_the_work_tree_before_the_first_commit(repo: Path) -> None:
    put(repo, "m.bin.gmv", text(b"new"))
    r = Repo.open(repo)
    assert [f.parse().oid for f in pointers.head_files(r)] == [hash_bytes(b"new")]
    commit(repo, {"m.bin.gmv": text(b"committed")}, "c")
    put(repo, "m.bin.gmv", text(b"edited"))
    (f,) = pointers.head_files(r)
    assert (f.label, f.parse().oid) == ("m.bin.gmv", hash_bytes(b"committed"))


# -- the diff between two revisions ----------------------------------------------------------


def test_diff_between_revisions_and_the_work_tree(repo: Path) -> None:
    a = commit(repo, {"gone.bin.gmv": text(b"g"), "m.bin.gmv": text(b"v1")}, "a")
    git(repo, "rm", "-q", "gone.bin.gmv")
    b = commit(repo, {"m.bin.gmv": text(b"v2"), "new.bin.gmv": text(b"n")}, "b")
    r = Repo.open(repo)
    changes = {
        c.path: (c.change, c.old and c.old.oid, c.new and c.new.oid) for c in pointers.diff(r, a, b)
    }
    assert changes == {
        "gone.bin": ("removed", hash_bytes(b"g"), None),
        "m.bin": ("modified", hash_bytes(b"v1"), hash_bytes(b"v2")),
        "new.bin": ("added", None, hash_bytes(b"n")),
    }
    assert pointers.diff(r) == []  # HEAD against an unchanged work tree
    put(repo, "m.bin.gmv", CONFLICT)
    with pytest.raises(PointerError, match=re.escape("merge conflict in m.bin.gmv")):
        pointers.diff(r)
    put(repo, "m.bin.gmv", text(b"v2"))
    commit(repo, {"gone.bin.gmv": b"gitmv: 1\n"}, "broken")
    with pytest.raises(PointerError, match=re.escape("HEAD:gone.bin.gmv: missing key")):
        pointers.diff(r, a, "HEAD")
