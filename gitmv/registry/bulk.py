"""Every registered version's pointer, read in bulk: the tags in one `git for-each-ref`, the
pointers in one `git cat-file --batch` (plus its `--batch-check`), whatever their number.

A tag names a commit, not a path: `artifact_at` finds a name's path by reading the whole
tree of the commit, one git call per version. Here each name's path is guessed instead: the
name itself (a pointer without `meta.name`), and the paths whose pointer at HEAD carries
that name. Every guess is read in the one batch and checked (its registry name must be the
version's name); only a version no guess fits (an artifact moved since, or gone from HEAD)
falls back to reading its commit's tree.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gitmv.base import git
from gitmv.base.atomic import write_bytes
from gitmv.base.errors import GitmvError
from gitmv.registry import metaread
from gitmv.registry.artifacts import Version, artifact_at, registry_name
from gitmv.registry.meta import plain
from gitmv.registry.tags import Registry, VersionState
from gitmv.repo.context import Repo
from gitmv.store import pointer
from gitmv.store.pointer import Pointer


@dataclass(frozen=True)
class Loaded:
    """The versions read, and those whose pointer could not be (with the reason)."""

    versions: tuple[Version, ...]
    problems: tuple[str, ...]


def registered(registry: Registry) -> list[VersionState]:
    """Every registered, not withdrawn version of every name, deprecated names included."""
    return [
        v
        for name in sorted(registry.artifacts)
        for v in registry.artifacts[name].versions
        if v.registered and v.active
    ]


def read_versions(repo: Repo, states: Sequence[VersionState]) -> Loaded:
    """The `Version` of each state, in the order given (stage left None).

    What a name's pointer at a commit says never changes, so each one read is kept in
    `.git/gitmv/registry-versions.json` (`CACHE`), and git is asked only about the rest.
    """
    cache = _load_cache(repo)
    missing = [s for s in states if _key(s) not in cache]
    problems: tuple[str, ...] = ()
    if missing:
        fresh, problems = _read(repo, missing)
        if fresh:
            cache.update(fresh)
            _save_cache(repo, cache)
    versions = []
    for s in states:
        entry = cache.get(_key(s))
        if entry is not None:
            path, kind, oid, size, meta = entry
            versions.append(Version(s.name, s.version, None, s.commit, path, kind, oid, size, meta))
    return Loaded(tuple(versions), problems)


CACHE = "registry-versions.json"
_FORMAT = 1
Entry = tuple[str, str, str, int, dict[str, Any]]  # path, kind, oid, size, meta


def _key(state: VersionState) -> str:
    return f"{state.name}\t{state.commit}"


def _load_cache(repo: Repo) -> dict[str, Entry]:
    try:
        doc = json.loads((repo.gitmv_dir / CACHE).read_bytes())
        if doc.get("format") != _FORMAT:
            return {}
        entries = {k: _entry(v) for k, v in doc["versions"].items()}
        return {k: v for k, v in entries.items() if v is not None}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}  # none yet, or damaged: it is only a copy of what git holds


def _entry(value: Any) -> Entry | None:
    """A cached entry, or None for one this version of gitmv did not write."""
    if not isinstance(value, list) or len(value) != 5:
        return None
    path, kind, oid, size, meta = value
    if not (isinstance(path, str) and isinstance(kind, str) and isinstance(oid, str)):
        return None
    if not isinstance(size, int) or isinstance(size, bool) or not isinstance(meta, dict):
        return None
    return path, kind, oid, size, meta


def _save_cache(repo: Repo, cache: dict[str, Entry]) -> None:
    data = json.dumps({"format": _FORMAT, "versions": cache}, separators=(",", ":"))
    with contextlib.suppress(OSError):  # a read-only repository reads git every time
        repo.gitmv_dir.mkdir(parents=True, exist_ok=True)
        write_bytes(repo.gitmv_dir / CACHE, data.encode())


def _read(repo: Repo, states: Sequence[VersionState]) -> tuple[dict[str, Entry], tuple[str, ...]]:
    """Each state's pointer from git: the guessed paths in one batch, else its whole tree."""
    guesses = _guessed_paths(repo, {s.name for s in states})
    specs = {
        s: [f"{s.commit}:{path}{pointer.SUFFIX}" for path in guesses.get(s.name, [s.name])]
        for s in states
    }
    wanted = [x for many in specs.values() for x in many]
    blobs = git.read_paths_at(repo.root, wanted, pointer.MAX_SIZE)
    entries: dict[str, Entry] = {}
    problems: list[str] = []
    for state in states:
        found: tuple[str, Pointer] | None = None
        for spec in specs[state]:
            data = blobs.get(spec)
            if data is None:
                continue
            path = spec.split(":", 1)[1].removesuffix(pointer.SUFFIX)
            try:
                p = parse(data, spec)
            except GitmvError:
                continue  # read again below, where its error is reported
            if registry_name(path, p) == state.name:
                found = (path, p)
                break
        try:
            if found is None:  # moved, renamed or gone from HEAD: read the commit's tree
                found = artifact_at(repo, state.name, state.commit)
        except GitmvError as exc:
            problems.append(f"{state.name}@{state.version}: {exc.message}")
            continue
        path, p = found
        meta = p.meta if p.doc is None else plain(p.meta)  # no doc: read as plain data
        meta = meta if isinstance(meta, dict) else {}
        entries[_key(state)] = (path, p.kind, str(p.oid), p.size, meta)
    return entries, tuple(problems)


def parse(data: bytes, label: str) -> Pointer:
    """A pointer read fast where it is as gitmv writes it, else as `pointer.parse` reads it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return pointer.parse(data, label)  # which says what is wrong with it
    doc = metaread.load(text) if "\0" not in text else None
    if doc is None:
        return pointer.parse(data, label)
    return pointer.from_plain(doc, label)


def _guessed_paths(repo: Repo, names: Iterable[str]) -> dict[str, list[str]]:
    """name -> the paths that may hold it: the name itself, then the HEAD pointers that
    carry it as `meta.name`."""
    wanted = set(names)
    guesses: dict[str, list[str]] = {n: [n] for n in wanted}
    if git.head_commit(repo.root) is None:
        return guesses
    files = git.ls_tree_pointers(repo.root, "HEAD")
    blobs = git.read_blobs(repo.root, [sha for _, sha in files], pointer.MAX_SIZE)
    for path, sha in files:
        data = blobs.get(sha)
        artifact = pointer.artifact_path(path)
        if data is None or b"name:" not in data:
            continue
        try:
            name = registry_name(artifact, parse(data, f"HEAD:{path}"))
        except GitmvError:
            continue
        if name in wanted and artifact not in guesses[name]:
            guesses[name].append(artifact)
    return guesses
