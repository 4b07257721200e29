"""`gitmv mv`: move an artifact with its pointer (a staged rename, as `git mv` makes) and its
.gitignore line. Never overwrites; the registry name stays (see `_pin_name`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.ops.untrack import exact_artifacts
from gitmv.repo.context import Repo
from gitmv.repo.pointers import read_pointer, tracked
from gitmv.store import pointer
from gitmv.store.state import Key, stat_key
from gitmv.workspace import gitignore


@dataclass(frozen=True)
class MoveReport:
    src: str  # root-relative artifact paths
    dst: str
    pinned_name: str | None  # meta.name written to keep the registry name, if it was needed


def mv(repo: Repo, src: str, dst: str) -> MoveReport:
    """Move artifact `src` to `dst` (into `dst` when it is a folder); checked before any
    change: `src` tracked, the destination free, inside the repository, not inside an
    artifact."""
    with repo.lock():
        old = exact_artifacts(repo, [src], "mv")[0]
        new = _destination(repo, old, dst)
        p = read_pointer(repo, old)
        pin = _pin_name(repo, old, p.meta)
        old_ptr, new_ptr = old + pointer.SUFFIX, new + pointer.SUFFIX
        try:
            (repo.root / new).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GitmvError(f"{dst}: cannot create its folder: {exc.strerror}") from None
        moved_bytes = os.path.lexists(repo.root / old)
        if moved_bytes:
            remembered = _stat_rows(repo, old)
            os.rename(repo.root / old, repo.root / new)
            _carry(repo, remembered, old, new)
        try:
            if git.tracked_files(repo.root, [old_ptr]):
                git.move(repo.root, old_ptr, new_ptr)
            else:  # written but never staged: a plain rename, staged below
                os.rename(repo.root / old_ptr, repo.root / new_ptr)
        except BaseException:
            if moved_bytes:  # put the bytes back where the pointer still names them
                os.rename(repo.root / new, repo.root / old)
            raise
        if pin is not None:
            meta = p.meta if isinstance(p.meta, dict) else {}
            if hasattr(meta, "insert"):
                meta.insert(0, "name", pin)  # ruamel's map: comments kept, name first
            else:
                meta = {"name": pin, **meta}
            pointer.write(repo.root / new_ptr, _with_meta(p, meta))
        changed = gitignore.ensure_ignored(repo.root, [new])
        rewritten, deleted = gitignore.remove_ignored(repo.root, [old])
        git.stage(repo.root, [new_ptr, *changed, *rewritten])
        git.untrack(repo.root, deleted)
    return MoveReport(old, new, pin)


def _destination(repo: Repo, old: str, dst: str) -> str:
    new = repo.relpath(dst).removesuffix(pointer.SUFFIX)
    artifacts = set(tracked(repo))
    target = repo.root / new
    into = dst.endswith(("/", os.sep))  # `mv a.bin models/`: into that folder, made if need be
    if into or (target.is_dir() and not target.is_symlink() and new not in artifacts):
        new = f"{new}/{old.rpartition('/')[2]}"  # into the folder, as `mv` does
    shown = repo.display(new)
    if new == old:
        raise GitmvError(f"{shown}: source and destination are the same")
    if new.startswith(old + "/"):
        raise GitmvError(f"cannot move {repo.display(old)} into itself ({shown})")
    holder = next((a for a in artifacts if new.startswith(a + "/")), None)
    if holder is not None:
        raise GitmvError(
            f"{shown} is inside the artifact {repo.display(holder)}",
            hint="an artifact cannot hold another; choose a destination outside it",
        )
    for path in (new, new + pointer.SUFFIX):
        if os.path.lexists(repo.root / path) or path in artifacts:
            raise GitmvError(
                f"{repo.display(path)} already exists: gitmv mv never overwrites",
                hint="remove it first (gitmv rm, for an artifact), or choose another name",
            )
    repo.abspath(new)  # refuses a destination whose folders lead out of the repository
    return new


def _stat_rows(repo: Repo, rel: str) -> dict[str, tuple[Key, str]]:
    """What the stat cache knows of the artifact's files (absolute path -> stat, oid)."""
    path = repo.root / rel
    if path.is_dir() and not path.is_symlink():
        return repo.state.get_under(str(path))
    if not path.is_file() or path.is_symlink():
        return {}
    key = stat_key(os.stat(path))
    oid = repo.state.get(str(path), key)
    return {str(path): (key, oid)} if oid else {}


def _carry(repo: Repo, rows: dict[str, tuple[Key, str]], old: str, new: str) -> None:
    """A rename keeps inode, size and mtime: the hashes the stat cache holds still hold at the
    new path, so the next status of a moved 1 GiB model need not hash it again."""
    old_root, new_root = str(repo.root / old), str(repo.root / new)
    repo.state.put_many(
        (new_root + path[len(old_root) :], key, oid) for path, (key, oid) in rows.items()
    )


def _pin_name(repo: Repo, old: str, meta: object) -> str | None:
    """A pointer without `meta.name` is registered under its path: after a move it would
    lose its versions and stages. So when the old path is a registered name, the moved
    pointer gets `meta.name: <old path>`; an unregistered artifact's name follows its path."""
    if isinstance(meta, dict) and meta.get("name"):
        return None
    from gitmv.registry import tags  # only a move reads the registry

    return old if old in tags.load(repo).artifacts else None


def _with_meta(p: pointer.Pointer, meta: object) -> pointer.Pointer:
    return p.replace(meta=meta)
