"""Push and fetch: expand directory manifests, skip what the other side has, move the rest.

A directory's files are uploaded before its manifest, so a remote that holds a manifest
holds all of its files: a second push checks one object per directory, not 20,000.
Fetch goes the other way: the manifest first (hash-verified into the cache), then
whatever of its files the cache lacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from gitmv import manifest
from gitmv.cache import Cache
from gitmv.errors import GitmvError, IntegrityError, RemoteError
from gitmv.hashing import Oid, hash_bytes
from gitmv.pointer import Pointer
from gitmv.remote import (
    SMALL_OBJECT,
    MissingObject,
    Remote,
    is_transient,
    open_remote,
    parse_jobs,
    spec_from_config,
)

if TYPE_CHECKING:
    from gitmv.repo import Repo

T = TypeVar("T")

ATTEMPTS = 4  # one try and three retries, for transient errors only
BASE_DELAY = 0.25  # seconds; doubles each retry, with jitter
MAX_DELAY = 4.0
BATCH_OBJECTS = 64  # at most this many objects per pool task
BATCH_BYTES = 8 * 1024 * 1024  # or this many bytes


class Progress(Protocol):
    """What a transfer reports as it goes; called from worker threads."""

    def start(self, objects: int, nbytes: int) -> None:
        """More work is known: add it to the totals (called once per phase)."""

    def advance(self, nbytes: int) -> None: ...
    def object_done(self) -> None: ...


class NullProgress:
    def start(self, objects: int, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def object_done(self) -> None:
        pass


@dataclass(frozen=True)
class Failure:
    oid: Oid
    path: str  # the artifact (or file inside a directory artifact) that names the object
    reason: str


@dataclass(frozen=True)
class TransferResult:
    remote: str
    transferred: int = 0
    nbytes: int = 0
    skipped: int = 0
    failed: tuple[Failure, ...] = ()
    aborted: str | None = None  # why the transfer stopped early (the remote went away)
    abort_hint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None


@dataclass(frozen=True)
class _Item:
    """One object to move: its oid, the path a user knows it by, and its size if known."""

    oid: Oid
    path: str
    size: int
    manifest: bool = False


@dataclass
class _Tally:
    transferred: int = 0
    nbytes: int = 0
    failed: list[Failure] = field(default_factory=list)
    aborted: str | None = None
    abort_hint: str | None = None


def open_named(repo: Repo, name: str | None) -> Remote:
    """The remote called `name`, or the repository's default remote."""
    return open_remote(spec_from_config(repo.config, name, repo.root))


def jobs_for(repo: Repo, remote: Remote, requested: int | None) -> int:
    """`--jobs` wins, then the remote's `jobs` option, then `core.jobs`."""
    if requested is not None:
        return parse_jobs(requested, "--jobs")
    if remote.spec.jobs is not None:
        return remote.spec.jobs
    return parse_jobs(repo.config.get("core.jobs", 8), "core.jobs")


def not_pushed(repo: Repo, remote_name: str | None, pointers: Mapping[str, Pointer]) -> set[str]:
    """Artifact paths whose object the remote lacks (one batched check for all of them).

    A directory counts as pushed when its manifest is there: push uploads the manifest last.
    """
    from gitmv.remote import FolderRemote

    remote = open_named(repo, remote_name)
    if (
        isinstance(remote, FolderRemote)
        and not remote.root.exists()
        and remote.root.parent.is_dir()
    ):
        return set(pointers)  # a folder remote appears with its first push: nothing is there yet
    remote.check()
    present = remote.has_many(p.oid for p in pointers.values())
    return {path for path, p in pointers.items() if p.oid not in present}


def push(
    cache: Cache,
    remote: Remote,
    pointers: Iterable[tuple[str, Pointer]],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> TransferResult:
    """Upload every object the pointers name (directories expanded) that the remote lacks."""
    progress = progress or NullProgress()
    jobs = jobs or remote.jobs
    remote.check(write=True)
    tally = _Tally()
    plan = _plan_push(cache, remote, _top_items(pointers), tally)
    progress.start(len(plan.files) + len(plan.manifests), plan.nbytes)

    def upload(item: _Item) -> int:
        _retry(lambda: remote.upload(item.oid, cache.path(item.oid), progress.advance))
        return item.size

    _run(plan.files, upload, jobs, progress, tally)
    if tally.aborted is None:
        failed = {f.oid for f in tally.failed}
        ready = [m for m in plan.manifests if failed.isdisjoint(plan.members[m.oid])]
        _run(ready, upload, jobs, progress, tally)
    return _result(remote, tally, plan.skipped)


@dataclass
class _PushPlan:
    files: list[_Item]  # data objects to upload
    manifests: list[_Item]  # then these, each only once all of its files are there
    members: dict[Oid, set[Oid]]  # manifest -> the file oids it lists
    skipped: int  # objects the remote already has

    @property
    def nbytes(self) -> int:
        return sum(i.size for i in self.files) + sum(i.size for i in self.manifests)


def _plan_push(cache: Cache, remote: Remote, tops: dict[Oid, _Item], tally: _Tally) -> _PushPlan:
    """Two batched existence checks: the pointers' own objects, then the files of the
    directories whose manifest the remote lacks. What neither side has is a failure."""
    present_tops = remote.has_many(tops)
    files: dict[Oid, _Item] = {}
    manifests: dict[Oid, _Item] = {}
    members: dict[Oid, set[Oid]] = {}
    for oid, item in tops.items():
        if oid in present_tops:
            continue
        if not cache.has(oid):
            tally.failed.append(Failure(oid, item.path, _NOT_CACHED))
        elif not item.manifest:
            files.setdefault(oid, item)
        elif (entries := _read_manifest(cache, item, tally)) is not None:
            manifests[oid] = dataclasses.replace(item, size=_size(cache, oid))
            members[oid] = {e.oid for e in entries}
            for e in entries:
                files.setdefault(e.oid, _Item(e.oid, f"{item.path}/{e.path}", e.size))
    present_files = remote.has_many(files)
    absent = {oid for oid in files if oid not in present_files and not cache.has(oid)}
    tally.failed.extend(Failure(oid, files[oid].path, _NOT_CACHED) for oid in sorted(absent))
    return _PushPlan(
        files=[i for oid, i in files.items() if oid not in present_files and oid not in absent],
        manifests=[m for oid, m in manifests.items() if absent.isdisjoint(members[oid])],
        members=members,
        skipped=len(present_tops) + len(present_files),
    )


_NOT_CACHED = "not in the cache, nor on the remote (fetch it from where it was added)"


def fetch(
    cache: Cache,
    remote: Remote,
    pointers: Iterable[tuple[str, Pointer]],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> TransferResult:
    """Download every object the pointers name that the cache lacks, each hash-verified.

    The remote is contacted only when something is missing, so fetching an up-to-date
    repository works offline.
    """
    progress = progress or NullProgress()
    jobs = jobs or remote.jobs
    tops = _top_items(pointers)
    present = {oid for oid in tops if cache.has(oid)}
    wanted = [i for oid, i in tops.items() if oid not in present]
    checked = bool(wanted)
    if checked:
        remote.check()
    tally = _Tally()

    def download(item: _Item) -> int:
        return _retry(lambda: _download_one(cache, remote, item, progress.advance))

    first = [i for i in wanted if i.manifest]
    progress.start(len(first), 0)
    _run(first, download, jobs, progress, tally)
    progress.start(0, sum(_size(cache, i.oid) for i in first))  # known now they are here
    files = {i.oid: i for i in wanted if not i.manifest}
    for oid, item in tops.items():
        if not item.manifest or not cache.has(oid) or tally.aborted:
            continue
        for e in _read_manifest(cache, item, tally) or ():
            if e.oid in files or e.oid in present:
                continue
            if cache.has(e.oid):
                present.add(e.oid)
            else:
                files[e.oid] = _Item(e.oid, f"{item.path}/{e.path}", e.size)
    if tally.aborted is None and files:
        if not checked:
            remote.check()
        todo = sorted(files.values(), key=lambda i: i.oid)
        progress.start(len(todo), sum(i.size for i in todo))
        _run(todo, download, jobs, progress, tally)
    return _result(remote, tally, len(present))


def _size(cache: Cache, oid: Oid) -> int:
    try:
        return os.path.getsize(cache.path(oid))
    except FileNotFoundError:
        return 0


def _top_items(pointers: Iterable[tuple[str, Pointer]]) -> dict[Oid, _Item]:
    tops: dict[Oid, _Item] = {}
    for path, p in sorted(pointers, key=lambda pair: pair[0]):
        size = p.size if p.kind == "file" else 0  # a manifest's own size is not recorded
        tops.setdefault(p.oid, _Item(p.oid, path, size, manifest=p.kind == "dir"))
    return tops


def _read_manifest(cache: Cache, item: _Item, tally: _Tally) -> list[manifest.ManifestEntry] | None:
    try:
        return manifest.decode(cache.read_bytes(item.oid), f"manifest {item.oid} of {item.path}")
    except GitmvError as exc:
        tally.failed.append(Failure(item.oid, item.path, exc.message))
        return None


def _download_one(
    cache: Cache, remote: Remote, item: _Item, on_bytes: Callable[[int], None]
) -> int:
    if not item.manifest and item.size <= SMALL_OBJECT:
        # In memory: no temp file to create, re-read and rename for a 4 KiB object.
        data = remote.get_bytes(item.oid.relpath)
        on_bytes(len(data))
        actual = hash_bytes(data, item.oid.algorithm)
        if actual != item.oid:
            raise IntegrityError(
                f"object {item.oid} from remote {remote.label} is corrupt "
                f"(its bytes hash to {actual})",
                hint="the copy was discarded; run `gitmv verify --remote` to check the remote",
            )
        cache.add_small(data, item.oid.algorithm)
        return len(data)
    tmp = cache.new_temp()
    try:
        remote.download(item.oid, tmp, on_bytes)
        size = os.path.getsize(tmp)
        cache.adopt(tmp, item.oid, f"remote {remote.label}")
        return size
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _retry(action: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `action`, retrying transient failures (network, throttling, 5xx) with backoff."""
    for attempt in range(ATTEMPTS):
        try:
            return action()
        except Exception as exc:
            if attempt == ATTEMPTS - 1 or not is_transient(exc):
                raise
            delay = min(BASE_DELAY * 2**attempt, MAX_DELAY)
            sleep(delay * (0.5 + random.random()))
    raise AssertionError("unreachable")


def _run(
    items: Sequence[_Item],
    work: Callable[[_Item], int],
    jobs: int,
    progress: Progress,
    tally: _Tally,
) -> None:
    """Run `work` over `items` on `jobs` threads; a problem with one object is recorded and
    the rest go on, but a remote that stops answering (or refuses us) stops the lot."""
    if not items:
        return
    stop = threading.Event()
    lock = threading.Lock()

    def one(item: _Item) -> None:
        if stop.is_set():
            return
        try:
            size = work(item)
        except (IntegrityError, MissingObject) as exc:
            with lock:
                tally.failed.append(Failure(item.oid, item.path, exc.message))
        except RemoteError as exc:
            with lock:
                if tally.aborted is None:
                    tally.aborted, tally.abort_hint = exc.message, exc.hint
            stop.set()
        except GitmvError as exc:
            with lock:
                tally.failed.append(Failure(item.oid, item.path, exc.message))
        except OSError as exc:  # the local side: disk full, permissions
            with lock:
                if tally.aborted is None:
                    tally.aborted = f"{item.path}: {exc.strerror or exc}"
            stop.set()
        else:
            with lock:
                tally.transferred += 1
                tally.nbytes += size
            progress.object_done()

    def batch(group: list[_Item]) -> None:
        for item in group:
            one(item)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for _ in pool.map(batch, _batches(items, jobs)):
            pass


def _batches(items: Sequence[_Item], jobs: int) -> list[list[_Item]]:
    """Largest first (a big file starts at once, not last), small ones grouped so that
    20,000 objects are a few hundred pool tasks, yet every thread has work until the end."""
    per_task = max(1, min(BATCH_OBJECTS, len(items) // (4 * max(1, jobs))))
    groups: list[list[_Item]] = []
    group: list[_Item] = []
    nbytes = 0
    for item in sorted(items, key=lambda i: -i.size):
        group.append(item)
        nbytes += item.size
        if len(group) >= per_task or nbytes >= BATCH_BYTES:
            groups.append(group)
            group, nbytes = [], 0
    if group:
        groups.append(group)
    return groups


def _result(remote: Remote, tally: _Tally, skipped: int) -> TransferResult:
    failed = tuple(sorted(tally.failed, key=lambda f: (f.path, str(f.oid))))
    return TransferResult(
        remote.label,
        tally.transferred,
        tally.nbytes,
        skipped,
        failed,
        tally.aborted,
        tally.abort_hint,
    )
