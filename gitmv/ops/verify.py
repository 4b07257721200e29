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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gitmv.base.atomic import is_abandoned, is_temp_name
from gitmv.base.errors import GitmvError
from gitmv.remotes.remote import Remote
from gitmv.repo import pointers
from gitmv.repo.context import Repo
from gitmv.store import manifest
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid, hash_bytes, hash_stream
from gitmv.store.pointer import extra_objects
from gitmv.transfer import remotecheck
from gitmv.transfer.engine import stored

REMOTE_TEMP_AGE = 3600.0  # another machine's upload may still be running: wait an hour
_OID_TEXT = re.compile(r"\b(xxh128|sha256):([0-9a-f]{32}(?:[0-9a-f]{32})?)\b")


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


def needed_pointers(repo: Repo) -> dict[Oid, tuple[str, str]]:
    """oid -> (kind, artifact path) for every pointer anywhere (see the module docstring)."""
    tops: dict[Oid, tuple[str, str]] = {}
    for f in pointers.files_everywhere(repo):
        note_pointer(tops, f, extras=True)
    return tops


def note_pointer(
    tops: dict[Oid, tuple[str, str]], f: pointers.PointerFile, *, extras: bool = False
) -> None:
    """Add the pointer's object; with `extras`, also the objects its meta names."""
    path = f.artifact
    try:
        p = f.parse()
    except GitmvError:
        # Broken, yet it may name objects someone wants back: keep them all.
        text = (f.data or b"").decode("utf-8", errors="replace")
        for algorithm, hexpart in _OID_TEXT.findall(text):
            with contextlib.suppress(GitmvError):
                tops.setdefault(Oid.parse(f"{algorithm}:{hexpart}"), ("unknown", path))
        return
    if p.kind == "dir" or p.oid not in tops:
        tops[p.oid] = (p.kind, path)
    if extras:
        for oid in extra_objects(p.meta):
            tops.setdefault(oid, ("file", f"{path} (package list)"))


def _from_cache_or_remote(cache: Cache, remote: Remote) -> manifest.ManifestReader:
    """A manifest from the cache, else from the remote (checked against its oid)."""
    local = manifest.cache_reader(cache)

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
    where = manifest.expand(needed_pointers(repo), manifest.cache_reader(repo.cache)).where
    cache_oids = sorted(repo.cache.iter_oids())
    problems = [
        Problem(oid, where.get(oid, ""), "cache", "corrupt")
        for oid in _failing(repo.cache.verify, cache_oids, jobs)
    ]
    checked = 0
    if remote is not None:
        remote.check()
        head = _head_pointers(repo)
        needed = manifest.expand(head, _from_cache_or_remote(repo.cache, remote))
        oids = sorted(needed.oids)
        whole, listed = stored(remote, oids)
        for oid in oids:
            if oid not in whole and oid not in listed:
                problems.append(Problem(oid, needed.where[oid], remote.label, "missing"))
        if deep:
            for oid in _failing(_remote_sound(remote), sorted(whole), jobs):
                problems.append(Problem(oid, needed.where[oid], remote.label, "corrupt"))
            for oid in sorted(listed - whole):
                problem = remotecheck.check_remote(remote, oid, jobs)
                if problem is not None:
                    problems.append(Problem(oid, needed.where[oid], remote.label, problem))
        checked = len(oids)
    return VerifyReport(len(cache_oids), checked, tuple(problems))


def _head_pointers(repo: Repo) -> dict[Oid, tuple[str, str]]:
    """The pointers of the current commit (of the work tree before the first commit)."""
    tops: dict[Oid, tuple[str, str]] = {}
    for f in pointers.head_files(repo):
        note_pointer(tops, f)
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
