"""Every call of the git binary goes through here: one small typed function per question.
Where pointer blobs are (refs, worktrees, indexes, history walks) is asked in
gitmv.base.githistory, through `run` and `out` below.

gitmv calls `git` directly rather than through GitPython: importing GitPython costs
~75 ms, over a third of the budget for a clean `gitmv status`, and every question
here is one plumbing command.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from gitmv.base.errors import GitmvError, NotARepository
from gitmv.base.record import Record
from gitmv.base.tagrecord import TagRecord as TagRecord  # (its own module: this one's size)

TYPE_CHECKING = False  # mypy reads it as typing's; typing costs every start a few ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

POINTER_GLOB = "*.gmv"


class RepoPaths(Record):
    _fields = ("root", "git_dir", "common_dir", "hooks")
    __slots__ = _fields
    root: Path  # the work tree's top folder
    git_dir: Path  # this worktree's git dir
    common_dir: Path  # shared by all worktrees: the cache lives below it
    # where git runs hooks from (`core.hooksPath` honoured): asked in the same rev-parse,
    # so that every command can see whether gitmv's hooks are there without a process
    hooks: Path | None

    def __init__(
        self, root: Path, git_dir: Path, common_dir: Path, hooks: Path | None = None
    ) -> None:
        super().__init__(root, git_dir, common_dir, hooks)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["GIT_OPTIONAL_LOCKS"] = "0"  # a read never takes the index lock from a user's git
    return env


# How long a command that writes the index waits for another git process to release it.
INDEX_LOCK_WAIT = 3.0
_INDEX_LOCKED = r"Unable to create '([^']*index\.lock)': File exists"


def run(
    args: Sequence[str], cwd: Path, *, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    deadline = time.monotonic() + INDEX_LOCK_WAIT
    while True:
        try:
            proc = subprocess.run(
                ["git", *args], cwd=cwd, input=input, capture_output=True, env=_env()
            )
        except FileNotFoundError:
            raise GitmvError("git is not installed or not on PATH", hint="install git") from None
        if proc.returncode == 0 or not check:
            return proc
        stderr = proc.stderr.decode(errors="replace")
        import re  # here: only a failed git call reads its message

        locked = re.search(_INDEX_LOCKED, stderr)
        if locked is None:
            err = stderr.strip().splitlines()
            raise GitmvError(f"git {args[0]} failed: {err[-1] if err else proc.returncode}")
        if time.monotonic() > deadline:  # a git running now (a hook's checkout) lets go soon
            raise GitmvError(
                f"git {args[0]} failed: the index is locked by {locked.group(1)}",
                hint="another git process is running in this repository; if none is, "
                "one was killed: remove that file and run the command again",
            )
        time.sleep(0.05)


def out(args: Sequence[str], cwd: Path) -> str:
    return run(args, cwd).stdout.decode("utf-8", errors="surrogateescape")


def repo_paths(cwd: Path) -> RepoPaths:
    proc = run(
        [
            "rev-parse",
            "--path-format=absolute",
            "--show-toplevel",
            "--git-dir",
            "--git-common-dir",
            "--git-path",
            "hooks",
        ],
        cwd,
        check=False,
    )
    lines = proc.stdout.decode("utf-8", errors="surrogateescape").splitlines()
    if proc.returncode != 0 or len(lines) != 4:
        if b"bare" in proc.stderr or (proc.returncode == 0 and len(lines) == 3):
            raise NotARepository(
                f"{cwd} is a bare repository", hint="run gitmv inside a work tree (a clone)"
            )
        raise NotARepository(
            f"not a git repository: {cwd}", hint="run `git init` first, or cd into a repository"
        )
    root, git_dir, common_dir, hooks = (Path(line) for line in lines)
    return RepoPaths(root, git_dir, common_dir, hooks)


def ls_pointers(root: Path) -> list[str]:
    """Pointer files in the index or untracked-but-not-ignored, relative to `root`."""
    args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", POINTER_GLOB]
    raw = out(args, root)
    return sorted({p for p in raw.split("\0") if p.endswith(".gmv")})


def ls_tree_pointers(root: Path, rev: str) -> list[tuple[str, str]]:
    """(path, blob sha) of each pointer file in `rev`'s tree."""
    raw = out(["ls-tree", "-r", "-z", "--full-tree", rev_commit(root, rev), "--"], root)
    found = []
    for record in raw.split("\0"):
        if not record.endswith(".gmv"):
            continue
        meta, _, path = record.partition("\t")
        mode, kind, sha = meta.split(" ")
        if kind == "blob" and mode != "120000":
            found.append((path, sha))
    return found


def read_blobs(root: Path, shas: Iterable[str], limit: int) -> dict[str, bytes | None]:
    """Blob contents by sha; None for a blob over `limit` bytes."""
    found = _cat_blobs(root, shas, limit)
    for sha, (present, _) in found.items():
        if not present:
            raise GitmvError(f"git object {sha} is missing")
    return {sha: body for sha, (_, body) in found.items()}


def _cat_blobs(
    root: Path, specs: Iterable[str], limit: int
) -> dict[str, tuple[bool, bytes | None]]:
    """(exists as a blob, contents) for each `sha` or `rev:path`, in two git calls.

    Sizes are asked first (`--batch-check`), so a hostile multi-gigabyte blob posing as a
    pointer is never read into memory; only blobs within `limit` are fetched.
    """
    wanted = list(dict.fromkeys(specs))
    if not wanted:
        return {}
    listing = "".join(s + "\n" for s in wanted).encode()
    checked = run(["cat-file", "--batch-check"], root, input=listing).stdout.splitlines()
    found: dict[str, tuple[bool, bytes | None]] = {}
    small = []
    for spec, line in zip(wanted, checked, strict=True):
        header = line.split(b" ")
        is_blob = len(header) == 3 and header[1] == b"blob"
        found[spec] = (is_blob, None)
        if is_blob and int(header[2]) <= limit:
            small.append(spec)
    if small:
        data = run(["cat-file", "--batch"], root, input="".join(s + "\n" for s in small).encode())
        body_data = data.stdout
        pos = 0
        for spec in small:
            end = body_data.index(b"\n", pos)
            size = int(body_data[pos:end].split(b" ")[2])
            found[spec] = (True, body_data[end + 1 : end + 1 + size])
            pos = end + 1 + size + 1
    return found


def rev_commit(root: Path, rev: str) -> str:
    proc = run(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        root,
        check=False,
    )
    if proc.returncode != 0:
        raise GitmvError(f"unknown revision {rev!r}", hint="name a branch, tag or commit")
    return proc.stdout.decode().strip()


def head_commit(root: Path) -> str | None:
    proc = run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def stage(root: Path, paths: Sequence[str]) -> None:
    if paths:
        run(["add", "-f", "--", *paths], root)  # a pointer is staged even in an ignored folder


def untrack(root: Path, paths: Sequence[str]) -> list[str]:
    """Remove `paths` from the index (not the disk) where git tracks them; return those."""
    if not paths:
        return []
    tracked = out(["ls-files", "-z", "--cached", "--", *paths], root).split("\0")
    tracked = [p for p in tracked if p]
    if tracked:
        run(["rm", "-r", "-q", "--cached", "--", *tracked], root)
    return tracked


def move(root: Path, src: str, dst: str) -> None:
    """`git mv`: a tracked file's rename, staged as one (`gitmv mv` moves pointers so)."""
    run(["mv", "--", src, dst], root)


def version() -> str:
    """`git --version`'s number, e.g. "2.39.5" (`gitmv doctor`)."""
    text = out(["--version"], Path.cwd()).strip()
    return text.removeprefix("git version ").split(" ", 1)[0]


def config_get(root: Path, key: str) -> str | None:
    proc = run(["config", "--get", key], root, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


# -- registry tags ---------------------------------------------------------------------------

# One record per tag, fields NUL-separated (git messages and names never hold NUL).
_TAG_FIELDS = (
    "%(refname:strip=2)",
    "%(objecttype)",
    "%(objectname)",
    "%(*objecttype)",
    "%(*objectname)",
    "%(taggername)",
    "%(taggeremail:trim)",
    "%(taggerdate:raw)",
    "%(contents:subject)",
    "%(contents:body)",
    "%(contents:signature)",
)


def tag_records(root: Path) -> list[TagRecord]:
    """Every tag of the repository, read in one `git for-each-ref` call."""

    fmt = "%00".join(_TAG_FIELDS) + "%00"
    raw = out(["for-each-ref", f"--format={fmt}", "refs/tags"], root)
    fields = raw.split("\0")
    width = len(_TAG_FIELDS)
    records = []
    for start in range(0, len(fields) - width + 1, width):
        row = fields[start : start + width]
        name = row[0].lstrip("\n")  # the line break git puts after the previous record
        kind, target, peeled_kind, peeled = row[1:5]
        if kind != "tag":
            records.append(TagRecord(name, False, target if kind == "commit" else None))
            continue
        seconds, _, offset = row[7].partition(" ")
        records.append(
            TagRecord(
                name,
                True,
                peeled if peeled_kind == "commit" else None,
                row[5],
                row[6],
                int(seconds) if seconds.lstrip("-").isdigit() else 0,
                offset or "+0000",
                row[8],
                row[9].rstrip("\n"),
                bool(row[10]),
            )
        )
    return records


def create_annotated_tag(root: Path, name: str, commit: str, message: str) -> None:
    """`git tag -a`: git fills in the tagger and date, and signs when `tag.gpgSign` is set."""
    proc = run(
        ["tag", "-a", "--cleanup=whitespace", "-F", "-", "--", name, commit],
        root,
        input=message.encode(),
        check=False,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        if "tell me who you are" in err or "empty ident" in err or "auto-detect" in err:
            raise GitmvError(
                f"cannot create tag {name}: git does not know who you are",
                hint='run: git config user.name "Your Name" && git config user.email YOU@HOST',
            )
        if "already exists" in err:
            raise GitmvError(
                f"tag {name} already exists",
                hint="another registry event got there first; run the command again",
            )
        lines = err.splitlines()
        raise GitmvError(f"cannot create tag {name}: {lines[-1] if lines else proc.returncode}")


def read_paths_at(root: Path, specs: Iterable[str], limit: int) -> dict[str, bytes | None]:
    """Contents of `rev:path` blobs; None where absent, not a blob, or oversized."""
    return {spec: body for spec, (_, body) in _cat_blobs(root, specs, limit).items()}


def read_objects(
    root: Path, shas: Iterable[str], limit: int
) -> dict[str, tuple[bool, bytes | None]]:
    """(is a blob, contents) of each object: contents None for a blob over `limit` bytes and
    for what is no blob (a tree a history listing named like a pointer)."""
    return _cat_blobs(root, shas, limit)


# -- questions the hooks ask -------------------------------------------------------------------


def hooks_dir(root: Path) -> Path:
    """Where git runs hooks from: `core.hooksPath` when set, else `<common dir>/hooks`."""
    return Path(out(["rev-parse", "--path-format=absolute", "--git-path", "hooks"], root).strip())


def commit_or_none(root: Path, rev: str) -> str | None:
    """`rev` as a commit sha, or None when it names no commit (ORIG_HEAD before any merge)."""
    proc = run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    return (
        run(["merge-base", "--is-ancestor", ancestor, descendant], root, check=False).returncode
        == 0
    )


def changed_pointer_files(root: Path, old: str, new: str) -> list[str]:
    """Pointer files added, changed or removed between two commits (plumbing: no user config)."""
    args = ["diff-tree", "-r", "-z", "--name-only", "--no-renames", old, new, "--", POINTER_GLOB]
    return [p for p in out(args, root).split("\0") if p.endswith(".gmv")]


def staged_pointer_files(root: Path) -> list[str]:
    """Pointer files whose staged version differs from HEAD's (what a squash merge changed)."""
    args = ["diff-index", "--cached", "-z", "--name-only", "--no-renames", "HEAD", "--"]
    return [p for p in out([*args, POINTER_GLOB], root).split("\0") if p.endswith(".gmv")]


def global_config_get(key: str) -> str | None:
    proc = run(["config", "--global", "--get", key], Path.cwd(), check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def global_config_set(key: str, value: str) -> None:
    run(["config", "--global", key, value], Path.cwd())


def global_config_unset(key: str) -> None:
    run(["config", "--global", "--unset", key], Path.cwd(), check=False)


def changed_paths(root: Path) -> list[str]:
    """Tracked paths whose index or work tree differs from HEAD (untracked files aside)."""
    raw = out(["status", "--porcelain", "-z", "--untracked-files=no"], root)
    records = raw.split("\0")
    paths = []
    skip = False
    for record in records:
        if skip:  # the old name of a rename or copy
            skip = False
            continue
        if len(record) < 4:
            continue
        paths.append(record[3:])
        skip = "R" in record[:2] or "C" in record[:2]
    return paths


def tracked_files(root: Path, paths: Sequence[str]) -> list[str]:
    """The files git tracks at or below `paths` (a checkout must never delete those)."""
    if not paths:
        return []
    literal = [f":(literal){p}" for p in paths]  # an artifact named `m[1].pt` is no glob
    return [p for p in out(["ls-files", "-z", "--cached", "--", *literal], root).split("\0") if p]


def merge_base(root: Path, a: str, b: str) -> str | None:
    proc = run(["merge-base", a, b], root, check=False)
    sha = proc.stdout.decode().strip()
    return sha if proc.returncode == 0 and sha else None


# -- history (gc retention, push --all / --rev): walked in gitmv.base.githistory -------------

# rev-list arguments naming every commit gc must respect: every ref (branches, tags, remote-
# tracking branches, the stash, registry tags) and every reflog entry (a deleted branch's
# commits stay in HEAD's reflog until git itself expires them).
ALL_HISTORY = ("--all", "--reflog")
LOCAL_BRANCHES_AND_TAGS = ("--branches", "--tags")


def is_ignored(root: Path, path: str) -> bool:
    """Whether git ignores `path` (root-relative); a tracked file never is."""
    return run(["check-ignore", "-q", "--", path], root, check=False).returncode == 0


# -- Git LFS (gitmv import lfs) ----------------------------------------------------------------


def is_null_sha(sha: str) -> bool:
    """git's all-zeros object name: "no commit" in hook arguments (a new or deleted ref,
    a clone's first checkout)."""
    return not sha.strip("0")
