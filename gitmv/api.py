"""The public Python API: resolve a registry reference, read its metadata, open its bytes.

    >>> import gitmv.api
    >>> v = gitmv.api.resolve("churn@production")
    >>> v.version, v.oid, v.meta["metrics"]
    >>> with gitmv.api.open("churn@production") as f:
    ...     model = pickle.load(f)

A reference is `NAME@vX.Y.Z`, `NAME@STAGE`, `NAME#STAGE`, `NAME@latest` or `NAME`. It
works in any clone that has the registry tags (`git fetch --tags`): the version never
needs to be checked out, and bytes the cache lacks stream from the default remote.
Each function is a thin call into the verb the CLI runs too (`gitmv.ops.get`), so
`gitmv registry get` and `gitmv.api.get` behave alike. Reference: docs/api.md.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

from gitmv.ops import get as getting
from gitmv.registry import tags as registry
from gitmv.registry.artifacts import Version, resolve_version
from gitmv.repo.context import Repo
from gitmv.store.hashing import Oid

__all__ = ["Version", "get", "open", "read_meta", "resolve"]

RepoLike = str | os.PathLike[str] | Repo


def _repo(repo: RepoLike) -> Repo:
    if isinstance(repo, Repo):
        return repo
    return Repo.open(Path(repo).absolute())


def resolve(ref: str, repo: RepoLike = ".", *, loaded: registry.Registry | None = None) -> Version:
    """The version `ref` names now: tags read once, the pointer read from the version's commit.

    `loaded` is a registry already read (`gitmv.registry.tags.load`), to resolve many references
    against one reading of the tags.
    """
    return resolve_version(_repo(repo), ref, loaded)[0]


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
    binary = getting.open_version(_repo(repo), ref, path)
    return binary if mode == "rb" else io.TextIOWrapper(binary, encoding="utf-8")


def read_object(repo: Repo, oid: Oid) -> bytes:
    """A small object's bytes (a manifest, a package list), from the cache or the remote,
    hash-verified."""
    return getting.read_object(repo, oid)


def get(
    ref: str, output: str | os.PathLike[str], *, repo: RepoLike = ".", force: bool = False
) -> Version:
    """Write the version's bytes (a file, or a whole folder) to `output`, fetching what the
    cache lacks from the default remote, every object hash-verified. Returns the version."""
    return getting.get(_repo(repo), ref, output, force=force)
