"""The public Python API: resolve a registry reference, read its metadata, open its bytes.

    >>> import gitmv.api
    >>> v = gitmv.api.resolve("churn@production")
    >>> v.version, v.oid, v.meta["metrics"]
    >>> with gitmv.api.open("churn@production") as f:
    ...     model = pickle.load(f)

A reference is `NAME@vX.Y.Z`, `NAME@STAGE`, `NAME#STAGE`, `NAME@latest` or `NAME`. It
works in any clone that has the registry tags (`git fetch --tags`): the version never
needs to be checked out, and bytes the cache lacks stream from the default remote.
`gitmv registry show` and `gitmv registry get` call these same functions.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, TextIO, overload

from gitmv.base.errors import GitmvError, IntegrityError
from gitmv.ops import pull as _pull
from gitmv.ops import push as _push
from gitmv.ops.pull import PullReport
from gitmv.ops.push import PushReport
from gitmv.registry import tags as registry
from gitmv.registry.lineage import plain
from gitmv.repo.context import Repo
from gitmv.store import layout, manifest
from gitmv.store.hashing import Oid, new_hasher
from gitmv.store.pointer import Pointer

if TYPE_CHECKING:
    from gitmv.remotes.remote import Remote

__all__ = [
    "PullReport",
    "PushReport",
    "Version",
    "get",
    "open",
    "pull",
    "push",
    "read_meta",
    "resolve",
]

RepoLike = str | os.PathLike[str] | Repo
_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class Version:
    """One registered version of a model: what it is, where it came from, its metadata."""

    name: str
    version: str  # vX.Y.Z
    stage: str | None  # the stage the reference went through (`churn@production`), if any
    commit: str  # the commit the version tag points at
    path: str  # the artifact's path in that commit, relative to the repository root
    kind: str  # file | dir
    oid: str  # <algorithm>:<hex>
    size: int  # bytes (for a folder, the total of its files)
    meta: Mapping[str, Any] = field(hash=False)  # the pointer's meta block, as plain data

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def _repo(repo: RepoLike) -> Repo:
    if isinstance(repo, Repo):
        return repo
    return Repo.open(Path(repo).absolute())


def resolve(ref: str, repo: RepoLike = ".", *, loaded: registry.Registry | None = None) -> Version:
    """The version `ref` names now: tags read once, the pointer read from the version's commit.

    `loaded` is a registry already read (`gitmv.registry.tags.load`), to resolve many references
    against one reading of the tags.
    """
    return _resolve(_repo(repo), ref, loaded)[0]


def _resolve(
    repo: Repo, ref: str, loaded: registry.Registry | None = None
) -> tuple[Version, Pointer]:
    found = registry.resolve(loaded or registry.load(repo), ref)
    path, p = registry.artifact_at(repo, found.name, found.commit)
    meta = plain(p.meta) if isinstance(p.meta, dict) else {}
    version = Version(
        found.name, found.version, found.stage, found.commit, path, p.kind, str(p.oid), p.size, meta
    )
    return version, p


def read_meta(ref: str, repo: RepoLike = ".") -> dict[str, Any]:
    """The `meta` block of the version `ref` names (params, metrics, inputs, code, env)."""
    return dict(resolve(ref, repo).meta)


@overload
def open(
    ref: str, mode: Literal["rb"] = "rb", *, repo: RepoLike = ".", path: str | None = None
) -> BinaryIO: ...
@overload
def open(
    ref: str, mode: Literal["r"], *, repo: RepoLike = ".", path: str | None = None
) -> TextIO: ...
def open(ref: str, mode: str = "rb", *, repo: RepoLike = ".", path: str | None = None) -> IO[Any]:
    """A readable file object of the version's bytes, from the cache or streamed from the
    default remote. For a folder version, `path` names a file inside it.

    The bytes are hashed as they are read: reading to the end of a stream whose bytes do
    not match the version's oid raises IntegrityError. (A reader that seeks, like
    `torch.load`, reads a cached copy, which was verified when it entered the cache;
    `gitmv.api.get` or `gitmv registry get` puts one there.)
    """
    if mode not in ("rb", "r"):
        raise ValueError(f"mode {mode!r}: a version is read-only; use 'rb' or 'r'")
    opened = _repo(repo)
    version, p = _resolve(opened, ref)
    oid, size = _target(opened, version, p, path)
    raw = _open_object(opened, oid, size)
    binary = io.BufferedReader(raw, _BUFFER)
    return binary if mode == "rb" else io.TextIOWrapper(binary, encoding="utf-8")


def _target(repo: Repo, version: Version, p: Pointer, inner: str | None) -> tuple[Oid, int]:
    if p.kind == "file":
        if inner is not None:
            raise GitmvError(f"{version.ref} is a file; `path` is only for folder versions")
        return p.oid, p.size
    if inner is None:
        raise GitmvError(
            f"{version.ref} is a folder of {p.files} files",
            hint="open one file inside it: gitmv.api.open(ref, path='a/b.bin'), "
            "or fetch the whole folder with gitmv.api.get(ref, 'out/')",
        )
    entries = manifest.decode(read_object(repo, p.oid), f"manifest of {version.ref}")
    wanted = inner.strip("/")
    for entry in entries:
        if entry.path == wanted:
            return entry.oid, entry.size
    raise GitmvError(f"{version.ref} has no file {inner!r}")


def _open_object(repo: Repo, oid: Oid, size: int | None) -> _Verifying:
    if repo.cache.has(oid):
        return _Verifying(repo.cache.open(oid), oid, size, "the cache")
    from gitmv.ops.session import open_session  # the remote stack: only on a cache miss
    from gitmv.remotes.remote import MissingObject

    remote = open_session(repo, None).remote
    source = f"remote {remote.label}"
    try:
        return _Verifying(remote.open(oid), oid, size, source)
    except MissingObject:
        chunked = _open_chunked(remote, oid, size)  # a large file may be stored as chunks
        if chunked is None:
            raise
        return _Verifying(chunked, oid, size, source)


def _open_chunked(remote: Remote, oid: Oid, size: int | None) -> BinaryIO | None:
    """The object reassembled from its chunk list and chunks (DESIGN 3.1), streamed; None
    when the remote holds no chunk list for it either."""
    from gitmv.remotes.remote import MissingObject
    from gitmv.store import chunking

    try:
        with remote.open_key(layout.list_key(oid)) as f:
            data = f.read()
    except MissingObject:
        return None
    chunks = chunking.decode_list(data, f"chunk list of {oid}", size)
    keys = [layout.chunk_key(c.oid) for c in chunks]
    return io.BufferedReader(_Concatenated(remote, keys), _BUFFER)


class _Concatenated(io.RawIOBase):
    """Several remote keys read one after the other, each opened only when reached."""

    def __init__(self, remote: Remote, keys: list[str]) -> None:
        super().__init__()
        self._remote = remote
        self._keys = keys
        self._current: BinaryIO | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            if self._current is None:
                if not self._keys:
                    return 0
                self._current = self._remote.open_key(self._keys.pop(0))
            data = self._current.read(len(view))
            if data:
                view[: len(data)] = data
                return len(data)
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def read_object(repo: Repo, oid: Oid) -> bytes:
    """A small object's bytes (a manifest, a package list), from the cache or the remote,
    hash-verified."""
    with _open_object(repo, oid, None) as f:
        return f.readall()


class _Verifying(io.RawIOBase):
    """Reads an object and hashes what it reads; at the end, the bytes must match the oid.

    Seeking is passed through but ends verification (the hash covers one straight read).
    """

    def __init__(self, raw: BinaryIO, oid: Oid, size: int | None, source: str) -> None:
        super().__init__()
        self._raw = raw
        self._oid = oid
        self._size = size
        self._source = source
        self._hasher = new_hasher(oid.algorithm)
        self._hashed = 0
        self._position = 0
        self._verify = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        n = len(data)
        view[:n] = data
        if self._verify and self._position == self._hashed:
            if n:
                self._hasher.update(data)
                self._hashed += n
            else:
                self._check()
        self._position += n
        return n

    def _check(self) -> None:
        self._verify = False  # check once: a second read at EOF must not raise again
        actual = Oid(self._oid.algorithm, self._hasher.hexdigest())
        if actual != self._oid or (self._size is not None and self._hashed != self._size):
            raise IntegrityError(
                f"object {self._oid} from {self._source} is corrupt "
                f"(read {self._hashed} bytes hashing to {actual})",
                hint="run `gitmv verify` (with --remote for the remote) to find and repair it",
            )

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._raw.seek(offset, whence)
        if self._position != self._hashed:
            self._verify = False
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def get(
    ref: str, output: str | os.PathLike[str], *, repo: RepoLike = ".", force: bool = False
) -> Version:
    """Write the version's bytes (a file, or a whole folder) to `output`, fetching what the
    cache lacks from the default remote, every object hash-verified. Returns the version."""
    opened = _repo(repo)
    version, p = _resolve(opened, ref)
    dest = Path(output)
    if not dest.is_absolute():
        dest = opened.cwd / dest
    if os.path.lexists(dest) and not force:
        raise GitmvError(f"{dest} already exists", hint="choose another -o PATH, or pass --force")
    _ensure_cached(opened, version, p)
    links = list(opened.config.get("cache.link", ["reflink", "copy"]))
    links = [link for link in links if link in ("reflink", "copy")] or ["copy"]
    if p.kind == "file":
        _replace(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        opened.cache.materialize(p.oid, dest, links, p.exec)
        return version
    entries = manifest.decode(opened.cache.read_bytes(p.oid), f"manifest of {version.ref}")
    _replace(dest)
    dest.mkdir(parents=True)
    for entry in entries:
        target = dest / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        opened.cache.materialize(entry.oid, target, links, entry.exec)
    return version


def _ensure_cached(repo: Repo, version: Version, p: Pointer) -> None:
    from gitmv.ops.session import open_session  # the remote stack: only on a cache miss
    from gitmv.transfer.engine import fetch

    have = repo.cache.has(p.oid)
    if have and p.kind == "dir":
        entries = manifest.decode(repo.cache.read_bytes(p.oid), f"manifest of {version.ref}")
        have = all(repo.cache.has(e.oid) for e in entries)
    if have:
        return
    session = open_session(repo, None)
    result = fetch(repo.cache, session.remote, [(version.path, p)], jobs=session.jobs)
    if result.aborted:
        raise GitmvError(f"cannot fetch {version.ref}: {result.aborted}")
    if result.failed:
        first = result.failed[0]
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        raise GitmvError(
            f"cannot fetch {version.ref}: {first.path} ({first.oid}): {first.reason}{more}",
            hint="push it from a clone that has it: `gitmv push`",
        )


def _replace(dest: Path) -> None:
    import shutil

    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    elif os.path.lexists(dest):
        os.unlink(dest)


# -- push and pull ---------------------------------------------------------------------------


def push(
    paths: Sequence[str] = (),
    *,
    repo: RepoLike = ".",
    remote: str | None = None,
    jobs: int | None = None,
    all_refs: bool = False,
    revs: Sequence[str] = (),
) -> PushReport:
    """Upload the bytes of artifacts to a remote: what it lacks, nothing else (`gitmv push`).

    Arguments:
        paths: artifacts (or their pointer files, or folders holding some), relative to
            `repo`; empty means every artifact of the work tree.
        repo: the repository (a path inside it, or an open `Repo`).
        remote: the remote's name; None means the default remote (`core.remote`).
        jobs: objects to move at once; None means the remote's `jobs` option, then
            `core.jobs`, then the backend's default.
        all_refs: instead of the work tree, the artifacts of every commit of every local
            branch and tag (`--all`).
        revs: instead of the work tree, the artifacts of these commits (`--rev`).

    Returns a `PushReport`: `remote` (the remote's label), `artifacts` (the artifact
    versions asked for), `transferred` and `nbytes` (objects and bytes uploaded),
    `skipped` (objects the remote already had), `failed` (a tuple of objects that did not
    go up, each with `oid`, `path` and `reason`), `aborted` and `abort_hint` (why the
    whole push stopped early, if it did), and `ok` (nothing failed, nothing stopped). A
    failed object does not raise: read `report.ok`.

    Raises `GitmvError` (with a `hint`), before anything is uploaded, for a bad input: a
    path no artifact is tracked at, paths with `all_refs` or `revs`, both of those, an
    unknown commit, an unknown remote or none configured, a broken pointer.
    """
    paths = [paths] if isinstance(paths, str) else paths  # one path, not its letters
    return _push.push(_repo(repo), paths, all_refs=all_refs, revs=revs, remote=remote, jobs=jobs)


def pull(
    paths: Sequence[str] = (),
    *,
    repo: RepoLike = ".",
    remote: str | None = None,
    jobs: int | None = None,
) -> PullReport:
    """Fetch the bytes of artifacts into the cache (each object hash-verified), then check
    them out into the work tree (`gitmv pull`). A modified artifact is never overwritten.

    Arguments:
        paths: artifacts (or their pointer files, or folders holding some), relative to
            `repo`; empty means every artifact of the work tree.
        repo: the repository (a path inside it, or an open `Repo`).
        remote: the remote's name; None means the default remote (`core.remote`).
        jobs: objects to move at once (as for `push`).

    Returns a `PullReport`: `fetched` (a `FetchReport`, with the fields `PushReport`
    has), `checkout` (the work tree's outcome: `restored`, `unchanged`, `modified`,
    `not_cached`, lists of root-relative artifact paths; None when a fetch stopped before
    the checkout), `healed` (cache objects found corrupt on the way, set aside and fetched
    again by `refetched`), and `ok` (every object arrived and every artifact is checked
    out). A failed object does not raise: read `report.ok`.

    Raises `GitmvError` (with a `hint`), before anything is fetched or written, for a bad
    input: a path no artifact is tracked at, an unknown remote or none configured, a
    broken pointer.
    """
    paths = [paths] if isinstance(paths, str) else paths  # one path, not its letters
    return _pull.pull(_repo(repo), paths, remote=remote, jobs=jobs)
