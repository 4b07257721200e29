"""The `meta` block `gitmv add` writes (DESIGN section 6): name, type, params, metrics,
inputs, and the code and environment an artifact was made with.

`meta` is filled only when `add` is given at least one registry option: `code` and `env`
change with every commit and every package upgrade, and a plain re-add of an unchanged
artifact must change nothing. A new version (new bytes) is described afresh (`next_meta`):
stale lineage is worse than none.
"""

from __future__ import annotations

import contextlib
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.registry.tags import Registry, check_name
from gitmv.repo.context import Repo
from gitmv.store import pointer
from gitmv.store.hashing import Oid

# Keys gitmv computes itself; `--meta` may not set them.
COMPUTED = ("inputs", "code", "env")
ORDER = ("name", "type", "params", "metrics", "inputs", "code", "env")
# Keys that describe how one version was made: a new version never inherits them silently.
# Every other key (name, type, keys the user wrote by hand) is the artifact's identity.
PER_VERSION = ("params", "metrics", "inputs", "code", "env")


@dataclass(frozen=True)
class MetaOptions:
    """What the user gave `gitmv add` for the meta block."""

    name: str | None = None
    type: str | None = None
    pairs: tuple[str, ...] = ()  # KEY=VALUE, KEY may be dotted (params.lr=0.1)
    params_file: str | None = None
    metrics_file: str | None = None
    inputs: tuple[str, ...] = ()

    def given(self) -> bool:
        return bool(
            self.name is not None
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
    pairs = parse_pairs(options.pairs)
    old = _old_meta(repo, targets) if pairs else {}
    for key, value in pairs:
        top = key.split(".")[0]
        if "." in key and top not in meta and isinstance(old.get(top), dict):
            meta[top] = plain(old[top])  # `--meta params.seed=7` adds to the params there
        _set_dotted(meta, key, value)
    if options.inputs:
        meta["inputs"] = resolve_inputs(repo, options.inputs, targets)
    meta["code"] = code_info(repo)
    meta["env"] = env_info(repo)
    return {k: meta[k] for k in [*ORDER, *sorted(set(meta) - set(ORDER))] if k in meta}


def _old_meta(repo: Repo, targets: Sequence[str]) -> dict[str, Any]:
    """The meta block the one target's pointer has now (empty for several targets)."""
    if len(targets) != 1:
        return {}
    path = repo.root / (targets[0] + pointer.SUFFIX)
    if not path.is_file():
        return {}
    found = pointer.read(path, repo.display(targets[0] + pointer.SUFFIX)).meta
    return found if isinstance(found, dict) else {}


def next_meta(
    repo: Repo, old: Any, updates: Mapping[str, Any] | None, *, new_version: bool, keep: bool
) -> Any:
    """The meta block for the pointer `add` writes, from the pointer's `old` block (a
    ruamel mapping the caller may change) and what `build` made of the options.

    Same bytes: `updates` describe that version further, over what it had. New bytes: the
    identity keys stay, `code` and `env` are derived again, and `params`, `metrics` and
    `inputs` are dropped unless given again or `keep` (`--keep-meta`) says to carry them.
    """
    if not isinstance(old, dict) or not old:
        return _ordered(None, updates) if updates else old
    if not new_version:
        return _ordered(old, updates) if updates else old
    carried = ("params", "metrics", "inputs") if keep else ()
    base = {k: v for k, v in old.items() if k not in PER_VERSION or k in carried}
    fresh = dict(updates) if updates else {"code": code_info(repo), "env": env_info(repo)}
    return _ordered(old, {**base, **fresh}, replace=True)


def _ordered(old: Any, updates: Mapping[str, Any] | None, *, replace: bool = False) -> Any:
    """`old` with `updates` set over it (only `updates`, when `replace`), keys in ORDER then
    the user's own, in the ruamel mapping so that the pointer keeps its comments."""
    from ruamel.yaml.comments import CommentedMap

    merged = old if isinstance(old, CommentedMap) else CommentedMap(old or {})
    values = dict(updates or {}) if replace else {**merged, **(updates or {})}
    for key in list(merged):
        del merged[key]
    for key in [*ORDER, *[k for k in values if k not in ORDER]]:
        if key in values:
            merged[key] = values[key]
    return merged


# -- values ----------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A `--meta` value typed as YAML reads a scalar: `1` int, `0.5` float, `true` bool."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if text == "":
        return ""
    try:
        value = YAML(typ="safe", pure=True).load(text)
    except (YAMLError, ValueError):
        return text
    if isinstance(value, bool | int | float) or value is None:
        return value
    return text  # strings, and anything that parses as a list or mapping, stay as typed


def parse_pairs(pairs: Sequence[str]) -> list[tuple[str, Any]]:
    parsed = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise GitmvError(
                f"--meta {pair!r}: expected KEY=VALUE",
                hint="e.g. --meta owner=alice --meta params.lr=0.001",
            )
        top = key.split(".")[0]
        if top in COMPUTED:
            raise GitmvError(
                f"--meta {key}: gitmv records {top!r} itself",
                hint="--input PATH records inputs; code and env are filled in by add",
            )
        if key in ("name", "type"):
            raise GitmvError(f"--meta {key}: use --{key} instead")
        parsed.append((key, parse_value(raw)))
    return parsed


def _set_dotted(meta: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = meta
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if child is not None:
                raise GitmvError(f"--meta {key}: {part!r} already holds a value, not a mapping")
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


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
    values: dict[str, Any] = plain(data)
    return values


def plain(value: Any) -> Any:
    """Plain dicts, lists and JSON scalars: no YAML comments, tags, dates or scalar
    subclasses, whether it goes into a pointer or out as JSON."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{a: {b: 1}}` -> `{"a.b": 1}`: nested keys, flattened for display and diffs only."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


# -- lineage ---------------------------------------------------------------------------------


def resolve_inputs(
    repo: Repo, paths: Sequence[str], targets: Sequence[str]
) -> list[dict[str, str]]:
    """Each input as `{path, oid}`: it must be a tracked artifact whose work tree matches its
    pointer, or the recorded oid would not be what the model was made from."""
    from gitmv.repo.pointers import read_pointer, tracked
    from gitmv.workspace.tree import status

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
        state = status(repo, [user_path])[0].state
        if state == "modified":
            raise GitmvError(
                f"--input {user_path}: modified since it was added, so its pointer does not "
                "describe it",
                hint=f"record this version first: gitmv add {user_path}",
            )
        found[rel] = {"path": rel, "oid": str(read_pointer(repo, rel).oid)}
    return list(found.values())


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


def extra_objects(meta: Any) -> list[Oid]:
    """Objects a meta block names besides inputs (the package list): push and gc keep them."""
    env = meta.get("env") if isinstance(meta, dict) else None
    if isinstance(env, dict) and isinstance(env.get("packages"), str):
        try:
            return [Oid.parse(env["packages"])]
        except GitmvError:
            return []
    return []


# -- reading lineage back --------------------------------------------------------------------


def input_versions(
    repo: Repo, registry: Registry, commit: str, meta: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Each input of a version with the registered versions (of the input's own registry
    name) whose bytes it is: two batch reads, however many versions there are."""
    from gitmv.registry.tags import registry_name

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
            from gitmv.api import read_object

            data = read_object(repo, oid)
        else:
            return None
    except GitmvError:
        return None
    return data.decode("utf-8", errors="replace").splitlines()
