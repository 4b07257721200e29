"""The fsspec backend: any fsspec URL (S3, GCS, sftp, ...), through the file system that
filesystems.py builds. Object stores publish by a single PUT or a completed multipart
upload; other file systems by a temporary key and a move.

No import of fsspec here (filesystems.py is where the libraries are loaded, when a
remote is first used), so importing this module costs `gitmv status` nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from gitmv.base.atomic import is_temp_name, temp_name
from gitmv.base.config import redact_url
from gitmv.base.errors import RemoteError
from gitmv.remotes.credentials import scrub_secrets
from gitmv.remotes.filesystems import CONNECT_TIMEOUT, callback, filesystem, missing_package
from gitmv.remotes.options import RemoteSpec
from gitmv.remotes.remote import OnBytes, Remote, corrupt_source
from gitmv.remotes.retries import is_transient, looks_like, status_of, with_retries
from gitmv.store.hashing import Oid, hash_bytes, hash_file
from gitmv.store.layout import key_label
from gitmv.store.objects import KeyStat

CHECK_TIMEOUT = 8.0  # seconds a reachability probe may take, retries included
# Protocols whose single PUT / completed multipart upload is atomic: no temp name needed.
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
GCS = ("gs", "gcs")


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
            return filesystem(self.protocol, dict(self.spec.options), self.jobs)
        except ImportError as exc:
            raise missing_package(self.protocol, self.spec.url, self.spec.name, exc) from None
        except (ValueError, TypeError) as exc:
            raise RemoteError(
                f"remote {self.label}: bad option: {self._scrub(str(exc))}",
                hint="see `gitmv remote list`; options are passed to the fsspec file system",
            ) from None
        except Exception as exc:
            # the library's own setup failing (botocore's ProfileNotFound for a profile no
            # file defines): the remote's problem, said as one, not an internal error
            raise self._error(exc, "cannot open the remote") from exc

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    def _call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RemoteError:
            raise
        except Exception as exc:
            raise self._error(exc, what) from exc

    def _bucket_info(self, bucket: str, timed: dict[str, Any]) -> object:
        """The bucket's entry; FileNotFoundError when there is no such bucket. s3fs before
        2025.10 says FileNotFoundError for an empty bucket too, where a listing (empty)
        tells the two apart."""
        try:
            return self.fs.info(bucket, **timed)
        except FileNotFoundError:
            return self.fs.ls(bucket, refresh=True, **timed)

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
                with_retries(lambda: self._bucket_info(bucket, timed), budget)
            except FileNotFoundError:
                raise RemoteError(
                    f"remote {self.label}: the bucket {bucket!r} does not exist",
                    # `remote add` alone refuses the name that exists: remove it first
                    hint=(
                        "create the bucket, or fix the URL: "
                        f"`gitmv remote remove {self.spec.name}`, "
                        f"then `gitmv remote add {self.spec.name} URL`"
                    ),
                ) from None
            except Exception as exc:
                # a 403 reached the bucket: it is the credentials (or their rights) that failed
                denied = isinstance(exc, PermissionError) or status_of(exc) in (401, 403)
                what = "the bucket refused access" if denied else "cannot reach the bucket"
                raise self._error(exc, what) from exc
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
            if self.protocol in ("s3", "s3a"):
                # One HEAD: s3fs's `info` follows a 404 with listings (is it a folder?)
                bucket, name, _ = self.fs.split_path(self._path(key))
                self.fs.call_s3("head_object", Bucket=bucket, Key=name)
            elif self.protocol in GCS and hasattr(self.fs, "_get_object"):
                # One metadata GET: gcsfs's `info` also lists the key as a folder, and that
                # listing, empty, asks for the object again (three requests for a miss)
                from fsspec.asyn import sync  # fsspec is loaded: `self.fs` exists

                sync(self.fs.loop, self.fs._get_object, self._path(key))
            else:
                self.fs.info(self._path(key))
        except FileNotFoundError:
            return False
        except Exception as exc:
            raise self._error(exc, f"cannot check {key_label(key)}") from exc
        return True

    def list_names(self, prefix: str) -> list[str]:
        try:
            if self.protocol in ("s3", "s3a"):
                # One listing: s3fs's `ls` of an empty prefix lists its parent too (is it a
                # file?), a second request for an answer we already have.
                from fsspec.asyn import sync  # fsspec is loaded: `self.fs` exists

                found = sync(self.fs.loop, self.fs._lsdir, self._path(prefix))
                paths = [entry["name"] for entry in found]
            elif self.protocol in GCS and hasattr(self.fs, "_do_list_objects"):
                # One listing: gcsfs's `ls` of an empty prefix asks for it as an object too
                from fsspec.asyn import sync

                items, prefixes = sync(self.fs.loop, self.fs._do_list_objects, self._path(prefix))
                paths = [entry["name"] for entry in items] + list(prefixes)
            else:
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
        progress = callback(on_bytes)
        what = f"cannot upload {key_label(key)}"
        if self.object_store:
            self._call(what, self.fs.put_file, str(src), final, callback=progress)
            return
        tmp = temp_name(Path(final)).as_posix()
        self._call(what, self.fs.makedirs, final.rsplit("/", 1)[0], exist_ok=True)
        try:
            self._call(what, self.fs.put_file, str(src), tmp, callback=progress)
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
            self.fs.get_file(self._path(key), str(dest), callback=callback(on_bytes))
        except FileNotFoundError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise self.missing(key) from None
        except Exception as exc:
            raise self._error(exc, f"cannot download {key_label(key)}") from exc

    def get_bytes(self, key: str) -> bytes:
        # One GET: s3fs's `cat_file` first asks the size (a HEAD) when it may split the read
        # over several connections; a small object is never worth that second request.
        # (s3fs before 2025.10 has no such split, nor the keyword)
        one_read = {"max_concurrency": 1} if _splits_reads(self.fs) else {}
        try:
            return bytes(self.fs.cat_file(self._path(key), **one_read))
        except FileNotFoundError:
            raise self.missing(key) from None
        except Exception as exc:
            raise self._error(exc, f"cannot download {key_label(key)}") from exc

    def get_range(self, key: str, start: int, size: int) -> bytes:
        try:
            data = bytes(self.fs.cat_file(self._path(key), start=start, end=start + size))
        except FileNotFoundError:
            raise self.missing(key) from None
        except Exception as exc:
            raise self._error(exc, f"cannot download {key_label(key)}") from exc
        if len(data) != size:
            raise self.missing(key)  # shorter than its index says: not the bytes named
        return data

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
        return scrub_secrets(text, self.spec.url, self.spec.options)

    def _error(self, exc: BaseException, what: str) -> RemoteError:
        detail = self._scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        return RemoteError(f"remote {self.label}: {what}: {reason}", hint=_hint(exc, self.spec))


def _hint(exc: BaseException, spec: RemoteSpec) -> str:
    """What to do about a storage library's failure: fix the credentials, find some, check
    the network, or check the remote's URL and options."""
    if isinstance(exc, PermissionError) or status_of(exc) in (401, 403):
        # `gitmv config`, not `remote add --local`: that refuses a remote that exists
        where = f"gitmv config --local remote.{spec.name}"
        if spec.url.startswith(("gs://", "gcs://")):
            return f"check the credentials: application-default, or `{where}.token KEY.json`"
        return f"check the credentials: environment, profile, or `{where}.key ...` (and .secret)"
    if looks_like(exc, "NoCredentialsError", "DefaultCredentialsError"):
        return "no credentials found: set them in the environment, a profile, or the local config"
    if is_transient(exc):
        return "is the remote reachable? check the URL and endpoint_url with `gitmv remote list`"
    return "check the remote's URL and options with `gitmv remote list`"


def _modified(info: Mapping[str, Any]) -> float | None:
    """The modification time in a listing entry: S3's `LastModified` (a datetime), GCS's
    `updated` (RFC 3339 text), or a file system's `mtime` / `created`."""
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


def _splits_reads(fs: Any) -> bool:
    """Whether this filesystem's `cat_file` takes `max_concurrency` (newer s3fs)."""
    fs_class: object = type(fs)  # mypy holds `type[Any]` unhashable; a class is hashable
    return _class_splits_reads(fs_class)


@functools.cache  # a fact of the installed library: asked once per class, not per object read
def _class_splits_reads(cls: object) -> bool:
    import inspect

    cat = getattr(cls, "_cat_file", None)
    try:
        return cat is not None and "max_concurrency" in inspect.signature(cat).parameters
    except (TypeError, ValueError):
        return False
