"""Remote object stores: a plain folder, or any fsspec URL (S3, GCS, ...), laid out like the cache.

This is the only module that imports fsspec, s3fs or gcsfs, and it imports them inside
functions: `import s3fs` alone costs a quarter of a second, which `gitmv status` must
never pay. Objects are addressed by relative key strings (`<algorithm>/<hex[:2]>/<hex[2:]>`)
so that a chunk layer can later store `chunks/...` keys through the same methods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

from gitmv.base.atomic import is_temp_name, temp_name, temp_str
from gitmv.base.config import Config, is_secret, local_jobs, redact_url, scrub
from gitmv.base.errors import GitmvError, IntegrityError, RemoteError
from gitmv.remotes.options import RetryPolicy, check_options
from gitmv.store.hashing import ALGORITHMS, Oid, copy_and_hash, hash_bytes, hash_file
from gitmv.store.layout import key_label, object_key, parse_object_key

OnBytes = Callable[[int], None]
R = TypeVar("R")

DEFAULT_JOBS = 8
CHECK_TIMEOUT = 8.0  # seconds a reachability probe may take, retries included
CONNECT_TIMEOUT = 3.0
# Up to this many keys, one existence check each (in parallel) beats listing folders.
SMALL_BATCH = 32
# Objects up to this size move through memory in one read and one write.
SMALL_OBJECT = 1024 * 1024
# Protocols whose single PUT / completed multipart upload is atomic: no temp name needed.
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
ALIASES = {"endpointurl": "endpoint_url", "region_name": "region"}
# Options gitmv reads itself (workers.retry): never passed to a storage library.
RETRY_OPTIONS = ("retries", "retry_timeout", "retry_delay")
_READ_ONLY = 0o444
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class RemoteSpec:
    """A named remote as the config describes it; `options` never reach an error message."""

    name: str
    url: str
    options: Mapping[str, object] = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        return f"{self.name!r} ({redact_url(self.url)})"

    @property
    def jobs(self) -> int | None:
        value = self.options.get("jobs")
        return None if value is None else parse_jobs(value, self.name)


def check_name(name: str) -> str:
    """A remote name is one config key: letters, digits, `_`, `-`, `.` (not leading)."""
    if not _NAME.fullmatch(name) or "." in name:
        raise GitmvError(
            f"invalid remote name {name!r}",
            hint="use letters, digits, '_' and '-', e.g. `origin` or `s3-models`",
        )
    return name


def parse_jobs(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise GitmvError(f"{where}: jobs must be a positive integer, got {value!r}")
    jobs = int(value)
    if jobs < 1:
        raise GitmvError(f"{where}: jobs must be a positive integer, got {value!r}")
    return jobs


def normalize_options(options: Mapping[str, object]) -> dict[str, object]:
    """Accept DVC's spellings (`endpointurl`) and check the options gitmv itself reads
    (remoteopts.check_options: jobs, retries, timeouts, booleans, no control characters)."""
    out: dict[str, object] = {}
    for key, value in options.items():
        name = ALIASES.get(key.lower(), key)
        if name == "url":
            raise GitmvError("the URL is the remote's second argument, not an option")
        out[name] = value
    return check_options(out)


def check_protocol(url: str) -> None:
    """A URL's protocol must be one fsspec knows, with its package installed: `remote add`
    refuses `s4://` or an `sftp://` without paramiko now, not at the first push."""
    if "://" not in url:
        return
    protocol = url.split("://", 1)[0].lower()
    import fsspec  # here: only `remote add` and transfers pay for it
    from fsspec.registry import known_implementations, registry

    shown = redact_url(url)
    if protocol not in known_implementations and protocol not in registry:
        raise GitmvError(
            f"unknown storage protocol {protocol!r} in the remote URL {shown!r}",
            hint="use a folder, file://, s3://, gs://, or another fsspec protocol",
        )
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        known = known_implementations.get(protocol, {})
        package = str(getattr(exc, "name", None) or known.get("err") or "its package")
        raise GitmvError(
            f"the {protocol}:// protocol of the remote URL {shown!r} is not installed",
            hint=package if " " in package else f"install it: pip install {package}",
        ) from None


def no_default_remote() -> RemoteError:
    """The one error for "no remote named and no default configured" (raised via ops.session)."""
    return RemoteError(
        "no default remote is configured",
        hint="run `gitmv remote add NAME URL --default`, or `gitmv remote default NAME` for one"
        " already added",
    )


def spec_from_config(config: Config, name: str | None, base: Path) -> RemoteSpec:
    """The remote called `name`, or the default (`core.remote`) when `name` is None.

    A relative folder URL is taken relative to `base` (the repository root), so a
    committed `../store` means the same folder from every clone.
    """
    remotes = config.get("remote") or {}
    if name is None:
        name = config.get("core.remote")
        if not name:
            raise no_default_remote()
    entry = remotes.get(name) if isinstance(remotes, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or not entry["url"]:
        known = ", ".join(sorted(remotes)) if isinstance(remotes, dict) and remotes else "none"
        raise RemoteError(
            f"no remote named {name!r} (configured: {known})",
            hint="see `gitmv remote list`; add one with `gitmv remote add NAME URL`",
        )
    url: str = entry["url"]
    if _is_local(url) and not url.startswith("file://") and not os.path.isabs(url):
        url = os.path.normpath(base / os.path.expanduser(url))
    options = normalize_options({k: v for k, v in entry.items() if k != "url"})
    return RemoteSpec(str(name), url, options)


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def open_remote(spec: RemoteSpec) -> Remote:
    """Build the store for `spec`: plain os calls for folders, fsspec for everything else."""
    if _is_local(spec.url):
        path = spec.url[len("file://") :] if spec.url.startswith("file://") else spec.url
        return FolderRemote(spec, Path(os.path.expanduser(path)))
    return FsspecRemote(spec)


@dataclass(frozen=True)
class KeyStat:
    key: str
    size: int
    mtime: float | None  # None: the store gave no time (gc then treats the key as new)


class Remote:
    """A content-addressed store: keys are `/`-separated paths below the remote's root."""

    def __init__(self, spec: RemoteSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def jobs(self) -> int:
        return self.spec.jobs or self.default_jobs

    @property
    def retry_policy(self) -> RetryPolicy:
        """How workers.retry treats this remote's transient errors (options `retries`,
        `retry_timeout`, `retry_delay`)."""
        return RetryPolicy.from_options(self.spec.options)

    @property
    def default_jobs(self) -> int:
        """Objects moved at once when neither `--jobs`, the remote nor `core.jobs` says:
        a network store waits on round trips, so many."""
        return DEFAULT_JOBS

    # -- primitives each backend provides --------------------------------------------

    def check(self, *, write: bool = False) -> None:
        """Fail within seconds, naming the remote, if it is unreachable or misconfigured."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def list_names(self, prefix: str) -> list[str]:
        """Names directly below `prefix` (a folder key); empty when there is none."""
        raise NotImplementedError

    def put_file(self, key: str, src: Path, expected: Oid, on_bytes: OnBytes | None = None) -> None:
        """Publish `src` under `key` atomically, refusing bytes that do not hash to `expected`."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes, expected: Oid) -> None:
        """Publish `data` under `key` atomically, refusing bytes that do not hash to `expected`.

        For what is already in memory: chunks of a large object, chunk lists.
        """
        raise NotImplementedError

    def get_file(self, key: str, dest: Path, on_bytes: OnBytes | None = None) -> None:
        """Copy the object at `key` to `dest` (a fresh temp path): the caller verifies it."""
        raise NotImplementedError

    def get_bytes(self, key: str) -> bytes:
        """The object at `key` in memory (for small objects): the caller verifies it."""
        raise NotImplementedError

    def open_key(self, key: str) -> BinaryIO:
        raise NotImplementedError

    def delete_keys(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Every object key below `prefix`, temporary names excluded."""
        raise NotImplementedError

    def stale_temps(self, older_than: float) -> list[str]:
        """Keys of temporary files left by a killed upload, older than `older_than` seconds."""
        return []

    def iter_stats(self, prefix: str) -> Iterator[KeyStat]:
        """Every object key below `prefix` with its size and the store's own modification
        time (seconds since the epoch; None when the store reports none), temporary names
        excluded: what remote gc's grace period is measured against."""
        raise NotImplementedError

    # -- built on the primitives ---------------------------------------------------------

    def has_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the remote holds, in as few round trips as the layout allows.

        A few keys: one check each, in parallel. Many: one listing of each `<algorithm>/`
        folder shows which `<xx>/` folders exist, then one listing per needed folder
        (at most 256 per algorithm), instead of one request per key.
        """
        wanted = set(keys)
        if not wanted:
            return set()
        with ThreadPoolExecutor(self.jobs) as pool:
            if len(wanted) <= SMALL_BATCH:
                ordered = sorted(wanted)
                found = pool.map(self._retrying(self.exists), ordered)
                return {key for key, present in zip(ordered, found, strict=True) if present}
            by_folder: dict[str, set[str]] = {}
            for key in wanted:
                folder, _, name = key.rpartition("/")
                by_folder.setdefault(folder, set()).add(name)
            parents = sorted({folder.rpartition("/")[0] for folder in by_folder})
            existing: set[str] = set()
            listing = self._retrying(self.list_names)
            for parent, names in zip(parents, pool.map(listing, parents), strict=True):
                existing.update(f"{parent}/{n}" if parent else n for n in names)
            folders = sorted(f for f in by_folder if f in existing)
            present: set[str] = set()
            for folder, names in zip(folders, pool.map(listing, folders), strict=True):
                present.update(f"{folder}/{n}" for n in by_folder[folder].intersection(names))
            return present

    def _retrying(self, call: Callable[[str], R]) -> Callable[[str], R]:
        """`call` (a question about one key or folder) under this remote's retry policy:
        the storage libraries make one attempt per request (see `_filesystem`)."""
        policy = self.retry_policy
        return lambda key: with_retries(lambda: call(key), policy)

    def has_many(self, oids: Iterable[Oid]) -> set[Oid]:
        by_key = {object_key(oid): oid for oid in oids}
        return {by_key[key] for key in self.has_keys(by_key)}

    def upload(self, oid: Oid, src: Path, on_bytes: OnBytes | None = None) -> None:
        self.put_file(object_key(oid), src, oid, on_bytes)

    def download(self, oid: Oid, dest: Path, on_bytes: OnBytes | None = None) -> None:
        self.get_file(object_key(oid), dest, on_bytes)

    def open(self, oid: Oid) -> BinaryIO:
        """A streaming read of the object's raw bytes; the caller verifies what it needs."""
        return self.open_key(object_key(oid))

    def delete(self, oids: Iterable[Oid]) -> None:
        self.delete_keys([object_key(oid) for oid in oids])

    def iter_oids(self) -> Iterator[Oid]:
        for algorithm in ALGORITHMS:
            for key in self.iter_keys(algorithm):
                named = parse_object_key(key)
                if named is not None and not named.chunk_list:
                    yield named.oid

    def missing(self, key: str) -> MissingObject:
        return MissingObject(
            f"{key_label(key)} is missing from remote {self.label}",
            hint="push it from a clone that has it: `gitmv push`",
        )


class MissingObject(RemoteError):
    """The remote lacks one object: a problem with that object, not with the remote."""


_FIRST_READ = 64 * 1024  # a read this size ends a typical small file; a 1 MiB one costs an mmap


def _copy_verifying(src: Path, fd: int, algorithm: str) -> tuple[Oid, int]:
    """Copy `src` to `fd`, hashing what was copied; a small file in one read and one write
    (os.open, not open(): no fstat, seek or tty check, which count at 20,000 files)."""
    src_fd = os.open(src, os.O_RDONLY)
    try:
        data = os.read(src_fd, _FIRST_READ)
    finally:
        os.close(src_fd)
    if len(data) == _FIRST_READ:  # perhaps more: stream it
        return copy_and_hash(src, fd, algorithm)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return hash_bytes(data, algorithm), len(data)


def corrupt_source(expected: Oid, actual: Oid) -> IntegrityError:
    return IntegrityError(
        f"cache object {expected} is corrupt (its bytes hash to {actual}); not uploaded",
        hint="run `gitmv verify`, then restore it with `gitmv add` or `gitmv fetch`",
    )


class FolderRemote(Remote):
    """A folder (local disk, NFS mount, `file://`): plain os calls, no per-object fsspec cost."""

    def __init__(self, spec: RemoteSpec, root: Path) -> None:
        super().__init__(spec)
        self.root = root
        self._root = str(root)
        self._made_dirs: set[str] = set()

    @property
    def default_jobs(self) -> int:
        return local_jobs()  # a local disk: system calls, not round trips

    def check(self, *, write: bool = False) -> None:
        if self.root.is_dir():
            if write and not os.access(self.root, os.W_OK | os.X_OK):
                raise RemoteError(
                    f"remote {self.label}: no permission to write to {self.root}",
                    hint="fix the folder's permissions, or point the remote elsewhere",
                )
            return
        if self.root.exists():
            raise RemoteError(
                f"remote {self.label}: {self.root} is not a folder",
                hint="fix the URL: `gitmv remote add NAME URL` after `gitmv remote remove NAME`",
            )
        if not write:
            raise RemoteError(
                f"remote {self.label}: the folder {self.root} does not exist",
                hint="check the path (`gitmv remote list`); it is created by the first push",
            )
        if not self.root.parent.is_dir():
            raise RemoteError(
                f"remote {self.label}: {self.root.parent} does not exist",
                hint="is the disk mounted? create the parent folder, or fix the remote's URL",
            )
        try:
            self.root.mkdir(exist_ok=True)
        except OSError as exc:
            raise RemoteError(
                f"remote {self.label}: cannot create {self.root}: {exc.strerror}",
                hint="fix the folder's permissions, or point the remote elsewhere",
            ) from None

    def exists(self, key: str) -> bool:
        return os.path.exists(self.root / key)

    def list_names(self, prefix: str) -> list[str]:
        try:
            return os.listdir(self.root / prefix)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise self._error(exc, f"cannot list {prefix}") from None

    def _ensure_dir(self, folder: str) -> None:
        if folder not in self._made_dirs:
            os.makedirs(folder, exist_ok=True)
            self._made_dirs.add(folder)

    def put_file(self, key: str, src: Path, expected: Oid, on_bytes: OnBytes | None = None) -> None:
        def fill(fd: int) -> int:
            actual, size = _copy_verifying(src, fd, expected.algorithm)
            if actual != expected:
                raise corrupt_source(expected, actual)
            return size

        size = self._write_new(key, fill)
        if on_bytes and size is not None:
            on_bytes(size)

    def put_bytes(self, key: str, data: bytes, expected: Oid) -> None:
        actual = hash_bytes(data, expected.algorithm)
        if actual != expected:
            raise corrupt_source(expected, actual)

        def fill(fd: int) -> int:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            return len(data)

        self._write_new(key, fill)

    def _write_new(self, key: str, fill: Callable[[int], int]) -> int | None:
        """Publish the object at `key`: `fill` writes it into a temp file beside its final
        name (raising abandons it), then a rename makes it whole at once. None if the object
        was already there. Plain strings, no pathlib: this runs once per file of a
        20,000-file folder, where pathlib alone would be a visible share of the time."""
        final = os.path.join(self._root, key)
        if os.path.exists(final):
            return None  # immutable: whatever is there already has these bytes
        try:
            self._ensure_dir(os.path.dirname(final))
            tmp = temp_str(final)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _READ_ONLY)
        except OSError as exc:
            raise self._error(exc, f"cannot write {key_label(key)}") from None
        try:
            try:
                size = fill(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                raise self._error(exc, f"cannot write {key_label(key)}") from None
            raise
        return size

    def get_file(self, key: str, dest: Path, on_bytes: OnBytes | None = None) -> None:
        try:
            shutil.copyfile(os.path.join(self._root, key), dest)
        except FileNotFoundError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise self.missing(key) from None
        except OSError as exc:
            raise self._error(exc, f"cannot read {key_label(key)}") from None
        if on_bytes:
            on_bytes(os.path.getsize(dest))

    def get_bytes(self, key: str) -> bytes:
        try:
            with open(os.path.join(self._root, key), "rb", buffering=0) as f:
                return f.read()
        except FileNotFoundError:
            raise self.missing(key) from None
        except OSError as exc:
            raise self._error(exc, f"cannot read {key_label(key)}") from None

    def open_key(self, key: str) -> BinaryIO:
        try:
            return open(self.root / key, "rb")
        except FileNotFoundError:
            raise self.missing(key) from None

    def delete_keys(self, keys: Sequence[str]) -> None:
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.root / key)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        for dirpath, _dirs, files in os.walk(self.root / prefix):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                if not is_temp_name(name):
                    yield f"{rel}/{name}"

    def iter_stats(self, prefix: str) -> Iterator[KeyStat]:
        for dirpath, _dirs, files in os.walk(self.root / prefix):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                if is_temp_name(name):
                    continue
                with contextlib.suppress(FileNotFoundError):  # deleted while we list
                    st = os.lstat(os.path.join(dirpath, name))
                    yield KeyStat(f"{rel}/{name}", st.st_size, st.st_mtime)

    def stale_temps(self, older_than: float) -> list[str]:
        cutoff = time.time() - older_than
        found = []
        for top in (*ALGORITHMS, "chunks"):
            for dirpath, _dirs, files in os.walk(self.root / top):
                for name in files:
                    path = os.path.join(dirpath, name)
                    with contextlib.suppress(FileNotFoundError):
                        if is_temp_name(name) and os.lstat(path).st_mtime < cutoff:
                            found.append(Path(path).relative_to(self.root).as_posix())
        return found

    def _error(self, exc: OSError, what: str) -> RemoteError:
        reason = exc.strerror or type(exc).__name__
        return RemoteError(
            f"remote {self.label}: {what}: {reason}",
            hint="check the folder's permissions and free space",
        )


class FsspecRemote(Remote):
    """Any fsspec URL. Object stores publish by a single PUT or a completed multipart upload;
    other file systems (sftp, ...) by a temporary key and a move."""

    def __init__(self, spec: RemoteSpec) -> None:
        super().__init__(spec)
        protocol = spec.url.split("://", 1)[0].lower()
        self.protocol = protocol
        self.object_store = protocol in OBJECT_STORES
        self._fs: Any = None
        self._root: str | None = None

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs = self._make_fs()
        return self._fs

    @property
    def root(self) -> str:
        """The URL as the file system spells paths (`bucket/prefix` for `s3://bucket/prefix`)."""
        if self._root is None:
            self._root = str(self.fs._strip_protocol(self.spec.url)).rstrip("/")
        return self._root

    def _make_fs(self) -> Any:
        try:
            return _filesystem(self.protocol, dict(self.spec.options), self.jobs)
        except ImportError as exc:
            package = exc.name or "a package"
            raise RemoteError(
                f"remote {self.label}: the {self.protocol}:// protocol needs {package}",
                hint=f"install it: pip install {package}",
            ) from None
        except (ValueError, TypeError) as exc:
            raise RemoteError(
                f"remote {self.label}: bad option: {self._scrub(str(exc))}",
                hint="see `gitmv remote list`; options are passed to the fsspec file system",
            ) from None

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    def _call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RemoteError:
            raise
        except Exception as exc:
            raise self._error(exc, what) from exc

    def check(self, *, write: bool = False) -> None:
        endpoint = self.spec.options.get("endpoint_url")
        if isinstance(endpoint, str) and endpoint:
            self._probe_tcp(endpoint)
        timed: dict[str, Any] = {"timeout": CHECK_TIMEOUT} if self._is_async() else {}
        # A busy server (503) gets the remote's retries, but all within the check's budget:
        # a server that never answers still fails in CHECK_TIMEOUT, not retries times that.
        budget = dataclasses.replace(
            self.retry_policy, timeout=min(self.retry_policy.timeout, CHECK_TIMEOUT)
        )
        if self.object_store:
            bucket = self.root.split("/", 1)[0]
            try:
                with_retries(lambda: self.fs.info(bucket, **timed), budget)
            except FileNotFoundError:
                raise RemoteError(
                    f"remote {self.label}: the bucket {bucket!r} does not exist",
                    hint="create the bucket, or fix the URL with `gitmv remote add`",
                ) from None
            except Exception as exc:
                raise self._error(exc, "cannot reach the bucket") from exc
            return
        try:
            if self.fs.exists(self.root, **timed):
                return
            if write:
                self.fs.makedirs(self.root, exist_ok=True)
                return
        except Exception as exc:
            raise self._error(exc, "cannot reach the remote") from exc
        raise RemoteError(
            f"remote {self.label}: {self.root} does not exist",
            hint="check the URL with `gitmv remote list`",
        )

    def _is_async(self) -> bool:
        return bool(getattr(self.fs, "async_impl", False))

    def _probe_tcp(self, endpoint: str) -> None:
        """An explicit endpoint that refuses connections fails now, not after retries."""
        parts = urlsplit(endpoint)
        if not parts.hostname:
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise RemoteError(
                f"cannot reach remote {self.label} at {redact_url(endpoint)}: {reason}",
                hint="is the server running? check endpoint_url with `gitmv remote list`",
            ) from None

    def exists(self, key: str) -> bool:
        try:
            self.fs.info(self._path(key))
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise self._error(exc, f"cannot check {key_label(key)}") from exc
        return True

    def list_names(self, prefix: str) -> list[str]:
        try:
            paths = self.fs.ls(self._path(prefix), detail=False)
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise self._error(exc, f"cannot list {prefix}") from exc
        return [str(p).rstrip("/").rsplit("/", 1)[-1] for p in paths]

    def put_file(self, key: str, src: Path, expected: Oid, on_bytes: OnBytes | None = None) -> None:
        # Hash first: a corrupt cache file must never become a remote object.
        actual, _ = hash_file(src, expected.algorithm)
        if actual != expected:
            raise corrupt_source(expected, actual)
        final = self._path(key)
        callback = _callback(on_bytes)
        what = f"cannot upload {key_label(key)}"
        if self.object_store:
            self._call(what, self.fs.put_file, str(src), final, callback=callback)
            return
        tmp = temp_name(Path(final)).as_posix()
        self._call(what, self.fs.makedirs, final.rsplit("/", 1)[0], exist_ok=True)
        try:
            self._call(what, self.fs.put_file, str(src), tmp, callback=callback)
            self._call(what, self.fs.mv, tmp, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp)
            raise

    def put_bytes(self, key: str, data: bytes, expected: Oid) -> None:
        actual = hash_bytes(data, expected.algorithm)
        if actual != expected:
            raise corrupt_source(expected, actual)
        final = self._path(key)
        what = f"cannot upload {key_label(key)}"
        if self.object_store:
            self._call(what, self.fs.pipe_file, final, data)
            return
        tmp = temp_name(Path(final)).as_posix()
        self._call(what, self.fs.makedirs, final.rsplit("/", 1)[0], exist_ok=True)
        try:
            self._call(what, self.fs.pipe_file, tmp, data)
            self._call(what, self.fs.mv, tmp, final)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp)
            raise

    def get_file(self, key: str, dest: Path, on_bytes: OnBytes | None = None) -> None:
        try:
            self.fs.get_file(self._path(key), str(dest), callback=_callback(on_bytes))
        except FileNotFoundError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise self.missing(key) from None
        except Exception as exc:
            raise self._error(exc, f"cannot download {key_label(key)}") from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError:
            raise self.missing(key) from None
        except Exception as exc:
            raise self._error(exc, f"cannot download {key_label(key)}") from exc

    def open_key(self, key: str) -> BinaryIO:
        try:
            return self.fs.open(self._path(key), "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise self.missing(key) from None
        except Exception as exc:
            raise self._error(exc, f"cannot read {key_label(key)}") from exc

    def delete_keys(self, keys: Sequence[str]) -> None:
        if keys:
            self._call("cannot delete objects", self.fs.rm, [self._path(k) for k in keys])

    def iter_keys(self, prefix: str) -> Iterator[str]:
        # One listing either way: object stores return sizes and times with the names.
        return (stat.key for stat in self.iter_stats(prefix))

    def iter_stats(self, prefix: str) -> Iterator[KeyStat]:
        try:
            found = with_retries(
                lambda: self.fs.find(self._path(prefix), detail=True), self.retry_policy
            )
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self._error(exc, f"cannot list {prefix}") from exc
        skip = len(self.root) + 1 if self.root else 0
        for path in sorted(found):
            key = str(path)[skip:]
            info = found[path]
            if is_temp_name(key.rsplit("/", 1)[-1]) or info.get("type") == "directory":
                continue
            yield KeyStat(key, int(info.get("size") or 0), _modified(info))

    def _scrub(self, text: str) -> str:
        """Error text from a storage library, with any secret it might echo blanked out:
        secret options' values, and the URL's user info (a library may echo the bucket as
        it parsed it, `user:password@bucket`, without the scheme)."""
        secrets: list[object] = [v for k, v in self.spec.options.items() if is_secret(k, v)]
        authority = self.spec.url.partition("://")[2].split("/", 1)[0]
        if "@" in authority:
            userinfo = authority.rsplit("@", 1)[0]
            secrets += [userinfo, *userinfo.split(":", 1)[1:]]  # the password, not the user
        return scrub(text, sorted(secrets, key=lambda v: -len(str(v))))

    def _error(self, exc: BaseException, what: str) -> RemoteError:
        detail = self._scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        if isinstance(exc, PermissionError) or _status(exc) in (401, 403):
            hint = (
                "check the credentials: environment, profile, or "
                "`gitmv remote add --local NAME URL --option KEY=VALUE`"
            )
        elif _looks_like(exc, "NoCredentialsError", "DefaultCredentialsError"):
            hint = (
                "no credentials found: set them in the environment, a profile, or the local config"
            )
        elif is_transient(exc):
            hint = (
                "is the remote reachable? check the URL and endpoint_url with `gitmv remote list`"
            )
        else:
            hint = "check the remote's URL and options with `gitmv remote list`"
        return RemoteError(f"remote {self.label}: {what}: {reason}", hint=hint)


def _filesystem(protocol: str, options: dict[str, Any], jobs: int) -> Any:
    """The storage library's file system, gitmv's option names mapped onto its keywords."""
    options.pop("jobs", None)
    for name in RETRY_OPTIONS:
        options.pop(name, None)
    endpoint = options.pop("endpoint_url", None)
    # Fresh instances with no listing cache: a listing must show what is there now.
    kwargs: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if protocol in ("s3", "s3a"):
        import s3fs

        fs = s3fs.S3FileSystem(**kwargs, **_s3_options(options, endpoint, jobs))
        _no_expect_continue(fs)
        # One retry layer, gitmv's (workers.retry, bounded per object): botocore makes one
        # attempt (`_s3_options`), and s3fs's own retries are off too. Retries stacked
        # three deep turned one failing object into minutes of requests.
        fs.retries = 1
        return fs
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    if protocol in ("gs", "gcs"):
        # Without this, gcsfs probes every bucket for hierarchical-namespace support,
        # which stalls each call against an emulator.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        read_timeout = options.pop("read_timeout", None)
        if read_timeout is not None:
            options.setdefault("requests_timeout", read_timeout)
        return _gcs_class()(**kwargs, **options)
    import fsspec

    return fsspec.filesystem(protocol, **kwargs, **options)


@functools.cache
def _gcs_class() -> Any:
    """gcsfs's file system with its own retry loop off: gitmv's is the one layer.

    gcsfs wraps every request in `gcsfs.retry.retry_request` (six tries with up to 32 s
    waits), fixed when the class is defined, with no option to change it. Under our
    retries that made one object against a 503 cost 24 requests over 136 s. The subclass
    calls the undecorated methods (`__wrapped__`, which the `decorator` package keeps);
    a gcsfs without them keeps its own loop, still bounded by our per-object timeout."""
    import gcsfs.core

    base = gcsfs.core.GCSFileSystem
    plain = {
        name: inner
        for name in ("_request", "_get_file_request", "_get_file_concurrent")
        if (inner := getattr(base.__dict__.get(name), "__wrapped__", None)) is not None
    }
    return type("GCSFileSystemOneTry", (base,), plain)


def _no_expect_continue(fs: Any) -> None:
    """botocore sends every upload with `Expect: 100-continue`, and aiohttp waits for the
    `100` with no timeout: a server that stops answering mid-upload would hang the push for
    ever. Without the header the body goes at once and `read_timeout` bounds the wait."""
    from botocore.handlers import add_expect_header

    fs.connect().meta.events.unregister("before-call.s3", add_expect_header)


# The AWS (and DVC) spellings of S3 credentials, as s3fs names them.
_S3_CREDENTIALS = {
    "aws_access_key_id": "key",
    "access_key_id": "key",
    "aws_secret_access_key": "secret",
    "secret_access_key": "secret",
    "aws_session_token": "token",
    "session_token": "token",
}


def _s3_options(options: dict[str, Any], endpoint: object, jobs: int) -> dict[str, Any]:
    """Short connect timeouts and few retries, so an unreachable endpoint fails in seconds;
    a connection pool as wide as the transfer's concurrency."""
    for name, s3fs_name in _S3_CREDENTIALS.items():
        if name in options:
            options.setdefault(s3fs_name, options.pop(name))
    client = dict(options.pop("client_kwargs", None) or {})
    region = options.pop("region", None)
    if region:
        client["region_name"] = region
    config = {
        "connect_timeout": options.pop("connect_timeout", CONNECT_TIMEOUT),
        "read_timeout": options.pop("read_timeout", 60),
        # One attempt per call: gitmv's retry (workers.retry) is the only layer. Not
        # `max_attempts: 1`, which botocore reads as one *retry* (two attempts).
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "max_pool_connections": max(10, 2 * jobs),
    }
    config.update(options.pop("config_kwargs", None) or {})
    out: dict[str, Any] = {"client_kwargs": client, "config_kwargs": config, **options}
    if endpoint:
        out["endpoint_url"] = endpoint
    return out


def _callback(on_bytes: OnBytes | None) -> Any:
    import fsspec.callbacks

    if on_bytes is None:
        return fsspec.callbacks.DEFAULT_CALLBACK
    relay: OnBytes = on_bytes

    class _Relay(fsspec.callbacks.Callback):  # type: ignore[misc]
        def relative_update(self, inc: int = 1) -> None:
            relay(inc)

        def absolute_update(self, value: int) -> None:
            inc = value - int(getattr(self, "value", 0) or 0)
            self.value = value
            if inc > 0:
                relay(inc)

    return _Relay()


_TRANSIENT_NAMES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ClientConnectionError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ClientPayloadError",
        "FSTimeoutError",
        "IncompleteRead",
        "ResponseStreamingError",
        "ProxyError",
    }
)
_TRANSIENT_CODES = frozenset(
    {"SlowDown", "Throttling", "RequestTimeout", "InternalError", "ServiceUnavailable"}
)
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_ERRNOS = frozenset(
    {errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EPIPE, errno.EAGAIN}
)


def with_retries(
    action: Callable[[], R],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> R:
    """Run `action`, retrying transient failures (`is_transient`): at most `policy.retries`
    times, and never past `policy.timeout` seconds from the start, tries and waits
    together; the waits grow exponentially, with jitter (`RetryPolicy.backoff`).

    gitmv's one retry layer: botocore, s3fs and gcsfs make one attempt each (see
    `_filesystem`). workers.retry runs each object's transfer through it."""
    deadline = clock() + policy.timeout
    for attempt in range(policy.retries + 1):
        try:
            return action()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = policy.backoff(attempt)
            if attempt == policy.retries or clock() + delay >= deadline:
                raise _gave_up(exc, attempt + 1) from exc.__cause__
            sleep(delay)
    raise AssertionError("unreachable")


def _gave_up(exc: Exception, tries: int) -> Exception:
    """The last failure, saying how many tries it took (a user tuning `retries` or
    `retry_timeout` wants to know); other exceptions go up unchanged."""
    if tries < 2 or type(exc) not in (RemoteError, MissingObject):
        return exc
    assert isinstance(exc, GitmvError)
    return type(exc)(f"{exc.message} (gave up after {tries} tries)", exc.hint)


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying: the network or a busy server, not a wrong name or a denial.

    Library exception types are matched by name so that judging a folder remote's
    error never imports botocore or aiohttp.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (FileNotFoundError, PermissionError, IntegrityError)):
            return False
        if isinstance(current, (ConnectionError, TimeoutError, socket.timeout)):
            return True
        if isinstance(current, OSError) and current.errno in _TRANSIENT_ERRNOS:
            return True
        if _looks_like(current, *_TRANSIENT_NAMES) or _status(current) in _TRANSIENT_STATUS:
            return True
        response = getattr(current, "response", None)
        if isinstance(response, dict) and _transient_response(response):
            return True
        current = current.__cause__ or current.__context__
    return False


def _transient_response(response: dict[str, Any]) -> bool:
    """A botocore error response: by its code (`SlowDown`, ...) or, for a reply without a
    body (a 503 from a proxy or a load balancer has none, so no code), by its status."""
    error = response.get("Error")
    if isinstance(error, dict):
        code = error.get("Code")
        if code in _TRANSIENT_CODES or (
            isinstance(code, str) and code.isdigit() and int(code) in _TRANSIENT_STATUS
        ):
            return True
    meta = response.get("ResponseMetadata")
    return isinstance(meta, dict) and meta.get("HTTPStatusCode") in _TRANSIENT_STATUS


def _looks_like(exc: BaseException, *names: str) -> bool:
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def _status(exc: BaseException) -> int | None:
    for attr in ("code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return None


def _modified(info: Mapping[str, Any]) -> float | None:
    """The modification time in a listing entry: S3's `LastModified` (a datetime), GCS's
    `updated` (RFC 3339 text), or a file system's `mtime` / `created`."""
    from datetime import datetime, timezone

    for field_name in ("LastModified", "last_modified", "updated", "mtime", "created"):
        value = info.get(field_name)
        if isinstance(value, datetime):
            stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            return stamp.timestamp()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()
    return None
