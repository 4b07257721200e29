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
    # every (version, input path) by the path and by the oid of the input: one pass
    by_path: dict[str, list[tuple[Version, str]]] = {}
    by_oid: dict[str, list[tuple[Version, str]]] = {}
    for v in versions:
        items = v.meta.get("inputs")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Mapping):
                made = (v, str(item.get("path")))
                by_path.setdefault(str(item.get("path")), []).append(made)
                by_oid.setdefault(str(item.get("oid")), []).append(made)
    first = by_path.get(path, []) if path is not None else by_oid.get(str(oid), [])
    users: list[User] = []
    seen: set[tuple[str, str]] = set()
    layer = [(v, input_path, target) for v, input_path in first]
    depth = 0
    while layer:
        depth += 1
        reached: list[tuple[Version, str, str]] = []
        for v, input_path, via in layer:
            if (v.name, v.version) in seen:
                continue
            seen.add((v.name, v.version))
            users.append(User(v, stages.get((v.name, v.version), ()), depth, via, input_path))
            # one level further: the versions whose inputs hold these exact bytes
            reached += [(w, p, v.ref) for w, p in by_oid.get(v.oid, [])]
        layer = reached
    users.sort(key=lambda u: (u.depth, u.version.name, u.version.version))
    return UsedBy(target, kind, tuple(users), loaded.problems)


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
