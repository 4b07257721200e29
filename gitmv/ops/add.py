"""The add verb: resolve the meta options, store the bytes, write and stage the pointers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitmv.base.progress import Progress
from gitmv.ops import inputs as lineage
from gitmv.repo.context import Repo
from gitmv.store import pointer
from gitmv.store.pointer import Pointer
from gitmv.workspace import add as workspace_add
from gitmv.workspace.add import AddResult

__all__ = ["AddReport", "AddResult", "add"]


@dataclass(frozen=True)
class AddReport:
    """What `add` did, one `AddResult` per artifact in the order given: its root-relative
    `path`, the `pointer` now written, and whether anything `changed` (bytes or meta)."""

    artifacts: tuple[AddResult, ...]
    previous: tuple[Pointer | None, ...] = ()  # each one's pointer before (None: new)


def add(
    repo: Repo,
    paths: Sequence[str],
    options: lineage.MetaOptions | None = None,
    keep_meta: bool = False,
    meta: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> AddReport:
    """Cache each artifact, write its pointer, list it in .gitignore, and stage both.

    `options` (what `gitmv add --name/--type/--meta/...` gave) become the meta block; a
    ready `meta` mapping is used when no option is given. A new version's block is made
    afresh (lineage.next_meta); `keep_meta` carries the old params, metrics and inputs over.
    Every input and path is checked before anything is written, so bad input changes nothing.
    `progress` counts the files and bytes hashed into the cache.
    """
    if options is not None and options.given():
        targets = [repo.relpath(p).removesuffix(pointer.SUFFIX) for p in paths]
        meta = lineage.build(repo, options, targets)
    chosen = workspace_add.check(repo, paths)
    # gc takes the same lock: it must never see an object stored but not yet pointed to
    with repo.lock():
        stored = workspace_add.store(repo, chosen, progress)
        blocks = [
            lineage.next_meta(
                repo, item.old_meta, meta, new_version=item.new_version, keep=keep_meta
            )
            for item in stored
        ]
        results = workspace_add.record(repo, stored, blocks)
    return AddReport(tuple(results), tuple(item.old for item in stored))
