"""The `meta` block of a pointer (DESIGN section 6), as data: its key order, how a new
version's block follows from the old one, `--meta` values and dotted keys, plain values.

Pure: nothing here reads the work tree, git or the cache. What the block is filled from
(files, inputs, the code commit, the environment) is resolved in `gitmv.ops.inputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from gitmv.base.errors import GitmvError

# Keys gitmv computes itself; `--meta` may not set them.
COMPUTED = ("inputs", "code", "env")
ORDER = ("name", "type", "params", "metrics", "labels", "inputs", "code", "env")
# Keys that describe how one version was made: a new version never inherits them silently.
# Every other key (name, type, keys the user wrote by hand) is the artifact's identity.
PER_VERSION = ("params", "metrics", "labels", "inputs", "code", "env")


def next_meta(
    old: Any,
    updates: Mapping[str, Any] | None,
    *,
    new_version: bool,
    keep: bool,
    derive: Callable[[], Mapping[str, Any]],
) -> Any:
    """The meta block for the pointer `add` writes, from the pointer's `old` block (a
    ruamel mapping the caller may change) and the `updates` the options asked for.

    Same bytes: `updates` describe that version further, over what it had. New bytes: the
    identity keys stay, `code` and `env` are derived again (`derive()`, called only then),
    and `params`, `metrics` and `inputs` are dropped unless given again or `keep`
    (`--keep-meta`) says to carry them.
    """
    if not isinstance(old, dict) or not old:
        return ordered(None, settle(updates, {})) if updates else old
    if not new_version:
        return ordered(old, settle(updates, old)) if updates else old
    carried = ("params", "metrics", "inputs") if keep else ()
    base = {k: v for k, v in old.items() if k not in PER_VERSION or k in carried}
    fresh = settle(updates, base) if updates else dict(derive())
    return ordered(old, {**base, **fresh}, replace=True)


class AddTo(dict[str, Any]):
    """A mapping given key by key (`--meta params.seed=7`): it adds to the block the version
    it describes already has, where a whole mapping (`--params FILE`) replaces it. Which block
    that is depends on the bytes, known only after hashing: a new version starts afresh."""


def settle(updates: Mapping[str, Any], under: Mapping[str, Any]) -> dict[str, Any]:
    """`updates` with each `AddTo` merged over the mapping `under` has for its key."""
    out: dict[str, Any] = {}
    for key, value in updates.items():
        if isinstance(value, AddTo):
            below = under.get(key)
            value = _merged(plain(below) if isinstance(below, dict) else {}, value)
        out[key] = value
    return out


def _merged(below: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` set key by key into `below`, into nested mappings too (`params.opt.lr`)."""
    out = dict(below)
    for key, value in over.items():
        inner = out.get(key)
        out[key] = (
            _merged(inner, value) if isinstance(inner, dict) and isinstance(value, dict) else value
        )
    return out


def ordered(old: Any, updates: Mapping[str, Any] | None, *, replace: bool = False) -> Any:
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


def sort_keys(meta: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh block's keys in ORDER, then the user's own sorted."""
    return {k: meta[k] for k in [*ORDER, *sorted(set(meta) - set(ORDER))] if k in meta}


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


def set_dotted(meta: dict[str, Any], key: str, value: Any) -> None:
    """`params.lr` = 0.1 sets `meta["params"]["lr"]`, making the mappings on the way."""
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
