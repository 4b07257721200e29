"""The artifact behind a registered version: its pointer in the version's commit, the
`Version` it resolves to, and the registered versions its inputs were (lineage read back).

Everything here reads git at a commit (trees and blobs in batches); nothing reads the work
tree or a remote.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitmv.base import git
from gitmv.base.errors import GitmvError, PointerError
from gitmv.registry.meta import plain
from gitmv.registry.tags import Registry, load, resolve
from gitmv.repo.context import Repo
from gitmv.repo.pointers import files_at
from gitmv.store import pointer
from gitmv.store.pointer import Pointer


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


def resolve_version(
    repo: Repo, ref: str, loaded: Registry | None = None
) -> tuple[Version, Pointer]:
    """The version `ref` names now and its pointer: tags read once (or `loaded`, a registry
    already read), the pointer read from the version's commit."""
    found = resolve(loaded or load(repo), ref)
    path, p = artifact_at(repo, found.name, found.commit)
    meta = plain(p.meta) if isinstance(p.meta, dict) else {}
    version = Version(
        found.name, found.version, found.stage, found.commit, path, p.kind, str(p.oid), p.size, meta
    )
    return version, p


def registry_name(artifact_path: str, p: Pointer) -> str:
    """A pointer's registry name: its `meta.name`, or else the artifact's path."""
    name = p.meta.get("name") if isinstance(p.meta, dict) else None
    return str(name) if name else artifact_path


def artifact_at(repo: Repo, name: str, commit: str) -> tuple[str, Pointer]:
    """The (path, pointer) whose registry name is `name` in `commit`'s tree (one batch read)."""
    matches: list[tuple[str, Pointer]] = []
    problems: list[PointerError] = []
    for f in files_at(repo, commit, label=commit[:12]):
        artifact = f.artifact
        if artifact != name and f.data is not None and name.encode() not in f.data:
            continue  # cannot carry this name: spare the YAML parse (50 pointers cost 0.1 s)
        try:
            parsed = f.parse()
        except PointerError as exc:
            problems.append(exc)  # a broken unrelated pointer must not hide this one
            continue
        if registry_name(artifact, parsed) == name:
            matches.append((artifact, parsed))
    if len(matches) > 1:
        paths = ", ".join(path for path, _ in matches)
        raise GitmvError(
            f"{len(matches)} artifacts are named {name!r} at commit {commit[:12]}: {paths}",
            hint="give each a distinct name with `gitmv add PATH --name NAME`",
        )
    if not matches:
        if problems:
            raise problems[0]
        raise GitmvError(
            f"no artifact named {name!r} at commit {commit[:12]}",
            hint="a name is a pointer's meta.name, or its artifact path; "
            "`gitmv ls --rev COMMIT` lists what the commit holds",
        )
    return matches[0]


def input_versions(
    repo: Repo, registry: Registry, commit: str, meta: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Each input of a version with the registered versions (of the input's own registry
    name) whose bytes it is: two batch reads, however many versions there are."""
    raw = meta.get("inputs")
    items = [i for i in raw if isinstance(i, Mapping)] if isinstance(raw, list) else []
    if not items:
        return []
    paths = [str(i.get("path")) for i in items]
    own = git.read_paths_at(
        repo.root, [f"{commit}:{p}{pointer.SUFFIX}" for p in paths], pointer.MAX_SIZE
    )
    candidates: dict[str, tuple[int, str]] = {}  # `commit:path.gmv` -> (input, NAME@vX.Y.Z)
    for index, path in enumerate(paths):
        name = path
        data = own.get(f"{commit}:{path}{pointer.SUFFIX}")
        if data is not None:
            with contextlib.suppress(GitmvError):
                name = registry_name(path, pointer.parse(data, path))
        artifact = registry.artifacts.get(name)
        for v in artifact.versions if artifact else ():
            if v.registered and v.active:
                candidates[f"{v.commit}:{path}{pointer.SUFFIX}"] = (index, f"{name}@{v.version}")
    blobs = git.read_paths_at(repo.root, list(candidates), pointer.MAX_SIZE)
    found: list[list[str]] = [[] for _ in items]
    for spec, (index, label) in candidates.items():
        data = blobs.get(spec)
        with contextlib.suppress(GitmvError):
            if data is not None and str(pointer.parse(data, spec).oid) == items[index].get("oid"):
                found[index].append(label)
    return [
        {"path": path, "oid": str(items[n].get("oid")), "versions": found[n]}
        for n, path in enumerate(paths)
    ]
