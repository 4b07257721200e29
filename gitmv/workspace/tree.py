"""The work tree: `add`, `status` and `checkout` of artifacts against pointers and the cache."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitmv.base import atomic, git
from gitmv.base.errors import GitmvError
from gitmv.repo.context import Repo
from gitmv.repo.pointers import collect, pointers_at, read_pointer, select, tracked
from gitmv.store import pointer
from gitmv.store.hashing import Oid
from gitmv.store.manifest import ManifestEntry, check_relpath, decode
from gitmv.store.pointer import Pointer
from gitmv.store.state import Key, stat_key
from gitmv.workspace import gitignore, scan

STATES = ("clean", "modified", "missing", "not-cached", "not-pushed")


# -- add -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddResult:
    path: str
    pointer: Pointer
    changed: bool


# The meta block a pointer gets, from its old block and whether its bytes are new: the
# caller's (gitmv.ops.inputs.next_meta), since the work tree knows no registry.
Describe = Callable[[Any, bool], Any]


def add(repo: Repo, paths: Sequence[str], describe: Describe | None = None) -> list[AddResult]:
    """Cache each artifact, write its pointer, list it in .gitignore, and stage both.

    Every path is checked before anything is written, so bad input changes nothing.
    Each pointer's meta block is `describe(old block, new bytes?)`; without it the old
    block stays as it is.
    """
    if not paths:
        raise GitmvError("nothing to add", hint="name a file or folder: gitmv add model.pt")
    existing = tracked(repo)
    targets: dict[str, Pointer | None] = {}
    for user_path in paths:
        rel = _check_addable(repo, user_path, existing, list(targets))
        pointer_file = repo.root / (rel + pointer.SUFFIX)
        old = read_pointer(repo, rel) if pointer_file.exists() else None
        targets[rel] = old
    algorithm = repo.algorithm
    # gc takes the same lock: it must never see an object stored but not yet pointed to
    with repo.lock():
        prepare_writes(repo)
        for rel in targets:  # a killed add's pointer temp: `model.bin.gmv.gmvtmp-...`
            _sweep_beside(repo.root / (rel + pointer.SUFFIX))
        results = [_add_one(repo, rel, old, describe, algorithm) for rel, old in targets.items()]
        # the pointer is what makes an object needed: every object is on disk before it
        repo.cache.sync_all()
        for result in results:  # objects first: a failure while storing changed no pointer
            if result.changed:
                pointer.write(repo.root / (result.path + pointer.SUFFIX), result.pointer)
        gitignore.ensure_ignored(repo.root, list(targets))
        git.untrack(repo.root, list(targets))
        ignores = gitignore.files_for(repo.root, list(targets))
        git.stage(repo.root, [r + pointer.SUFFIX for r in targets] + ignores)
    return results


def _add_one(
    repo: Repo,
    rel: str,
    old: Pointer | None,
    describe: Describe | None,
    algorithm: str,
) -> AddResult:
    new = _store(repo, rel, algorithm)
    before = _fields(old) if old else None
    doc = copy.deepcopy(old.doc) if old else None  # deepcopy keeps ruamel's comments
    old_meta = doc.get("meta") if isinstance(doc, dict) else None
    new_version = old is not None and old.oid != new.oid
    block = describe(old_meta, new_version) if describe else old_meta
    new = dataclasses.replace(new, meta=block, doc=doc)
    return AddResult(rel, new, before != _fields(new))


def _fields(p: Pointer) -> tuple[Any, ...]:
    return (p.oid, p.size, p.kind, p.files, p.exec, _plain(p.meta))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_addable(
    repo: Repo, user_path: str, existing: Sequence[str], chosen: Sequence[str]
) -> str:
    rel = repo.relpath(user_path)
    if rel.endswith(pointer.SUFFIX):
        raise GitmvError(
            f"{user_path}: is a pointer file", hint=f"add the artifact: gitmv add {user_path[:-4]}"
        )
    path = repo.abspath(rel)
    in_cache = os.path.realpath(path).startswith(os.path.realpath(repo.cache.root) + os.sep)
    if os.path.islink(path) and not in_cache:  # a `symlink` checkout is its object: fine
        raise GitmvError(
            f"{user_path}: is a symbolic link", hint="add the file or folder it points to instead"
        )
    if not path.exists():
        raise GitmvError(f"{user_path}: no such file or folder")
    if not (path.is_file() or path.is_dir()):
        raise GitmvError(f"{user_path}: not a regular file or folder")
    for other in [*existing, *chosen]:
        if other == rel:
            continue
        if rel.startswith(other + "/"):
            raise GitmvError(
                f"{user_path}: lies inside the tracked artifact {repo.display(other)}",
                hint=f"re-add the whole folder: gitmv add {repo.display(other)}",
            )
        if other.startswith(rel + "/"):
            raise GitmvError(
                f"{user_path}: holds the tracked artifact {repo.display(other)}",
                hint="remove that artifact's pointer first, or add a different folder",
            )
    return rel


def _store(repo: Repo, rel: str, algorithm: str) -> Pointer:
    """Hash the artifact into the cache; the stat cache spares unchanged files."""
    path = repo.root / rel
    cache = repo.cache
    if path.is_file():
        st = os.stat(path)
        known = repo.state.get(str(path), stat_key(st))
        oid = Oid.parse(known) if known and known.startswith(algorithm + ":") else None
        if oid is None or not cache.has(oid):
            # unknown bytes: copy and hash in one go rather than hash, then copy and hash
            oid, _ = cache.add_file(path, algorithm)
        repo.state.put_many([(str(path), stat_key(st), str(oid))])
        return Pointer(oid, st.st_size, "file", exec=scan.is_exec(st))

    def store(f: scan.WorkFile) -> Oid:
        if f.key[1] <= scan._SMALL:
            return cache.add_small(scan.read_small(f.path, f.key[1]), algorithm)
        return cache.add_file(Path(f.path), algorithm)[0]

    jobs = repo.jobs
    # small files are synced all at once (syncfs) before the pointers: docs/reliability.md
    cache.defer_sync = True
    quick = scan.quick_stamp(path)  # before the walk: it must not vouch for a newer state
    files = scan.walk(path, repo.root)
    label = repo.display(rel)
    for f in files:  # refuse a name a manifest could not hold, before storing anything
        check_relpath(f.relpath, label)
    result = scan.scan_folder(
        path, repo.root, repo.state, algorithm, jobs, store=store, files=files
    )
    fresh = {row[0] for row in result.fresh}
    top = str(path) + os.sep  # strings, not pathlib: 20,000 joins show in the profile
    vouched = [e for e in result.entries if top + e.path not in fresh]
    lost = [e for e in vouched if not cache.has(e.oid)]
    for entry in lost:  # the stat cache vouched for it, but the object was collected
        cache.add_file(path / entry.path, algorithm)
    manifest_oid = cache.add_small(result.manifest(), algorithm)
    repo.state.put_many(result.fresh)
    # the next status answers from this fingerprint instead of rebuilding the manifest
    newest = max((f.key[2] for f in files), default=0)
    stamp = scan.folder_stamp(path, files, quick)
    repo.state.put_folder(str(path), stamp, str(manifest_oid), newest)
    return Pointer(manifest_oid, result.size, "dir", files=len(result.entries))


# -- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactStatus:
    path: str  # root-relative
    state: str
    kind: str
    oid: str
    size: int


def status(repo: Repo, paths: Sequence[str] = ()) -> list[ArtifactStatus]:
    results = []
    remember: list[tuple[str, tuple[int, int, int], str]] = []
    for rel, p in collect(repo, paths):
        state = _state(repo, rel, p, remember)
        results.append(ArtifactStatus(rel, state, p.kind, str(p.oid), p.size))
    repo.state.put_many(remember)
    return results


def status_of(repo: Repo, artifacts: Sequence[str]) -> list[ArtifactStatus]:
    """`status` of root-relative artifacts already chosen (`gitmv status` mid-merge leaves the
    conflicted ones out): passing them to `status` as paths would match each against every
    artifact, O(artifacts²)."""
    results = []
    remember: list[tuple[str, tuple[int, int, int], str]] = []
    for rel in artifacts:
        p = read_pointer(repo, rel)
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
    entries = decode(repo.cache.read_bytes(p.oid), f"manifest {p.oid}")
    return all(repo.cache.has(e.oid) for e in entries)


def _matches(repo: Repo, path: Path, p: Pointer, remember: list[Any]) -> bool:
    """Whether the work tree holds exactly the pointer's bytes (and exec bit)."""
    if p.kind == "file":
        if os.path.islink(path):
            return _links_to_object(repo, path, p.oid)
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


# -- checkout --------------------------------------------------------------------------------


@dataclass
class CheckoutReport:
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)  # left alone: bytes found nowhere else
    not_cached: list[str] = field(default_factory=list)


def checkout(
    repo: Repo,
    paths: Sequence[str] = (),
    rev: str | None = None,
    force: bool = False,
    done: Mapping[str, str] | None = None,
) -> CheckoutReport:
    """Materialize artifacts from the cache; never destroy bytes the cache does not hold.
    `done`: artifacts already checked out (`CheckoutOnArrival`), with their outcome."""
    if rev is None:
        pointers = collect(repo, paths)
    else:
        at_rev = pointers_at(repo, rev)
        pointers = [(a, at_rev[a]) for a in select(repo, list(at_rev), paths)]
    report = CheckoutReport()
    outcomes: dict[str, str] = dict(done or {})
    todo = [(rel, p) for rel, p in pointers if rel not in outcomes]
    links = repo.link_types
    prepare_writes(repo)
    # Read and check every manifest first: a hostile one must stop us before any write.
    manifests = {
        rel: decode(repo.cache.read_bytes(p.oid), f"manifest of {repo.display(rel)}")
        for rel, p in todo
        if p.kind == "dir" and repo.cache.has(p.oid)
    }
    from concurrent.futures import ThreadPoolExecutor  # not at import: status never needs it

    files = [(rel, p) for rel, p in todo if p.kind == "file"]
    with ThreadPoolExecutor(1) as side:
        # Files on a thread of their own, beside the folders: a large one is a kernel copy,
        # a folder thousands of small system calls; on two CPUs each alone leaves one idle.
        pending = [
            (rel, side.submit(_checkout_file, repo, repo.abspath(rel), p, links, force))
            for rel, p in files
        ]
        for rel, p in todo:
            if p.kind == "dir":
                outcomes[rel] = (
                    _checkout_dir(repo, repo.abspath(rel), p, manifests[rel], links, force)
                    if rel in manifests
                    else "not_cached"
                )
        for rel, future in pending:
            outcomes[rel] = future.result()
    for rel, _ in pointers:
        getattr(report, outcomes[rel]).append(rel)
    return report


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


def prepare_writes(repo: Repo) -> None:
    """Before gitmv writes into the work tree: temp names listed in .git/info/exclude (a
    killed checkout's leftover is never committed), and the cache's tmp/ swept."""
    with contextlib.suppress(OSError):  # a nicety: a read-only .git must not stop a checkout
        atomic.exclude_temps(repo.paths.common_dir)
    repo.cache.sweep_tmp()


def _sweep_beside(path: Path) -> None:
    """Remove what a killed checkout left next to a file artifact (`<name>.gmvtmp-...`)."""
    prefix = path.name + atomic._TMP_MARK
    with contextlib.suppress(FileNotFoundError), os.scandir(path.parent) as entries:
        atomic.sweep([e.path for e in entries if e.name.startswith(prefix)])


def _links_to_object(repo: Repo, path: Path, oid: Oid) -> bool:
    """Whether `path` is a `symlink`-type checkout of exactly this cache object."""
    return os.path.islink(path) and os.readlink(path) == str(repo.cache.path(oid))


def _checkout_file(repo: Repo, path: Path, p: Pointer, links: list[str], force: bool) -> str:
    _sweep_beside(path)
    if _links_to_object(repo, path, p.oid):
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
        if not force and not _is_backed_up(repo, path, p.oid.algorithm):
            return "modified"
    if not repo.cache.has(p.oid):
        return "not_cached"
    if path.is_dir() and not path.is_symlink():
        _remove(path)  # a file is replaced by the rename instead: old or new, never neither
    path.parent.mkdir(parents=True, exist_ok=True)
    label = repo.display(str(path.relative_to(repo.root)))
    st = repo.cache.materialize(p.oid, path, links, p.exec, label)
    # trusted: materialize hashed exactly these bytes as it placed them
    repo.state.put_many([(str(path), stat_key(st), str(p.oid))], trusted=True)
    return "restored"


def _checkout_dir(
    repo: Repo, path: Path, p: Pointer, entries: list[ManifestEntry], links: list[str], force: bool
) -> str:
    if os.path.lexists(path) and not (path.is_dir() and not path.is_symlink()):
        if not force and not _is_backed_up(repo, path, p.oid.algorithm):
            return "modified"
        _remove(path)
    current: dict[str, ManifestEntry] = {}
    existed = path.is_dir()
    if existed:
        temps: list[str] = []
        algorithm, jobs = p.oid.algorithm, repo.jobs
        found = scan.scan_folder(path, repo.root, repo.state, algorithm, jobs, temps=temps)
        atomic.sweep(temps)  # what a killed checkout left half-written
        repo.state.put_many(found.fresh)
        current = {e.path: e for e in found.entries}
    wanted = {e.path: e for e in entries}
    stale = [c for c in current.values() if c.path not in wanted]
    write = [e for e in entries if current.get(e.path) != e]
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
            _remove(path / c.path)
        _prune_empty_dirs(path, {os.path.dirname(e.path) for e in entries})
        for e in write:
            dst = f"{top}/{e.path}"
            if e.path in current and current[e.path].oid == e.oid:
                _set_exec(Path(dst), e.exec)
                continue
            if os.path.isdir(dst) and not os.path.islink(dst):
                _remove(Path(dst))  # a file is replaced by the rename: old or new
            copies.append((dst, e))
    else:  # nothing there yet (a fresh clone): 20,000 files, so no pathlib, no removals
        copies = [(f"{top}/{e.path}", e) for e in write]
    for folder in sorted({os.path.dirname(dst) for dst, _ in copies}):
        os.makedirs(folder, exist_ok=True)

    label = repo.display(str(path.relative_to(repo.root)))

    def place(item: tuple[str, ManifestEntry]) -> tuple[str, Key, str]:
        dst, e = item
        st = repo.cache.materialize(e.oid, dst, links, e.exec, f"{label}/{e.path}")
        return dst, stat_key(st), str(e.oid)

    repo.state.put_many(scan.parallel(place, copies, repo.jobs), trusted=True)
    return "restored"


def _is_backed_up(repo: Repo, path: Path, algorithm: str) -> bool:
    """Whether the cache holds every byte now at `path`, so replacing it loses nothing."""
    if path.is_symlink():
        return True  # gitmv never writes through a link; the link itself is cheap to lose
    if path.is_file():
        oid, _ = scan.file_oid(path, os.stat(path), repo.state, algorithm)
        return repo.cache.has(oid)
    if path.is_dir():
        found = scan.scan_folder(path, repo.root, repo.state, algorithm, 8)
        return all(repo.cache.has(e.oid) for e in found.entries)
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _prune_empty_dirs(top: Path, keep: set[str]) -> None:
    for folder, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
        rel = os.path.relpath(folder, top)
        if rel != "." and rel not in keep and not os.listdir(folder):
            os.rmdir(folder)


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
        if _is_backed_up(repo, path, algorithm):
            _remove(path)
            removed.append(rel)
        else:
            kept.append(rel)
    return removed, kept
