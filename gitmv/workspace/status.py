"""Status: whether the work tree holds exactly the bytes each pointer names."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmv.repo.context import Repo
from gitmv.store.pointer import Pointer
from gitmv.store.state import stat_key
from gitmv.workspace import scan
from gitmv.workspace.files import links_to_object

STATES = ("clean", "modified", "missing", "not-cached", "not-pushed")


@dataclass(frozen=True)
class ArtifactStatus:
    """One artifact's state (one of STATES) and the pointer it is judged against."""

    path: str  # root-relative
    state: str
    kind: str  # "file" or "dir"
    oid: str  # the pointer's, e.g. "xxh128:..."
    size: int  # bytes (a folder: its files' total)


def states(repo: Repo, pointers: Sequence[tuple[str, Pointer]]) -> list[ArtifactStatus]:
    """The state of each (root-relative artifact, its pointer); what a hash learns on the way
    goes to the stat cache, so the next status need not hash again."""
    results = []
    remember: list[tuple[str, tuple[int, int, int], str]] = []
    for rel, p in pointers:
        results.append(
            ArtifactStatus(rel, _state(repo, rel, p, remember), p.kind, str(p.oid), p.size)
        )
    repo.state.put_many(remember)
    return results


def _state(repo: Repo, rel: str, p: Pointer, remember: list[Any]) -> str:
    path = repo.abspath(rel)
    if not os.path.lexists(path):
        return "missing" if _is_cached(repo, p) else "not-cached"
    if _matches(repo, path, p, remember):
        return "clean"
    return "modified"


def _is_cached(repo: Repo, p: Pointer) -> bool:
    if not repo.cache.has(p.oid):
        return False
    if p.kind == "file":
        return True
    from gitmv.store.manifest import decode  # here: only folders have one (start-up time)

    entries = decode(repo.cache.read_bytes(p.oid), f"manifest {p.oid}")
    return all(repo.cache.has(e.oid) for e in entries)


def _matches(repo: Repo, path: Path, p: Pointer, remember: list[Any]) -> bool:
    """Whether the work tree holds exactly the pointer's bytes (and exec bit)."""
    if p.kind == "file":
        if os.path.islink(path):
            return links_to_object(repo, path, p.oid)
        if not path.is_file():
            return False
        st = os.stat(path)
        if st.st_size != p.size or scan.is_exec(st) != p.exec:
            return False
        oid, hashed = scan.file_oid(path, st, repo.state, p.oid.algorithm)
        if hashed:
            remember.append((str(path), stat_key(st), str(oid)))
        return oid == p.oid
    if os.path.islink(path) or not path.is_dir():
        return False
    jobs = repo.jobs
    oid, found = scan.folder_oid(path, repo.root, repo.state, p.oid.algorithm, jobs)
    if found is not None:
        remember.extend(found.fresh)
    return oid == p.oid
