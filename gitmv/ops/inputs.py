"""What `gitmv add` fills the `meta` block from (DESIGN section 6): the options, params and
metrics files, the inputs' pointers, and the code and environment an artifact was made with.

`meta` is filled only when `add` is given at least one registry option: `code` and `env`
change with every commit and every package upgrade, and a plain re-add of an unchanged
artifact must change nothing. A new version (new bytes) is described afresh (`next_meta`):
stale lineage is worse than none. The block itself (its order, how it follows from the old
one) is `gitmv.registry.meta`; this module reads the work tree, git and the cache for it.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.registry import meta as metablock
from gitmv.registry.grammar import check_label, check_name
from gitmv.repo.context import Repo
from gitmv.repo.pointers import collect, read_pointer, tracked
from gitmv.store import pointer
from gitmv.store.hashing import Oid
from gitmv.workspace.status import states


@dataclass(frozen=True)
class MetaOptions:
    """What the user gave `gitmv add` for the meta block."""

    name: str | None = None
    type: str | None = None
    pairs: tuple[str, ...] = ()  # KEY=VALUE, KEY may be dotted (params.lr=0.1)
    params_file: str | None = None
    metrics_file: str | None = None
    inputs: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # --label: meta.labels of the version being added

    def given(self) -> bool:
        return bool(
            self.labels
            or self.name is not None
            or self.type is not None
            or self.pairs
            or self.params_file
            or self.metrics_file
            or self.inputs
        )


def build(repo: Repo, options: MetaOptions, targets: Sequence[str]) -> dict[str, Any] | None:
    """The meta mapping to merge into each target's pointer, or None when none was asked for.

    Everything is read and checked before `add` writes a byte.
    """
    if not options.given():
        return None
    if options.name is not None and len(targets) != 1:
        raise GitmvError(
            "--name names one artifact, but several paths were given",
            hint="add each artifact with its own --name",
        )
    meta: dict[str, Any] = {}
    if options.name is not None:
        meta["name"] = check_name(options.name)
    if options.type is not None:
        meta["type"] = options.type
    if options.params_file:
        meta["params"] = load_values(repo, options.params_file, "--params")
    if options.metrics_file:
        meta["metrics"] = load_values(repo, options.metrics_file, "--metrics")
    pairs = metablock.parse_pairs(options.pairs)
    old = _old_meta(repo, targets) if pairs else {}
    for key, value in pairs:
        top = key.split(".")[0]
        if "." in key and top not in meta:
            if top in metablock.PER_VERSION:
                # `--meta params.seed=7` adds to the params of the version it describes: the
                # old ones when the bytes are the same, none when they are new (next_meta)
                meta[top] = metablock.AddTo()
            elif isinstance(old.get(top), dict):
                meta[top] = metablock.plain(old[top])  # an identity mapping: added to
        metablock.set_dotted(meta, key, value)
    if options.labels:
        meta["labels"] = sorted({check_label(label) for label in options.labels})
    if options.inputs:
        meta["inputs"] = resolve_inputs(repo, options.inputs, targets)
    meta.update(derived(repo))
    return metablock.sort_keys(meta)


def next_meta(
    repo: Repo, old: Any, updates: Mapping[str, Any] | None, *, new_version: bool, keep: bool
) -> Any:
    """The meta block for the pointer `add` writes (`gitmv.registry.meta.next_meta`), with
    `code` and `env` read from this repository when a new version needs them afresh."""
    return metablock.next_meta(
        old, updates, new_version=new_version, keep=keep, derive=lambda: derived(repo)
    )


def _old_meta(repo: Repo, targets: Sequence[str]) -> dict[str, Any]:
    """The meta block the one target's pointer has now (empty for several targets)."""
    if len(targets) != 1:
        return {}
    path = repo.root / (targets[0] + pointer.SUFFIX)
    if not path.is_file():
        return {}
    found = pointer.read(path, repo.display(targets[0] + pointer.SUFFIX)).meta
    return found if isinstance(found, dict) else {}


def load_values(repo: Repo, user_path: str, option: str) -> dict[str, Any]:
    """A params or metrics file (YAML or JSON) as plain data: a mapping, possibly nested."""
    path = Path(repo.cwd) / user_path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GitmvError(f"{option} {user_path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GitmvError(f"{option} {user_path}: cannot read it ({exc})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise GitmvError(f"{option} {user_path}: not valid JSON ({exc})") from None
    else:
        from gitmv.base import yamlio

        data = yamlio.loads(text, f"{option} {user_path}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GitmvError(
            f"{option} {user_path}: expected a mapping of names to values",
            hint="e.g. {lr: 0.001, epochs: 20}",
        )
    values: dict[str, Any] = metablock.plain(data)
    return values


def resolve_inputs(
    repo: Repo, paths: Sequence[str], targets: Sequence[str]
) -> list[dict[str, str]]:
    """Each input as `{path, oid}`: it must be a tracked artifact whose work tree matches its
    pointer, or the recorded oid would not be what the model was made from."""
    artifacts = set(tracked(repo))
    found: dict[str, dict[str, str]] = {}
    for user_path in paths:
        rel = repo.relpath(user_path).removesuffix(pointer.SUFFIX)
        if rel not in artifacts:
            raise GitmvError(
                f"--input {user_path}: not a tracked artifact",
                hint=f"track it first: gitmv add {user_path}",
            )
        if any(rel == t or rel.startswith(t + "/") or t.startswith(rel + "/") for t in targets):
            raise GitmvError(f"--input {user_path}: an artifact cannot be its own input")
        state = states(repo, collect(repo, [user_path]))[0].state
        if state == "modified":
            raise GitmvError(
                f"--input {user_path}: modified since it was added, so its pointer does not "
                "describe it",
                hint=f"record this version first: gitmv add {user_path}",
            )
        found[rel] = {"path": rel, "oid": str(read_pointer(repo, rel).oid)}
    return list(found.values())


def derived(repo: Repo) -> dict[str, Any]:
    """The keys gitmv derives for every described version: `code` and `env`."""
    return {"code": code_info(repo), "env": env_info(repo)}


# Files gitmv itself writes on `add`: changing them does not make the code dirty.
def _is_bookkeeping(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.endswith(pointer.SUFFIX) or name == ".gitignore" or path.startswith(".gitmv/")


def code_info(repo: Repo) -> dict[str, Any]:
    """HEAD (None before the first commit), and whether tracked code differs from it.

    Untracked files do not count (they are not code HEAD names), nor do the pointers,
    `.gitignore` files and config that `add` itself writes and stages."""
    dirty = any(not _is_bookkeeping(p) for p in git.changed_paths(repo.root))
    return {"commit": git.head_commit(repo.root), "dirty": dirty}


def frozen_packages() -> bytes:
    """`name==version` of every installed distribution, sorted: what `pip freeze` lists,
    read from package metadata (running pip would cost a second)."""
    from importlib import metadata

    lines = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            lines.add(f"{name}=={dist.version}")
    return "".join(f"{line}\n" for line in sorted(lines, key=str.lower)).encode("utf-8")


def env_info(repo: Repo) -> dict[str, Any]:
    """The Python version, and the oid of the frozen package list, kept as a cache object."""
    packages: Oid = repo.cache.add_small(frozen_packages(), repo.algorithm)
    return {"python": platform.python_version(), "packages": str(packages)}
