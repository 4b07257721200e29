"""The used-by verb, reverse lineage: every registered version made from some data, directly
(its `meta.inputs` names it) or through versions that were made from it and then used as
inputs themselves, each with the stages it holds now. The impact of a data bug.

The data is named by PATH (every version of it: any input at that path), by OID (those
bytes only), or by NAME@vX.Y.Z (that registered version's bytes). One step further goes by
oid: a version V reaches the versions whose inputs hold V's exact bytes. Reads the tags
once and every version's pointer in one batch (`gitmv.registry.bulk`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gitmv.base.errors import GitmvError
from gitmv.registry import bulk
from gitmv.registry.artifacts import Version
from gitmv.registry.tags import load
from gitmv.repo.context import Repo
from gitmv.store import pointer

_OID = re.compile(r"^[a-z0-9]+:[0-9a-f]{16,}$")


@dataclass(frozen=True)
class User:
    """A version made from the data: how far from it, and through which version."""

    version: Version
    stages: tuple[str, ...]  # held now
    depth: int  # 1: made from the data itself; 2: from a version made from it; ...
    via: str  # the input it was made from: the data asked about, or a version's NAME@vX.Y.Z
    input_path: str  # that input's path, as its meta.inputs records it


@dataclass(frozen=True)
class UsedBy:
    target: str  # what was asked about, as given
    kind: str  # path | oid | version
    users: tuple[User, ...]  # by depth, then name and version
    problems: tuple[str, ...]  # versions whose pointer could not be read


def used_by(repo: Repo, target: str) -> UsedBy:
    """Every registered version whose lineage reaches `target` (PATH, OID or NAME@vX.Y.Z)."""
    if not target.strip():
        raise GitmvError("used-by needs a PATH, an OID or NAME@vX.Y.Z")
    registry = load(repo)
    states = bulk.registered(registry)
    loaded = bulk.read_versions(repo, states)
    stages = {(s.name, s.version): s.stages for s in states}
    versions = loaded.versions
    kind, path, oid = _target(repo, target, versions)
    users: list[User] = []
    seen: set[tuple[str, str]] = set()
    # (path or None, oid or None, what it is called) of the things reached so far
    frontier: list[tuple[str | None, str | None, str]] = [(path, oid, target)]
    depth = 0
    while frontier:
        depth += 1
        reached: list[tuple[str | None, str | None, str]] = []
        for v in versions:
            if (v.name, v.version) in seen:
                continue
            hit = _made_from(v.meta, frontier)
            if hit is None:
                continue
            via, input_path = hit
            seen.add((v.name, v.version))
            users.append(User(v, stages.get((v.name, v.version), ()), depth, via, input_path))
            reached.append((None, v.oid, v.ref))
        frontier = reached
    users.sort(key=lambda u: (u.depth, u.version.name, u.version.version))
    return UsedBy(target, kind, tuple(users), loaded.problems)


def _made_from(
    meta: Mapping[str, object], frontier: list[tuple[str | None, str | None, str]]
) -> tuple[str, str] | None:
    items = meta.get("inputs")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        for path, oid, label in frontier:
            if (path is None or item.get("path") == path) and (
                oid is None or item.get("oid") == oid
            ):
                return label, str(item.get("path"))
    return None


def _target(
    repo: Repo, target: str, versions: tuple[Version, ...]
) -> tuple[str, str | None, str | None]:
    """(kind, path, oid): what an input must hold to be the target."""
    if _OID.match(target):
        return "oid", None, target
    if "@" in target:
        name, _, label = target.partition("@")
        found = next((v for v in versions if v.name == name and v.version == label), None)
        if found is None:
            raise GitmvError(
                f"no registered version {target}",
                hint="name data by PATH or OID, or a version as NAME@vX.Y.Z "
                "(`gitmv registry list` shows them)",
            )
        return "version", None, found.oid
    try:
        rel = repo.relpath(target, allow_root=False)
    except GitmvError:
        rel = target  # a path that no longer exists may still be named in the history
    return "path", rel.removesuffix(pointer.SUFFIX), None
