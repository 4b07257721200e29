"""The work tree's pointers: which artifacts are tracked, the ones a user named, and their
pointers. (add, status and checkout live in gitmv.workspace.add, .status and .checkout.)"""

from __future__ import annotations

import os
from collections.abc import Sequence

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.repo.context import Repo
from gitmv.store import pointer
from gitmv.store.pointer import Pointer
from gitmv.workspace.status import ArtifactStatus, states

# -- which artifacts -------------------------------------------------------------------------


def tracked(repo: Repo) -> list[str]:
    """Root-relative paths of the artifacts whose pointer files are in the work tree."""
    return [
        pointer.artifact_path(p)
        for p in git.ls_pointers(repo.root)
        if os.path.isfile(repo.root / p)
    ]


def select(repo: Repo, artifacts: Sequence[str], paths: Sequence[str]) -> list[str]:
    """The artifacts the user named: an artifact, its pointer, or a folder holding some."""
    if not paths:
        return list(artifacts)
    chosen: dict[str, None] = {}
    for user_path in paths:
        rel = repo.relpath(user_path, allow_root=True).removesuffix(pointer.SUFFIX)
        hits = [a for a in artifacts if not rel or a == rel or a.startswith(rel + "/")]
        if not hits:
            raise GitmvError(
                f"{user_path}: no artifact tracked there", hint="`gitmv ls` lists them"
            )
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


def read_pointer(repo: Repo, artifact: str) -> Pointer:
    repo.abspath(artifact)  # refuses a pointer whose folders lead out of the repository
    return pointer.read(
        repo.root / (artifact + pointer.SUFFIX), repo.display(artifact + pointer.SUFFIX)
    )


def collect(repo: Repo, paths: Sequence[str] = ()) -> list[tuple[str, Pointer]]:
    return [(a, read_pointer(repo, a)) for a in select(repo, tracked(repo), paths)]


def status(repo: Repo, paths: Sequence[str] = ()) -> list[ArtifactStatus]:
    """The states of the artifacts the user named (all by default).

    Kept here for gitmv.registry.lineage.resolve_inputs alone (a KNOWN departure in
    tests/test_layers.py); everything else calls gitmv.ops.status."""
    return states(repo, collect(repo, paths))
