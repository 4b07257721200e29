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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitmv.base import git
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
    """The `Version` of each state, in the order given (stage left None)."""
    guesses = _guessed_paths(repo, {s.name for s in states})
    specs = {
        s: [f"{s.commit}:{path}{pointer.SUFFIX}" for path in guesses.get(s.name, [s.name])]
        for s in states
    }
    blobs = git.read_paths_at(
        repo.root, [x for many in specs.values() for x in many], pointer.MAX_SIZE
    )
    versions: list[Version] = []
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
        meta = plain(p.meta) if isinstance(p.meta, dict) else {}
        versions.append(
            Version(
                state.name,
                state.version,
                None,
                state.commit,
                path,
                p.kind,
                str(p.oid),
                p.size,
                meta,
            )
        )
    return Loaded(tuple(versions), tuple(problems))


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
