"""What the repository needs now, and verify: whether its bytes are sound (gc: retention.py).

An object is needed when a pointer names it (or a needed manifest lists it, or its meta
names it: the frozen package list) at any ref (branches, tags, remote-tracking branches,
the stash), at any worktree's HEAD, in any worktree's index, or in any worktree's pointer
files. gc never deletes on doubt: a pointer gitmv cannot parse still protects every oid its
text mentions, and a kept chunk list that cannot be read protects every chunk.

A remote may hold an object whole or as a chunk list plus chunks (DESIGN 3.1): a chunk is
kept while a kept object's chunk list names it, and chunk lists go before their chunks.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gitmv.base import git
from gitmv.base.atomic import is_abandoned, is_temp_name
from gitmv.base.errors import GitmvError
from gitmv.remotes.remote import Remote
from gitmv.repo.context import Repo
from gitmv.store import manifest, pointer
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid, hash_bytes, hash_stream
from gitmv.store.pointer import extra_objects
from gitmv.transfer import chunked
from gitmv.transfer.engine import stored

REMOTE_TEMP_AGE = 3600.0  # another machine's upload may still be running: wait an hour
_OID_TEXT = re.compile(r"\b(xxh128|sha256):([0-9a-f]{32}(?:[0-9a-f]{32})?)\b")

ManifestReader = Callable[[Oid], "bytes | None"]


@dataclass(frozen=True)
class Needed:
    """Every object the repository needs, and one artifact path naming each (for reports)."""

    oids: frozenset[Oid]
    where: Mapping[Oid, str]
    unresolved: tuple[Oid, ...]  # needed manifests nobody could read: their files are unknown


@dataclass(frozen=True)
class Problem:
    oid: Oid
    path: str  # an artifact naming the object, or "" when nothing does
    where: str  # "cache" or the remote's label
    problem: str  # "corrupt" | "missing"


@dataclass(frozen=True)
class VerifyReport:
    cache_checked: int
    remote_checked: int
    problems: tuple[Problem, ...]


# -- what is needed --------------------------------------------------------------------------


def _pointer_texts(repo: Repo) -> list[tuple[str, bytes]]:
    """(pointer path, bytes) of every pointer file at every ref, HEAD, index and work tree;
    the work trees' first, so that reports name what the user sees."""
    blobs: list[tuple[str, str]] = []  # (pointer path, blob sha)
    texts: list[tuple[str, bytes]] = []
    trees = set(git.ref_commits(repo.root))
    for wt in git.worktrees(repo.root):
        if wt.head:
            trees.add(wt.head)
        if wt.present:
            blobs.extend(git.index_pointers(wt.path))
            texts.extend(_work_tree_pointers(wt.path))
    for commit in sorted(trees):
        blobs.extend(git.ls_tree_pointers(repo.root, commit))
    contents = git.read_blobs(repo.root, [sha for _, sha in blobs], pointer.MAX_SIZE)
    texts.extend((path, data) for path, sha in blobs if (data := contents.get(sha)) is not None)
    return texts


def needed_pointers(repo: Repo) -> dict[Oid, tuple[str, str]]:
    """oid -> (kind, artifact path) for every pointer anywhere (see the module docstring)."""
    tops: dict[Oid, tuple[str, str]] = {}
    for path, data in _pointer_texts(repo):
        _note_pointer(tops, pointer.artifact_path(path), data, extras=True)
    return tops


def _work_tree_pointers(root: Path) -> list[tuple[str, bytes]]:
    found = []
    for rel in git.ls_pointers(root):
        with contextlib.suppress(OSError), open(root / rel, "rb") as f:
            found.append((rel, f.read(pointer.MAX_SIZE + 1)))
    return found


def _note_pointer(
    tops: dict[Oid, tuple[str, str]], path: str, data: bytes, *, extras: bool = False
) -> None:
    """Add the pointer's object; with `extras`, also the objects its meta names."""
    try:
        p = pointer.parse(data, path)
    except GitmvError:
        # Unreadable, yet it may name objects someone wants back: keep them all.
        for algorithm, hexpart in _OID_TEXT.findall(data.decode("utf-8", errors="replace")):
            with contextlib.suppress(GitmvError):
                tops.setdefault(Oid.parse(f"{algorithm}:{hexpart}"), ("unknown", path))
        return
    if p.kind == "dir" or p.oid not in tops:
        tops[p.oid] = (p.kind, path)
    if extras:
        for oid in extra_objects(p.meta):
            tops.setdefault(oid, ("file", f"{path} (package list)"))


def expand(tops: Mapping[Oid, tuple[str, str]], read: ManifestReader) -> Needed:
    """Add the files of every needed manifest; `read` returns a manifest's bytes or None."""
    oids = set(tops)
    where = {oid: path for oid, (_, path) in tops.items()}
    unresolved = []
    for oid, (kind, path) in sorted(tops.items()):
        if kind == "file":
            continue
        data = read(oid)
        if data is None:
            if kind == "dir":
                unresolved.append(oid)
            continue
        try:
            entries = manifest.decode(data, f"manifest of {path}")
        except GitmvError:
            if kind == "dir":
                unresolved.append(oid)
            continue
        for e in entries:
            oids.add(e.oid)
            where.setdefault(e.oid, f"{path}/{e.path}")
    return Needed(frozenset(oids), where, tuple(unresolved))


def _from_cache(cache: Cache) -> ManifestReader:
    def read(oid: Oid) -> bytes | None:
        try:
            return cache.read_bytes(oid) if cache.has(oid) else None
        except GitmvError:
            return None

    return read


def _from_cache_or_remote(cache: Cache, remote: Remote) -> ManifestReader:
    """A manifest from the cache, else from the remote (checked against its oid)."""
    local = _from_cache(cache)

    def read(oid: Oid) -> bytes | None:
        data = local(oid)
        if data is not None:
            return data
        try:
            with remote.open(oid) as f:
                data = f.read()
        except GitmvError:
            return None
        return data if hash_bytes(data, oid.algorithm) == oid else None

    return read


# -- helpers gc shares (gitmv/ops/gc.py) ------------------------------------------------


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _stale_cache_temps(tmp: Path) -> list[str]:
    """Temp files whose writer is gone: its pid is dead, or the file is a day old."""
    try:
        entries = list(os.scandir(tmp))
    except FileNotFoundError:
        return []
    return sorted(
        entry.name
        for entry in entries
        if entry.is_file(follow_symlinks=False)
        and is_temp_name(entry.name)
        and is_abandoned(entry.path)
    )


# -- verify ----------------------------------------------------------------------------------


def verify(
    repo: Repo, remote: Remote | None = None, *, deep: bool = False, jobs: int = 8
) -> VerifyReport:
    """Re-hash every cache object; with a remote, check that the objects the current commit
    needs are there (and with `deep`, re-hash them from the remote too)."""
    where = expand(needed_pointers(repo), _from_cache(repo.cache)).where
    cache_oids = sorted(repo.cache.iter_oids())
    problems = [
        Problem(oid, where.get(oid, ""), "cache", "corrupt")
        for oid in _failing(repo.cache.verify, cache_oids, jobs)
    ]
    checked = 0
    if remote is not None:
        remote.check()
        head = _head_pointers(repo)
        needed = expand(head, _from_cache_or_remote(repo.cache, remote))
        oids = sorted(needed.oids)
        whole, listed = stored(remote, oids)
        for oid in oids:
            if oid not in whole and oid not in listed:
                problems.append(Problem(oid, needed.where[oid], remote.label, "missing"))
        if deep:
            for oid in _failing(_remote_sound(remote), sorted(whole), jobs):
                problems.append(Problem(oid, needed.where[oid], remote.label, "corrupt"))
            for oid in sorted(listed - whole):
                problem = chunked.check_remote(remote, oid, jobs)
                if problem is not None:
                    problems.append(Problem(oid, needed.where[oid], remote.label, problem))
        checked = len(oids)
    return VerifyReport(len(cache_oids), checked, tuple(problems))


def _head_pointers(repo: Repo) -> dict[Oid, tuple[str, str]]:
    """The pointers of the current commit (of the work tree before the first commit)."""
    tops: dict[Oid, tuple[str, str]] = {}
    if git.head_commit(repo.root) is None:
        texts = _work_tree_pointers(repo.root)
    else:
        entries = git.ls_tree_pointers(repo.root, "HEAD")
        blobs = git.read_blobs(repo.root, [sha for _, sha in entries], pointer.MAX_SIZE)
        texts = [(path, data) for path, sha in entries if (data := blobs.get(sha)) is not None]
    for path, data in texts:
        _note_pointer(tops, pointer.artifact_path(path), data)
    return tops


def _remote_sound(remote: Remote) -> Callable[[Oid], bool]:
    def sound(oid: Oid) -> bool:
        try:
            with remote.open(oid) as f:
                actual, _ = hash_stream(f, oid.algorithm)
        except GitmvError:
            return False
        return actual == oid

    return sound


def _failing(check: Callable[[Oid], bool], oids: Sequence[Oid], jobs: int) -> list[Oid]:
    """The oids for which `check` says no, checked on `jobs` threads."""
    if not oids:
        return []
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return [oid for oid, ok in zip(oids, pool.map(check, oids), strict=True) if not ok]
