"""Where pointer blobs are: the commits refs and worktrees name, the indexes, and walks
over history (what a push sends, what gc must respect). Each question is one git plumbing
command run through gitmv.base.git; the blobs themselves are read by `git.read_objects`.
"""

from __future__ import annotations

from pathlib import Path

from gitmv.base.git import POINTER_GLOB, out, run
from gitmv.base.record import Record

# mypy reads this constant as typing's: a pre-push hook loads this module, and typing
# costs it a few ms
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def ref_commits(root: Path) -> list[str]:
    """The commit every ref names (branches, tags peeled, remote-tracking branches, stash)."""
    fmt = "%(objectname) %(objecttype) %(*objectname) %(*objecttype)"
    commits = []
    for line in out(["for-each-ref", f"--format={fmt}"], root).splitlines():
        sha, kind, peeled, peeled_kind = [*line.split(" "), "", "", ""][:4]
        if kind == "commit":
            commits.append(sha)
        elif kind == "tag" and peeled_kind == "commit":
            commits.append(peeled)
    return sorted(set(commits))


class Worktree(Record):
    _fields = ("path", "head", "present")
    __slots__ = _fields
    path: Path
    head: str | None  # None before the first commit
    present: bool  # False when its folder is gone (`git worktree prune` would drop it)

    def __init__(self, path: Path, head: str | None, present: bool) -> None:
        super().__init__(path, head, present)


def worktrees(root: Path) -> list[Worktree]:
    """Every worktree of the repository (the main one first), with its HEAD commit."""
    found: list[Worktree] = []
    path: Path | None = None
    head: str | None = None
    bare = False
    for line in [*out(["worktree", "list", "--porcelain"], root).splitlines(), ""]:
        if line.startswith("worktree "):
            path, head, bare = Path(line[len("worktree ") :]), None, False
        elif line.startswith("HEAD "):
            sha = line[len("HEAD ") :]
            head = None if set(sha) == {"0"} else sha
        elif line == "bare":
            bare = True
        elif not line and path is not None:
            if not bare:
                found.append(Worktree(path, head, path.is_dir()))
            path = None
    return found


def index_pointers(worktree: Path) -> list[tuple[str, str]]:
    """(path, blob sha) of each pointer file staged in `worktree`'s index."""
    raw = out(["ls-files", "-s", "-z", "--", POINTER_GLOB], worktree)
    found = []
    for record in raw.split("\0"):
        meta, _, path = record.partition("\t")
        if path.endswith(".gmv") and meta and not meta.startswith("120000"):
            found.append((path, meta.split(" ")[1]))
    return found


def commits_not_on(
    root: Path, tips: Sequence[str], exclude: Sequence[str], remote: str
) -> list[str]:
    """Commits reachable from `tips` but from neither `exclude` nor `refs/remotes/<remote>/`.

    `--ignore-missing` because a remote sha git reports may be a commit we never fetched.
    """
    if not tips:
        return []
    args = ["rev-list", "--ignore-missing", *tips, *(f"^{sha}" for sha in exclude)]
    return out([*args, "--not", f"--remotes={remote}"], root).split()


def pointer_blobs_in(root: Path, commits: Sequence[str]) -> list[tuple[str, str, str]]:
    """(commit, path, blob sha) of each pointer file that `commits` add or change.

    One `diff-tree --stdin` for all commits; `-m` so a merge that changes a pointer
    (a resolved conflict) is seen too, `--root` so a first commit is.
    """
    if not commits:
        return []
    args = ["diff-tree", "--stdin", "-m", "-r", "--root", "-z", "--no-renames", "--no-abbrev"]
    args += ["--diff-filter=d", "--", POINTER_GLOB]
    raw = run(args, root, input="".join(c + "\n" for c in commits).encode()).stdout
    found = []
    commit = ""
    tokens = raw.decode("utf-8", errors="surrogateescape").split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith(":"):
            _, new_mode, _, new_sha, _ = token[1:].split(" ")
            path = tokens[i + 1]
            if new_mode in ("100644", "100755") and path.endswith(".gmv"):
                found.append((commit, path, new_sha))
            i += 2
        else:
            commit = token.strip() or commit
            i += 1
    return found


def history_pointer_blobs(root: Path, revs: Sequence[str]) -> list[tuple[str, str]]:
    """(path, blob sha) of every distinct pointer blob in the trees of the commits reachable
    from `revs` (rev-list arguments, or commit shas resolved by the caller).

    One `git rev-list --objects` pass for the whole history: git visits each tree once, so
    the cost grows with the number of distinct trees and blobs, not with commits x files.
    A blob seen under two paths is listed once (under the first path git meets). A tree
    named `*.gmv` may be listed too (no `--filter=object:type=blob`: that needs git 2.32);
    readers skip what is not a blob.
    """
    if not revs:
        return []
    args = ["rev-list", "--objects", "--ignore-missing", *revs]
    raw = out([*args, "--"], root)
    found = []
    for line in raw.splitlines():
        sha, sep, path = line.partition(" ")
        if sep and path.endswith(".gmv"):
            found.append((path, sha))
    return found


def rev_list(root: Path, revs: Sequence[str]) -> list[str]:
    """The commits reachable from `revs`, newest first."""
    if not revs:
        return []
    return out(["rev-list", "--ignore-missing", *revs, "--"], root).split()


def unmerged_pointers(root: Path) -> list[tuple[int, str, str]]:
    """(stage, blob sha, path) of each pointer file a merge left unmerged (`ls-files -u`):
    stage 1 is the common base, 2 ours, 3 theirs."""
    raw = out(["ls-files", "-u", "-z", "--", POINTER_GLOB], root)
    found = []
    for record in raw.split("\0"):
        meta, _, path = record.partition("\t")
        if not path.endswith(".gmv"):
            continue
        _mode, sha, stage = meta.split(" ")
        found.append((int(stage), sha, path))
    return found


def commit_authors(root: Path, commits: Sequence[str]) -> dict[str, tuple[str, int]]:
    """commit -> (`Author <email>`, author time in epoch seconds), in one `git log --no-walk`."""
    if not commits:
        return {}
    fmt = "--format=%H%x00%an <%ae>%x00%at"
    found = {}
    for line in out(["log", "--no-walk=unsorted", fmt, *commits, "--"], root).splitlines():
        sha, who, seconds = [*line.split("\0"), "", ""][:3]
        if seconds.isdigit():
            found[sha] = (who, int(seconds))
    return found
