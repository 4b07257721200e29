"""The get and open verbs: a registered version's bytes, written out or streamed, without
a checkout. Bytes the cache lacks come from the default remote (`open_session`, so `--jobs`,
the remote's `jobs` and `core.jobs` apply), and every object is hash-verified.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from gitmv.base.errors import GitmvError
from gitmv.registry.artifacts import Version, resolve_version
from gitmv.repo.context import Repo
from gitmv.store import manifest
from gitmv.store.hashing import Oid
from gitmv.store.pointer import Pointer

if TYPE_CHECKING:
    from gitmv.transfer.reader import VerifyingReader

BUFFER = 1024 * 1024


def get(repo: Repo, ref: str, output: str | os.PathLike[str], *, force: bool = False) -> Version:
    """Write the version's bytes (a file, or a whole folder) to `output` (relative to the
    working directory), fetching what the cache lacks, every object hash-verified."""
    version, p = resolve_version(repo, ref)
    dest = Path(output)
    if not dest.is_absolute():
        dest = repo.cwd / dest
    if os.path.lexists(dest) and not force:
        raise GitmvError(f"{dest} already exists", hint="choose another -o PATH, or pass --force")
    ensure_cached(repo, version, p)
    links = list(repo.config.get("cache.link", ["reflink", "copy"]))
    links = [link for link in links if link in ("reflink", "copy")] or ["copy"]
    if p.kind == "file":
        _replace(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        repo.cache.materialize(p.oid, dest, links, p.exec)
        return version
    entries = manifest.decode(repo.cache.read_bytes(p.oid), f"manifest of {version.ref}")
    _replace(dest)
    dest.mkdir(parents=True)
    for entry in entries:
        target = dest / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        repo.cache.materialize(entry.oid, target, links, entry.exec)
    return version


def open_version(repo: Repo, ref: str, path: str | None = None) -> BinaryIO:
    """A buffered, hash-verified stream of the version's bytes (for a folder version, of
    the file `path` inside it), from the cache or the default remote."""
    version, p = resolve_version(repo, ref)
    oid, size = _target(repo, version, p, path)
    return io.BufferedReader(open_object(repo, oid, size), BUFFER)


def read_object(repo: Repo, oid: Oid) -> bytes:
    """A small object's bytes (a manifest, a package list), from the cache or the remote,
    hash-verified."""
    with open_object(repo, oid, None) as f:
        return f.readall()


def open_object(repo: Repo, oid: Oid, size: int | None) -> VerifyingReader:
    """One object, hash-verified as it is read: from the cache, else the default remote."""
    from gitmv.transfer.reader import VerifyingReader  # the transfer stack: only to read bytes

    if repo.cache.has(oid):
        return VerifyingReader(repo.cache.open(oid), oid, size, "the cache")
    from gitmv.ops.session import open_session  # the remote stack: only on a cache miss
    from gitmv.transfer.reader import open_remote_object

    return open_remote_object(open_session(repo, None).remote, oid, size)


def frozen_package_list(repo: Repo, meta: Mapping[str, Any]) -> list[str] | None:
    """The package list `env.packages` names, from the cache or the default remote;
    None when it is in neither (it is kept where the artifact was added)."""
    env = meta.get("env")
    text = env.get("packages") if isinstance(env, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        oid = Oid.parse(text)
        if repo.cache.has(oid):
            data = repo.cache.read_bytes(oid)
        elif repo.config.get("core.remote"):
            data = read_object(repo, oid)
        else:
            return None
    except GitmvError:
        return None
    return data.decode("utf-8", errors="replace").splitlines()


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


def ensure_cached(repo: Repo, version: Version, p: Pointer) -> None:
    """Fetch the version's objects the cache lacks from the default remote."""
    have = repo.cache.has(p.oid)
    if have and p.kind == "dir":
        entries = manifest.decode(repo.cache.read_bytes(p.oid), f"manifest of {version.ref}")
        have = all(repo.cache.has(e.oid) for e in entries)
    if have:
        return
    from gitmv.ops.session import open_session  # the remote stack: only on a cache miss
    from gitmv.transfer.engine import fetch

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
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    elif os.path.lexists(dest):
        os.unlink(dest)
