"""The machinery every transfer shares: a bounded thread pool that records a problem with
one object and goes on, stops everything when the remote goes away, retries transient
errors with backoff, and reports progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from gitmv.base.errors import GitmvError, RemoteError
from gitmv.base.progress import Progress
from gitmv.remotes.options import RetryPolicy
from gitmv.remotes.remote import MissingObject, Remote
from gitmv.remotes.retries import with_retries
from gitmv.store.hashing import Oid

T = TypeVar("T")

DEFAULT_POLICY = RetryPolicy()  # 5 retries, 60 s per object, 0.25 s first wait
BATCH_OBJECTS = 64  # at most this many objects per pool task
BATCH_BYTES = 8 * 1024 * 1024  # or this many bytes


@dataclass(frozen=True)
class Failure:
    oid: Oid
    path: str  # the artifact (or file inside a directory artifact) that names the object
    reason: str


@dataclass(frozen=True, slots=True)
class Sent:
    """One object a push sent (`push -v` lists them): `where` it went, `loose`, `pack` or
    `chunked` (its chunks, then its chunk list); `size` is the object's."""

    oid: Oid
    path: str
    size: int
    where: str
    manifest: bool = False


@dataclass(frozen=True)
class TransferResult:
    remote: str
    transferred: int = 0
    nbytes: int = 0
    skipped: int = 0
    failed: tuple[Failure, ...] = ()
    aborted: str | None = None  # why the transfer stopped early (the remote went away)
    abort_hint: str | None = None
    sent: tuple[Sent, ...] = ()  # a push's objects, by path

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None


@dataclass(frozen=True)
class Item:
    """One object (or chunk) to move: its oid, the path a user knows it by, its size if known."""

    oid: Oid
    path: str
    size: int
    manifest: bool = False
    optional: bool = False  # a package list: pushed when cached, not a failure when not


@dataclass
class Tally:
    transferred: int = 0
    nbytes: int = 0
    failed: list[Failure] = field(default_factory=list)
    aborted: str | None = None
    abort_hint: str | None = None
    # a push's objects as each is done, when asked for (`push -v`): None, the default, keeps
    # a million-file push from holding a record per file it will never show
    sent: list[Sent] | None = None

    def absorb(self, part: Tally) -> None:
        """Add the tally of a phase that ran beside another; the first abort stands."""
        self.transferred += part.transferred
        self.nbytes += part.nbytes
        self.failed.extend(part.failed)
        if self.sent is not None and part.sent:
            self.sent.extend(part.sent)
        if self.aborted is None and part.aborted is not None:
            self.aborted, self.abort_hint = part.aborted, part.abort_hint

    def part(self) -> Tally:
        """A fresh tally for a phase of this one, listing what it sends if this one does."""
        return Tally(sent=None if self.sent is None else [])


def retry(
    action: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `action` (one object's transfer), retrying transient failures: 5xx with or
    without a body, 408, 429, throttling, connection resets, timeouts. Never another 4xx,
    a missing object or corrupt bytes. Bounded by `policy` (the remote's `retries`,
    `retry_timeout`, `retry_delay`): see remote.with_retries, the one retry layer."""
    return with_retries(action, policy, sleep, clock)


def run(
    items: Sequence[Item],
    work: Callable[[Item], int | None],
    jobs: int,
    progress: Progress,
    tally: Tally,
    where: str | None = None,
) -> None:
    """Run `work` over `items` on `jobs` threads; a problem with one object is recorded and
    the rest go on, but a remote that stops answering (or refuses us) stops the lot.
    `work` returns the bytes it moved, or None when it handed the item to a later phase.
    `where` (a push's): each item done is listed in `tally.sent` as gone there."""
    if not items:
        return
    stop = threading.Event()
    lock = threading.Lock()

    def one(item: Item) -> None:
        if stop.is_set():
            return
        try:
            size = work(item)
        except MissingObject as exc:  # a RemoteError, but about one object: the rest go on
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
            if size is None:
                return  # handed on to a later phase: neither done nor failed yet
            with lock:
                tally.transferred += 1
                tally.nbytes += size
                if where is not None and tally.sent is not None:
                    tally.sent.append(Sent(item.oid, item.path, item.size, where, item.manifest))
            progress.object_done()

    def batch(group: list[Item]) -> None:
        for item in group:
            one(item)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for _ in pool.map(batch, _batches(items, jobs)):
            pass


Phase = Callable[[int, "Tally"], None]  # a stage of a transfer: on n threads, into its tally


def side_by_side(large: Phase, small: Phase, jobs: int, tally: Tally) -> None:
    """Run the large objects' phase on a thread of its own beside the small ones', each
    keeping its own tally, then add both into `tally`. On two CPUs each alone leaves one
    idle. The large phase gets all `jobs`: its threads spend their time in the kernel,
    writing chunks to files of their own, and on a virtual machine that faults in fresh
    memory for every page written, two writers fault twice as fast as one. The small phase
    gets half: its work is system calls under the GIL, where a second thread only trades the
    GIL back and forth."""
    parts = tally.part(), tally.part()
    with ThreadPoolExecutor(1) as side:
        done = side.submit(large, jobs, parts[0])
        small(max(1, jobs // 2), parts[1])
        done.result()
    for part in parts:
        tally.absorb(part)


def _batches(items: Sequence[Item], jobs: int) -> list[list[Item]]:
    """Largest first (a big file starts at once, not last), small ones grouped so that
    20,000 objects are a few hundred pool tasks, yet every thread has work until the end."""
    per_task = max(1, min(BATCH_OBJECTS, len(items) // (4 * max(1, jobs))))
    groups: list[list[Item]] = []
    group: list[Item] = []
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


def result(remote: Remote, tally: Tally, skipped: int) -> TransferResult:
    failed = tuple(sorted(tally.failed, key=lambda f: (f.path, str(f.oid))))
    return TransferResult(
        remote.label,
        tally.transferred,
        tally.nbytes,
        skipped,
        failed,
        tally.aborted,
        tally.abort_hint,
        tuple(sorted(tally.sent or (), key=lambda s: (s.path, s.manifest, str(s.oid)))),
    )
