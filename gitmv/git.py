"""Every call of the git binary goes through here: one small typed function per question.

gitmv calls `git` directly rather than through GitPython: importing GitPython costs
~75 ms, over a third of the budget for a clean `gitmv status`, and every question
here is one plumbing command.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmv.errors import GitmvError, NotARepository

POINTER_GLOB = "*.gmv"


@dataclass(frozen=True)
class RepoPaths:
    root: Path  # the work tree's top folder
    git_dir: Path  # this worktree's git dir
    common_dir: Path  # shared by all worktrees: the cache lives below it


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["GIT_OPTIONAL_LOCKS"] = "0"  # a read never takes the index lock from a user's git
    return env


def run(
    args: Sequence[str], cwd: Path, *, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, env=_env())
    except FileNotFoundError:
        raise GitmvError("git is not installed or not on PATH", hint="install git") from None
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitmvError(f"git {args[0]} failed: {err[-1] if err else proc.returncode}")
    return proc


def out(args: Sequence[str], cwd: Path) -> str:
    return run(args, cwd).stdout.decode("utf-8", errors="surrogateescape")


def repo_paths(cwd: Path) -> RepoPaths:
    proc = run(
        ["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-dir", "--git-common-dir"],
        cwd,
        check=False,
    )
    lines = proc.stdout.decode("utf-8", errors="surrogateescape").splitlines()
    if proc.returncode != 0 or len(lines) != 3:
        if b"bare" in proc.stderr or (proc.returncode == 0 and len(lines) == 2):
            raise NotARepository(
                f"{cwd} is a bare repository", hint="run gitmv inside a work tree (a clone)"
            )
        raise NotARepository(
            f"not a git repository: {cwd}", hint="run `git init` first, or cd into a repository"
        )
    root, git_dir, common_dir = (Path(line) for line in lines)
    return RepoPaths(root, git_dir, common_dir)


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
    """Blob contents by sha, in one `cat-file --batch`; None for a blob over `limit` bytes."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    data = run(
        ["cat-file", "--batch"], root, input="".join(s + "\n" for s in wanted).encode()
    ).stdout
    blobs: dict[str, bytes | None] = {}
    pos = 0
    for sha in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].split(b" ")
        if header[-1] == b"missing":
            raise GitmvError(f"git object {sha} is missing")
        size = int(header[2])
        body = data[end + 1 : end + 1 + size]
        blobs[sha] = body if size <= limit else None
        pos = end + 1 + size + 1
    return blobs


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


def is_dirty(root: Path) -> bool:
    return bool(out(["status", "--porcelain", "--untracked-files=no"], root).strip())


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
        run(["rm", "-r", "-q", "--cached", "--", *paths], root)
    return tracked


def config_get(root: Path, key: str) -> str | None:
    proc = run(["config", "--get", key], root, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None
