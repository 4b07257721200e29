"""The registry show verb: one version's bytes, commit, metadata, lineage read back (the
registered versions its inputs were), its registry events, and its frozen package list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitmv.ops.get import frozen_package_list
from gitmv.registry.artifacts import Version, input_versions, resolve_version
from gitmv.registry.tags import Event, load
from gitmv.repo.context import Repo


@dataclass(frozen=True)
class Shown:
    """What `gitmv registry show` reports about a version."""

    version: Version
    stages: tuple[str, ...]  # the stages it holds now, sorted
    events: tuple[Event, ...]  # the registry events about it, oldest first
    inputs: list[dict[str, Any]]  # each input's path, oid and the versions it was
    packages: list[str] | None  # the frozen package list, when asked for and found


def show(repo: Repo, ref: str, *, packages: bool = False) -> Shown:
    """The version `ref` names, read from the tags (once) and the version's commit; the
    package list from the cache or the default remote only when `packages` asks for it."""
    loaded = load(repo)
    version = resolve_version(repo, ref, loaded)[0]
    artifact = loaded.artifact(version.name)
    stages = sorted(s for s, holder in artifact.stages.items() if holder == version.version)
    return Shown(
        version,
        tuple(stages),
        tuple(e for e in artifact.events if e.version == version.version),
        input_versions(repo, loaded, version.commit, version.meta),
        frozen_package_list(repo, version.meta) if packages else None,
    )
