"""gc never removes an object that any reference reaches: a branch, a tag (light or
annotated), the stash, a linked worktree's HEAD, the index, a registry tag, a reflog entry
(unless the default remote has it). `gc --remote` lists what it deletes first, and deletes
only what no commit of the repository names."""

from __future__ import annotations

import random
from pathlib import Path

from tests.faults import StoreAudit, file_digest, folder_version
from tests.helpers import git, gitmv


def version(repo: Path, name: str, seed: int, message: str | None = None) -> str:
    """Write new bytes to `name`, add it (and commit, with a message); return its oid."""
    data = random.Random(seed).randbytes(20_000 + seed)
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    gitmv(repo, "add", name)
    if message:
        git(repo, "commit", "-qm", message)
    return file_digest(path)


def folder(repo: Path, name: str, seed: int) -> set[str]:
    """A folder artifact, added; returns the oids of its files."""
    rng = random.Random(seed)
    for i in range(5):
        (repo / name / f"{i}.bin").parent.mkdir(parents=True, exist_ok=True)
        (repo / name / f"{i}.bin").write_bytes(rng.randbytes(1000 + i))
    gitmv(repo, "add", name)
    return set(folder_version(repo / name).files.values())


def test_gc_keeps_every_object_any_reference_reaches(repo: Path, tmp_path: Path) -> None:
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
    kept: dict[str, set[str]] = {}
    kept["main"] = {version(repo, "m.bin", 1, "main v1")}

    git(repo, "checkout", "-q", "-b", "side")  # a branch
    kept["branch"] = {version(repo, "m.bin", 2, "side")}
    git(repo, "checkout", "-q", "main")

    git(repo, "checkout", "-q", "--detach")  # a lightweight tag, a folder in it
    kept["tag"] = folder(repo, "data", 3) | {version(repo, "m.bin", 4, "tagged")}
    kept["tag"].add(_pointer_oid(repo, "data"))
    git(repo, "tag", "light")
    kept["annotated"] = {version(repo, "m.bin", 5, "annotated")}
    git(repo, "tag", "-a", "-m", "release", "heavy")

    git(repo, "checkout", "-q", "-b", "reg")  # a registry tag, the branch then deleted
    kept["registry"] = {version(repo, "r.bin", 6)}
    gitmv(repo, "add", "r.bin", "--name", "churn")
    git(repo, "commit", "-qm", "registered")
    gitmv(repo, "push")
    gitmv(repo, "registry", "register", "churn", "--version", "v1.0.0")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "reg", "side")
    # Only the deleted branch and HEAD's reflog reach it: an older version, never pushed.
    dropped = kept.pop("branch")
    git(repo, "branch", "-q", "side", "light~0")  # the branch again, elsewhere
    git(repo, "checkout", "-q", "side")
    kept["branch"] = {version(repo, "m.bin", 7, "side again")}
    git(repo, "checkout", "-q", "main")
    gitmv(repo, "checkout")

    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt"))  # a worktree HEAD
    kept["worktree"] = {version(tmp_path / "wt", "w.bin", 8, "worktree only")}

    kept["stash"] = {version(repo, "m.bin", 9)}  # a pointer change, stashed
    git(repo, "stash", "-q")
    gitmv(repo, "checkout")  # the work tree back to main's bytes

    kept["index"] = {version(repo, "staged.bin", 10)}  # staged, never committed

    garbage = {version(repo, "m.bin", 11)}  # added and pushed, then the pointer put back
    gitmv(repo, "push", "m.bin")
    git(repo, "checkout", "-q", "HEAD", "--", "m.bin.gmv")
    gitmv(repo, "checkout", "--force")
    gitmv(repo, "push", "--all")  # every local branch's and tag's commits
    gitmv(repo, "push", "--rev", "stash")
    gitmv(tmp_path / "wt", "push")
    gitmv(repo, "push")  # the index's staged.bin
    assert not (repo / "m.bin.gmv").read_text().count(next(iter(garbage)))

    cache = StoreAudit(repo / ".git" / "gitmv" / "cache")
    store = StoreAudit(tmp_path / "store")
    everything = set().union(*kept.values())
    assert everything <= cache.oids()

    out = gitmv(repo, "gc").stdout
    assert "removed 1 objects" in out, out
    assert "kept 1 objects" in out and "not on the default remote" in out, out
    for kind, oids in kept.items():
        assert oids <= cache.oids(), f"gc removed an object only the {kind} reaches"
    assert dropped <= cache.oids(), "gc removed the only copy of a reflog's version"
    assert garbage.isdisjoint(cache.oids())

    assert everything | garbage <= store.oids()
    set_grace(repo, "0")
    out = gitmv(repo, "gc", "--remote", "origin", "--yes").stdout
    listed = out.partition("deleted")[0]
    garbage_hex = next(iter(garbage)).split(":")[1]
    assert f"{garbage_hex[:12]}) (named by no commit)" in listed, out  # listed first
    for kind, oids in kept.items():
        assert oids <= store.oids(), f"gc --remote deleted an object only the {kind} reaches"
    assert garbage.isdisjoint(store.oids())
    store.check()
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin").stdout

    # A clone with an empty cache decides the same for the refs it has (its branches
    # arrive as remote-tracking ones, tags as tags); the stash, the other worktree and
    # the index are the first repository's own, and only its gc can know of them.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    set_grace(clone, "0")
    gitmv(clone, "gc", "--remote", "origin", "--yes")
    for kind, oids in kept.items():
        if kind not in ("stash", "worktree", "index"):
            assert oids <= store.oids(), f"a clone's gc --remote deleted the {kind}'s object"


def set_grace(repo: Path, value: str) -> None:
    path = repo / ".git/gitmv/config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((path.read_text() if path.exists() else "") + f"gc:\n  remote_grace: {value}\n")


def _pointer_oid(repo: Path, artifact: str) -> str:
    for line in (repo / f"{artifact}.gmv").read_text().splitlines():
        if line.startswith("oid: "):
            return line[5:]
    raise AssertionError(f"{artifact}.gmv has no oid")
