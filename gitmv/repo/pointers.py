"""Every way gitmv reads pointer files, written once: the work tree, an index, one revision,
history, the commits a push sends, every ref tip, and the diff between two of them.

What is a pointer: a file named `*.gmv`. In git that is a blob; a tree or a symlink named
`*.gmv` is not a pointer and no reader lists it. In the work tree `read_pointer` refuses a
link named `*.gmv` (it could lead out of the repository), while `work_tree_files`, read by
gc and verify, which keep on doubt, reads through it.

The one rule for a broken pointer (DESIGN 2): a pointer file over 1 MiB, or one
`pointer.parse` refuses, is broken, and a broken pointer is never skipped in silence. It is
a `PointerError` that names the file where it was read (`model.pt.gmv` in the work tree,
`REV:model.pt.gmv` at a revision, the commit for a push) and the problem. A reader that
returns pointers raises it for the first broken one, so the command changes nothing. A
caller that must go on past a broken pointer reads `PointerFile`s instead and meets the same
error from `PointerFile.parse`, one file at a time: gc and verify keep every oid its text
names (never delete on doubt), the hooks' restore reports it and restores the rest, gc's
names for a dry run leave it unnamed.
"""

from __future__ import annotations

import contextlib
import os

from gitmv.base import git
from gitmv.base.errors import GitmvError, PointerError
from gitmv.base.record import Record
from gitmv.store import pointer

# No typing, dataclasses or pathlib's names at run time: a clean `status` loads this module
# (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Protocol

    from gitmv.repo.context import Repo
    from gitmv.store.hashing import Oid
    from gitmv.store.pointer import Pointer

    class PushedTip(Protocol):
        """What a pushed ref says (ops.hooks.PushedRef): the sha sent, the sha the remote had."""

        @property
        def local_sha(self) -> str: ...

        @property
        def remote_sha(self) -> str: ...


class PointerFile(Record):
    """One pointer file as read from somewhere, not yet parsed."""

    _fields = ("path", "label", "data", "blob")

    __slots__ = _fields
    path: str  # root-relative, `/`-separated, ending in `.gmv`
    label: str  # how an error names it: the path, or `REV:path` at a revision
    data: bytes | None  # None: over the 1 MiB limit, so never read
    blob: str  # git's blob sha; "" for a work-tree file

    def __init__(self, path: str, label: str, data: bytes | None, blob: str = "") -> None:
        super().__init__(path, label, data, blob)

    @property
    def artifact(self) -> str:
        return pointer.artifact_path(self.path)

    def parse(self) -> Pointer:
        """The pointer, or the PointerError the module docstring's rule describes."""
        if self.data is None:
            raise PointerError(f"{self.label}: pointer is over the 1 MiB limit")
        return pointer.parse(self.data, self.label)


def _parse_all(files: Sequence[PointerFile]) -> list[tuple[str, Pointer]]:
    return [(f.artifact, f.parse()) for f in files]


def _blob_files(root: Path, entries: Sequence[tuple[str, str, str]]) -> list[PointerFile]:
    """(path, blob sha, label prefix) -> PointerFiles, in one batch read of git's objects."""
    found = git.read_objects(root, [sha for _, sha, _ in entries], pointer.MAX_SIZE)
    files = []
    for path, sha, where in entries:
        is_blob, data = found[sha]
        if not is_blob:
            raise GitmvError(f"git object {sha} is missing")
        files.append(PointerFile(path, f"{where}:{path}" if where else path, data, sha))
    return files


# -- the work tree ---------------------------------------------------------------------------


def tracked(repo: Repo) -> list[str]:
    """Root-relative paths of the artifacts whose pointer files are in the work tree."""
    return [
        pointer.artifact_path(p)
        for p in git.ls_pointers(repo.root)
        if os.path.isfile(repo.root / p)
    ]


def select(repo: Repo, artifacts: Sequence[str], paths: Sequence[str]) -> list[str]:
    """The artifacts the user named: an artifact, its pointer, or a folder holding some."""
    if not paths:
        return list(artifacts)
    chosen: dict[str, None] = {}
    for user_path in paths:
        rel = repo.relpath(user_path, allow_root=True).removesuffix(pointer.SUFFIX)
        hits = [a for a in artifacts if not rel or a == rel or a.startswith(rel + "/")]
        if not hits:
            raise GitmvError(
                f"{user_path}: no artifact tracked there", hint="`gitmv ls` lists them"
            )
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


def read_pointer(repo: Repo, artifact: str) -> Pointer:
    """The work tree's pointer of one artifact (a link, a folder or a broken file: an error
    naming the file as the user would type it)."""
    repo.abspath(artifact)  # refuses a pointer whose folders lead out of the repository
    return pointer.read(
        repo.root / (artifact + pointer.SUFFIX), repo.display(artifact + pointer.SUFFIX)
    )


def collect(repo: Repo, paths: Sequence[str] = ()) -> list[tuple[str, Pointer]]:
    """(artifact, pointer) of each work-tree pointer the user named (all when no paths)."""
    return [(a, read_pointer(repo, a)) for a in select(repo, tracked(repo), paths)]


def work_tree_files(root: Path) -> list[PointerFile]:
    """The pointer files of the work tree at `root` (any worktree of the repository),
    unparsed; one that vanished while being read is left out."""
    found = []
    for rel in git.ls_pointers(root):
        with contextlib.suppress(OSError), open(root / rel, "rb") as f:
            # one byte over the limit is enough for `parse` to call it oversized
            found.append(PointerFile(rel, rel, f.read(pointer.MAX_SIZE + 1)))
    return found


# -- an index --------------------------------------------------------------------------------


def index_files(repo: Repo, worktree: Path) -> list[PointerFile]:
    """The pointer files staged in `worktree`'s index (any worktree of the repository)."""
    from gitmv.base import githistory  # here: a clean status needs none of it

    return _blob_files(repo.root, [(p, sha, "") for p, sha in githistory.index_pointers(worktree)])


def unmerged_files(repo: Repo) -> list[tuple[int, PointerFile]]:
    """(stage, pointer file) of each pointer file a merge left unmerged in the index: stage
    1 is the common base, 2 ours, 3 theirs."""
    from gitmv.base import githistory  # here: a clean status needs none of it

    entries = githistory.unmerged_pointers(repo.root)
    files = _blob_files(repo.root, [(path, sha, "") for _, sha, path in entries])
    return [(stage, f) for (stage, _, _), f in zip(entries, files, strict=True)]


# -- one revision ----------------------------------------------------------------------------


def files_at(repo: Repo, rev: str, label: str | None = None) -> list[PointerFile]:
    """The pointer files of `rev`'s tree (one batch read), named `LABEL:path` (`rev` unless
    a label is given)."""
    entries = git.ls_tree_pointers(repo.root, rev)
    where = rev if label is None else label
    return _blob_files(repo.root, [(path, sha, where) for path, sha in entries])


def pointers_at(repo: Repo, rev: str) -> dict[str, Pointer]:
    """Artifact path -> pointer, for every pointer file in `rev`'s tree."""
    return dict(_parse_all(files_at(repo, rev)))


def artifacts(repo: Repo, rev: str | None) -> dict[str, Pointer]:
    """Artifact path -> pointer at `rev`, or in the work tree when `rev` is None (`ls`)."""
    if rev is None:
        return dict(collect(repo))
    return pointers_at(repo, rev)


# -- history ---------------------------------------------------------------------------------


def history_files(repo: Repo, revs: Sequence[str]) -> list[PointerFile]:
    """Every distinct pointer blob reachable from `revs` (rev-list arguments), each once.

    `git rev-list --objects` lists them in one pass and one `cat-file --batch` reads them: a
    pointer that stays the same over a thousand commits is read once, so the cost grows with
    the number of versions, not of commits.
    """
    from gitmv.base import githistory  # here: a clean status needs none of it

    listed = githistory.history_pointer_blobs(repo.root, revs)
    found = git.read_objects(repo.root, [sha for _, sha in listed], pointer.MAX_SIZE)
    # A tree named *.gmv is listed too (see history_pointer_blobs): not a pointer.
    return [PointerFile(path, path, found[sha][1], sha) for path, sha in listed if found[sha][0]]


def in_history(repo: Repo, revs: Sequence[str]) -> list[tuple[str, Pointer]]:
    """One (artifact, pointer) per distinct object named in the history of `revs`
    (what `push --all` and `push --rev` upload)."""
    found: dict[Oid, tuple[str, Pointer]] = {}
    for f in history_files(repo, revs):
        p = f.parse()
        found.setdefault(p.oid, (f.artifact, p))
    return list(found.values())


# -- commits: what they add or change ----------------------------------------------------------


def commit_files(repo: Repo, commits: Sequence[str]) -> list[tuple[str, PointerFile]]:
    """(commit, pointer file) for each distinct pointer blob that `commits` add or change,
    with the first of `commits` that does (give them newest first to get the newest)."""
    from gitmv.base import githistory  # here: a clean status needs none of it

    first: dict[str, tuple[str, str]] = {}  # blob -> (commit, path): each version once
    for commit, path, blob in githistory.pointer_blobs_in(repo.root, commits):
        first.setdefault(blob, (commit, path))
    if not first:
        return []
    files = _blob_files(repo.root, [(path, blob, "") for blob, (_, path) in first.items()])
    return [(commit, f) for (commit, _), f in zip(first.values(), files, strict=True)]


def pointers_to_push(
    repo: Repo, remote_name: str, refs: Sequence[PushedTip]
) -> list[tuple[str, Pointer]]:
    """(artifact, pointer) for each pointer version the pushed commits add or change.

    Only commits the remote's refs do not reach are read: a push that carries nothing
    new, a tag on a pushed commit among them, reads no commit at all. A broken pointer
    refuses the push, naming its commit.
    """
    from gitmv.base import githistory  # here: a clean status needs none of it

    tips = [r.local_sha for r in refs if not git.is_null_sha(r.local_sha)]  # zeros: a deletion
    known = [r.remote_sha for r in refs if not git.is_null_sha(r.remote_sha)]
    commits = githistory.commits_not_on(repo.root, tips, known, remote_name)
    return [(f.artifact, _parse_pushed(f, commit)) for commit, f in commit_files(repo, commits)]


def _parse_pushed(f: PointerFile, commit: str) -> Pointer:
    try:
        return f.parse()
    except PointerError as exc:
        raise PointerError(
            f"push refused: commit {commit[:10]} holds a broken pointer: {exc.message}",
            hint="fix the pointer in a new commit (after a conflict, keep one side's lines), "
            "or rewrite that commit, then push again",
        ) from None


# -- every tip: what gc and verify must keep -----------------------------------------------------


def files_everywhere(repo: Repo) -> list[PointerFile]:
    """The pointer files at every ref, every worktree's HEAD, index and work tree; the work
    trees' first, so that reports name what the user sees."""
    from gitmv.base import githistory  # here: a clean status needs none of it

    entries: list[tuple[str, str, str]] = []  # (path, blob sha, label prefix)
    files: list[PointerFile] = []
    trees = set(githistory.ref_commits(repo.root))
    for wt in githistory.worktrees(repo.root):
        if wt.head:
            trees.add(wt.head)
        if wt.present:
            entries.extend((p, sha, "") for p, sha in githistory.index_pointers(wt.path))
            files.extend(work_tree_files(wt.path))
    for commit in sorted(trees):
        entries.extend((p, sha, "") for p, sha in git.ls_tree_pointers(repo.root, commit))
    return files + _blob_files(repo.root, entries)


def head_files(repo: Repo) -> list[PointerFile]:
    """The pointer files of the current commit (of the work tree before the first commit)."""
    if git.head_commit(repo.root) is None:
        return work_tree_files(repo.root)
    return files_at(repo, "HEAD", label="")


# -- the diff between two revisions ----------------------------------------------------------


class Change(Record):
    _fields = ("path", "change", "old", "new")
    __slots__ = _fields
    path: str
    change: str  # added | removed | modified
    old: Pointer | None
    new: Pointer | None

    def __init__(self, path: str, change: str, old: Pointer | None, new: Pointer | None) -> None:
        super().__init__(path, change, old, new)


def diff(repo: Repo, rev_a: str | None = None, rev_b: str | None = None) -> list[Change]:
    """What changed from `rev_a` (default HEAD) to `rev_b` (default the work tree)."""
    if rev_a is None:
        old = pointers_at(repo, "HEAD") if git.head_commit(repo.root) else {}
    else:
        old = pointers_at(repo, rev_a)
    new = artifacts(repo, rev_b)
    changes = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if a is None:
            changes.append(Change(path, "added", None, b))
        elif b is None:
            changes.append(Change(path, "removed", a, None))
        elif (a.oid, a.size, a.kind, a.exec) != (b.oid, b.size, b.kind, b.exec):
            changes.append(Change(path, "modified", a, b))
    return changes
