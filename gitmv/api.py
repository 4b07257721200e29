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

import dataclasses
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

from gitmv.ops import get as getting
from gitmv.ops import pull as _pull
from gitmv.ops import push as _push
from gitmv.ops.add import AddReport, AddResult
from gitmv.ops.add import add as _add
from gitmv.ops.inputs import MetaOptions
from gitmv.ops.move import MoveReport
from gitmv.ops.move import mv as _mv
from gitmv.ops.pull import PullReport
from gitmv.ops.push import PushReport
from gitmv.ops.status import ArtifactStatus, StatusReport
from gitmv.ops.status import status as _status
from gitmv.ops.untrack import RmReport
from gitmv.ops.untrack import rm as _rm
from gitmv.registry import tags as registry
from gitmv.registry.artifacts import Version, resolve_version
from gitmv.repo.context import Repo
from gitmv.store.hashing import Oid
from gitmv.workspace.conflicts import PointerConflict

__all__ = [
    "AddReport",
    "AddResult",
    "ArtifactStatus",
    "MoveReport",
    "PointerConflict",
    "PullReport",
    "PushReport",
    "RmReport",
    "StatusReport",
    "Version",
    "add",
    "find",
    "get",
    "mv",
    "open",
    "pull",
    "push",
    "read_meta",
    "resolve",
    "rm",
    "status",
    "used_by",
]

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


def find(
    *filters: str,
    repo: RepoLike = ".",
    stage: str | None = None,
    since: str | None = None,
    until: str | None = None,
    sort: str | None = None,
    desc: bool = False,
    limit: int | None = None,
    all_commits: bool = False,
) -> list[Version]:
    """The registered versions passing every filter, as `gitmv registry find` finds them.

        >>> gitmv.api.find("metrics.accuracy>=0.9", "label=fraud", sort="metrics.accuracy",
        ...                desc=True, limit=5)

    A filter is `KEY OP VALUE` (docs/registry.md, "Finding versions"). Newest first unless
    `sort` names a key. Each is the `Version` `resolve` returns (`stage` set when `stage`
    was asked for). Raises `QueryError` (a `GitmvError`) for a filter that means nothing.
    """
    from gitmv.ops.find import find as _find
    from gitmv.registry.query import FindQuery

    query = FindQuery(
        filters=filters,
        all_commits=all_commits,
        stage=stage,
        since=since,
        until=until,
        sort=sort,
        desc=desc,
        limit=limit,
    )
    report = _find(_repo(repo), query)
    return [dataclasses.replace(h.version, stage=stage) for h in report.hits]


def used_by(target: str, repo: RepoLike = ".") -> list[Version]:
    """Every registered version made from `target` (a PATH, an OID or NAME@vX.Y.Z), directly
    or through versions made from it, nearest first (`gitmv registry used-by`)."""
    from gitmv.ops.usedby import used_by as _used_by

    return [u.version for u in _used_by(_repo(repo), target).users]


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


def add(
    paths: Sequence[str | os.PathLike[str]],
    *,
    repo: RepoLike = ".",
    name: str | None = None,
    type: str | None = None,
    meta: Sequence[str] = (),
    params: str | os.PathLike[str] | None = None,
    metrics: str | os.PathLike[str] | None = None,
    inputs: Sequence[str | os.PathLike[str]] = (),
    keep_meta: bool = False,
    labels: Sequence[str] = (),
) -> AddReport:
    """Track files or folders as `gitmv add` does: cache the bytes, write `<path>.gmv`, list
    the artifact in `.gitignore`, and stage both (committing is left to you).

    `paths`: files or folders, relative to `repo` (a folder inside the repository, the
    current one by default, or a `Repo`) or absolute. `name`, `type`: the registry name and
    artifact type. `meta`: `KEY=VALUE` strings as `--meta` takes them (typed as YAML reads
    a scalar; dotted keys nest). `params`, `metrics`: a YAML or JSON file to record.
    `inputs`: tracked, clean artifacts this one was made from. Any of these also records
    the code commit and Python environment (docs/registry.md). `keep_meta`: a new version
    carries the old params, metrics and inputs over. `labels`: the version's
    `meta.labels` (`--label`).

    Returns an `AddReport`: `.artifacts`, one `AddResult` per path in order: `.path`
    (root-relative), `.pointer` (the `Pointer` written: `.oid`, `.size`, `.kind`, `.files`,
    `.meta`), `.changed` (False when bytes and meta were recorded already).

    Raises `GitmvError` (with a `.hint`) for a path that is missing, outside the repository,
    a pointer file, a symbolic link, inside or around a tracked artifact, or a bad meta
    option; `NotInitialised` where gitmv is not set up. Everything is checked before a
    byte is written: after an error nothing has changed.
    """
    handle = _repo(repo)
    params_file = None if params is None else os.fspath(params)
    metrics_file = None if metrics is None else os.fspath(metrics)
    made_from = tuple(os.fspath(i) for i in inputs)
    options = MetaOptions(name, type, tuple(meta), params_file, metrics_file, made_from)
    options = dataclasses.replace(options, labels=tuple(labels))
    return _add(handle, [os.fspath(p) for p in paths], options, keep_meta=keep_meta)


def status(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    repo: RepoLike = ".",
    remote: bool | str = False,
) -> StatusReport:
    """Whether each artifact's bytes in the work tree are the ones its pointer names, as
    `gitmv status` tells; changes nothing but gitmv's own stat cache.

    `paths`: artifacts, their pointer files, or folders holding some (relative to `repo`,
    as for `add`); all tracked artifacts by default. `remote`: also ask a remote which
    clean artifacts it lacks: True for the default remote, or a remote's name.

    Returns a `StatusReport`: `.artifacts`, one `ArtifactStatus` per artifact: `.path`
    (root-relative), `.state` (`clean`, `modified`, `missing` (its bytes are cached),
    `not-cached`, and with `remote` `not-pushed`), `.kind` (`file`/`dir`), `.oid`, `.size`;
    `.conflicts`: the pointers a merge left in conflict (`PointerConflict`: `.path`, and
    `.ours`/`.theirs`, each side's oid, size and kind, or None where a side deleted it).

    Raises `GitmvError` (with a `.hint`) for a path where no artifact is tracked, an unknown
    or unreachable remote, or a pointer that does not parse outside a merge;
    `NotInitialised` where gitmv is not set up.
    """
    handle = _repo(repo)
    return _status(handle, [os.fspath(p) for p in paths], remote=remote)


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


def rm(
    paths: Sequence[str | os.PathLike[str]], *, repo: RepoLike = ".", keep: bool = False
) -> RmReport:
    """Stop tracking artifacts as `gitmv rm` does: the pointer and its `.gitignore` line go
    (staged); the work-tree bytes are deleted unless `keep`, and only when they are in the
    cache or on the default remote. The cached object stays (gc decides).

    Returns an `RmReport`: `.untracked` (root-relative artifacts) and `.deleted` (those whose
    work-tree bytes were deleted). Raises `GitmvError` (with a `.hint`), changing nothing,
    for a path that is no tracked artifact, or bytes that exist nowhere else (modified, or
    in neither the cache nor the remote).
    """
    return _rm(_repo(repo), [os.fspath(p) for p in paths], keep=keep)


def mv(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, repo: RepoLike = "."
) -> MoveReport:
    """Move an artifact with its pointer (a staged rename) and its `.gitignore` line, as
    `gitmv mv` does; `dst` may be a folder. Never overwrites.

    Returns a `MoveReport`: `.src`, `.dst` (root-relative) and `.pinned_name` (the
    `meta.name` written to keep a registered artifact's name, or None). Raises `GitmvError`,
    changing nothing, for an untracked `src` or a `dst` that exists, lies inside another
    artifact or outside the repository.
    """
    return _mv(_repo(repo), os.fspath(src), os.fspath(dst))
