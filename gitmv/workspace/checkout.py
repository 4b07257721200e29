"""Checkout: make the work tree hold the bytes the pointers name, from the cache; never
destroy bytes the cache does not hold. And discard: remove what a git checkout took away."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmv.base import atomic
from gitmv.base.errors import GitmvError
from gitmv.base.progress import NullProgress, Progress
from gitmv.repo.context import Repo
from gitmv.store.hashing import Oid
from gitmv.store.manifest import ManifestEntry, decode, differing_lines
from gitmv.store.pointer import Pointer
from gitmv.store.state import Key, stat_key
from gitmv.workspace import incremental, scan
from gitmv.workspace.files import (
    is_backed_up,
    links_to_object,
    prepare_writes,
    remove,
    sweep_beside,
)

OUTCOMES = ("restored", "unchanged", "modified", "not_cached")


@dataclass(frozen=True)
class CheckoutReport:
    """The artifacts (root-relative) by outcome, in the order they were asked for."""

    restored: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()  # left alone: bytes found nowhere else
    not_cached: tuple[str, ...] = ()


def checkout(
    repo: Repo,
    pointers: Sequence[tuple[str, Pointer]],
    force: bool = False,
    done: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> CheckoutReport:
    """Materialize each (artifact, pointer) from the cache; never destroy bytes the cache
    does not hold. `done`: artifacts already checked out (`CheckoutOnArrival`), with their
    outcome. `progress` counts artifacts and their bytes as they are written."""
    outcomes: dict[str, str] = dict(done or {})
    todo = [(rel, p) for rel, p in pointers if rel not in outcomes]
    meter = progress or NullProgress()
    meter.start(len(todo), sum(p.size for _, p in todo))

    def one_file(rel: str, p: Pointer) -> str:
        outcome = _checkout_file(repo, repo.abspath(rel), p, links, force)
        meter.advance(p.size)
        meter.object_done()
        return outcome

    links = repo.link_types
    prepare_writes(repo)
    # Read and check every manifest first (only the lines that differ from the work tree
    # where the folder index knows it): a hostile one must stop us before any write.
    plans = {
        rel: _plan(repo, repo.abspath(rel), p)
        for rel, p in todo
        if p.kind == "dir" and repo.cache.has(p.oid)
    }
    # not at import: a hook that restores nothing, or `status`, never needs it
    from concurrent.futures import ThreadPoolExecutor

    files = [(rel, p) for rel, p in todo if p.kind == "file"]
    with ThreadPoolExecutor(1) as side:
        # Files on a thread of their own, beside the folders: a large one is a kernel copy,
        # a folder thousands of small system calls; on two CPUs each alone leaves one idle.
        pending = [(rel, side.submit(one_file, rel, p)) for rel, p in files]
        for rel, p in todo:
            if p.kind == "dir":
                outcomes[rel] = (
                    _checkout_dir(
                        repo, repo.abspath(rel), p, plans[rel], links, force, meter.advance
                    )
                    if rel in plans
                    else "not_cached"
                )
                if outcomes[rel] != "restored":  # nothing written: its bytes count as done
                    meter.advance(p.size)
                meter.object_done()
        for rel, future in pending:
            outcomes[rel] = future.result()
    by_outcome: dict[str, list[str]] = {name: [] for name in OUTCOMES}
    for rel, _ in pointers:
        by_outcome[outcomes[rel]].append(rel)
    return CheckoutReport(**{name: tuple(rels) for name, rels in by_outcome.items()})


class CheckoutOnArrival:
    """Pull's early checkout: called with each large object as soon as the fetch has it,
    it checks out the file artifacts naming it, as `checkout` would, while the small files
    are still coming down. `done` then goes to `checkout`, which skips those artifacts.
    A problem is left for `checkout` to meet again and report."""

    def __init__(self, repo: Repo, pointers: Sequence[tuple[str, Pointer]]) -> None:
        self.repo = repo
        self.done: dict[str, str] = {}
        self._files: dict[Oid, list[tuple[str, Pointer]]] = {}
        for rel, p in pointers:
            if p.kind == "file":
                self._files.setdefault(p.oid, []).append((rel, p))

    def __call__(self, oid: Oid) -> None:
        for rel, p in self._files.get(oid, ()):
            with contextlib.suppress(GitmvError, OSError):
                path = self.repo.abspath(rel)
                self.done[rel] = _checkout_file(self.repo, path, p, self.repo.link_types, False)


def _checkout_file(repo: Repo, path: Path, p: Pointer, links: list[str], force: bool) -> str:
    sweep_beside(path)
    if links_to_object(repo, path, p.oid):
        return "unchanged"
    if os.path.lexists(path):
        if path.is_file() and not path.is_symlink():
            st = os.stat(path)
            if st.st_size == p.size:
                oid, _ = scan.file_oid(path, st, repo.state, p.oid.algorithm)
                if oid == p.oid:
                    if scan.is_exec(st) != p.exec:
                        _set_exec(path, p.exec)
                    return "unchanged"
        if not force and not is_backed_up(repo, path, p.oid.algorithm):
            return "modified"
    if not repo.cache.has(p.oid):
        return "not_cached"
    if path.is_dir() and not path.is_symlink():
        remove(path)  # a file is replaced by the rename instead: old or new, never neither
    path.parent.mkdir(parents=True, exist_ok=True)
    label = repo.display(str(path.relative_to(repo.root)))
    st = repo.cache.materialize(p.oid, path, links, p.exec, label)
    # trusted: materialize hashed exactly these bytes as it placed them
    repo.state.put_many([(str(path), stat_key(st), str(p.oid))], trusted=True)
    return "restored"


@dataclass
class _Plan:
    """What a folder checkout changes: the wanted entries that differ from the work tree,
    and the work tree's entries that differ from the wanted ones (`current`; None: all of
    them are still to be scanned, against `write`, the whole wanted manifest)."""

    write: list[ManifestEntry]
    current: dict[str, ManifestEntry] | None


def _plan(repo: Repo, path: Path, p: Pointer) -> _Plan:
    """Read and check the wanted manifest. Where the folder index describes the work tree,
    only the lines that differ are decoded (and checked): work that grows with the change."""
    data = repo.cache.read_bytes(p.oid)
    label = f"manifest of {repo.display(str(path.relative_to(repo.root)))}"
    listing = scan.quick_listing(path) if path.is_dir() and not path.is_symlink() else None
    if listing is not None:
        algorithm = p.oid.algorithm

        def hasher(file: str, size: int) -> Oid:
            return scan.hash_one(file, size, algorithm)

        now = incremental.current(path, repo.state, repo.cache, algorithm, listing, hasher)
        if now is not None:
            atomic.sweep(now.temps)  # what a killed checkout left half-written
            repo.state.put_many(now.fresh)
            # the lines that differ, found without a Python object per line
            have, wanted = differing_lines(now.manifest(), data)
            write = decode(b"\n".join(wanted), label)
            gone = decode(b"\n".join(have), "work tree")
            return _Plan(write, {e.path: e for e in gone})
    return _Plan(decode(data, label), None)


def _checkout_dir(
    repo: Repo,
    path: Path,
    p: Pointer,
    plan: _Plan,
    links: list[str],
    force: bool,
    advance: Callable[[int], None] = lambda n: None,
) -> str:
    """Restore a folder artifact; `advance` is told of its bytes (all of them, once it is
    "restored"): the files already right at once, the others as each is written."""
    if os.path.lexists(path) and not (path.is_dir() and not path.is_symlink()):
        if not force and not is_backed_up(repo, path, p.oid.algorithm):
            return "modified"
        remove(path)
        if plan.current is not None:  # it was a folder when planned: all of it is needed now
            plan = _plan(repo, path, p)
    entries = plan.write
    current: dict[str, ManifestEntry] = {}
    existed = path.is_dir()
    if plan.current is not None:
        current = plan.current
    elif existed:
        temps: list[str] = []
        algorithm, jobs = p.oid.algorithm, repo.jobs
        found = scan.scan_folder(path, repo.root, repo.state, algorithm, jobs, temps=temps)
        atomic.sweep(temps)  # what a killed checkout left half-written
        repo.state.put_many(found.fresh)
        current = {e.path: e for e in found.entries}
    if plan.current is not None:  # only the differences are known: the rest is in place
        wanted = {e.path: e for e in entries}
        stale = [c for c in current.values() if c.path not in wanted]
        write = entries
        return _apply(repo, path, p, current, stale, write, links, force, existed, None, advance)
    wanted = {e.path: e for e in entries}
    stale = [c for c in current.values() if c.path not in wanted]
    write = [e for e in entries if current.get(e.path) != e]
    keep = {os.path.dirname(e.path) for e in entries}
    return _apply(repo, path, p, current, stale, write, links, force, existed, keep, advance)


def _apply(
    repo: Repo,
    path: Path,
    p: Pointer,
    current: dict[str, ManifestEntry],
    stale: list[ManifestEntry],
    write: list[ManifestEntry],
    links: list[str],
    force: bool,
    existed: bool,
    keep: set[str] | None,
    advance: Callable[[int], None],
) -> str:
    """Remove `stale`, write `write` (over `current` where it differs); `keep`: the folders
    the wanted manifest needs (None: only those of stale files are looked at)."""
    overwrite = [current[e.path] for e in write if e.path in current]
    at_risk = [c for c in stale + overwrite if not repo.cache.has(c.oid)]
    if at_risk and not force:
        return "modified"
    if any(not repo.cache.has(e.oid) for e in write):
        return "not_cached"
    if not write and not stale:
        return "unchanged"
    top = str(path)
    copies: list[tuple[str, ManifestEntry]] = []
    if existed:  # make room, and keep what is already right
        for c in stale:
            remove(path / c.path)
        if keep is not None:
            _prune_empty_dirs(path, keep)
        else:
            _prune_parents(path, [c.path for c in stale], {os.path.dirname(e.path) for e in write})
        for e in write:
            dst = f"{top}/{e.path}"
            if e.path in current and current[e.path].oid == e.oid:
                _set_exec(Path(dst), e.exec)
                continue
            if os.path.isdir(dst) and not os.path.islink(dst):
                remove(Path(dst))  # a file is replaced by the rename: old or new
            copies.append((dst, e))
    else:  # nothing there yet (a fresh clone): 20,000 files, so no pathlib, no removals
        copies = [(f"{top}/{e.path}", e) for e in write]
    for folder in sorted({os.path.dirname(dst) for dst, _ in copies}):
        os.makedirs(folder, exist_ok=True)

    label = repo.display(str(path.relative_to(repo.root)))
    advance(p.size - sum(e.size for _, e in copies))

    def place(item: tuple[str, ManifestEntry]) -> tuple[str, Key, str]:
        dst, e = item
        st = repo.cache.materialize(e.oid, dst, links, e.exec, f"{label}/{e.path}")
        advance(e.size)
        return dst, stat_key(st), str(e.oid)

    repo.state.put_many(scan.parallel(place, copies, repo.jobs), trusted=True)
    return "restored"


def _prune_empty_dirs(top: Path, keep: set[str]) -> None:
    for folder, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
        rel = os.path.relpath(folder, top)
        if rel != "." and rel not in keep and not os.listdir(folder):
            os.rmdir(folder)


def _prune_parents(top: Path, removed: list[str], keep: set[str]) -> None:
    """Remove the folders that removing `removed` emptied (not those in `keep`): only their
    parents are looked at, not the whole tree."""
    for rel in removed:
        folder = os.path.dirname(rel)
        while folder and folder not in keep:
            try:
                os.rmdir(top / folder)
            except OSError:
                break  # not empty (or gone): neither are its parents
            folder = os.path.dirname(folder)


def _set_exec(path: Path, executable: bool) -> None:
    mode = os.stat(path).st_mode
    new = mode | 0o111 & ~_umask() if executable else mode & ~0o111
    if new != mode:
        os.chmod(path, new)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- discard ---------------------------------------------------------------------------------


def discard(repo: Repo, artifacts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Remove artifacts whose pointer a git checkout took away, as git removes a tracked file.

    Only where the cache holds every byte of one, so `git checkout` back restores it; an
    artifact with bytes found nowhere else is kept. Returns (removed, kept).
    """
    removed: list[str] = []
    kept: list[str] = []
    algorithm = repo.algorithm
    for rel in artifacts:
        path = repo.abspath(rel)
        if not os.path.lexists(path):
            continue
        if is_backed_up(repo, path, algorithm):
            remove(path)
            removed.append(rel)
        else:
            kept.append(rel)
    return removed, kept
