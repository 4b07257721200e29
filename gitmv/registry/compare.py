"""Compare two model versions: params and metrics key by key (numbers with deltas), inputs,
size and oid. Nested keys are compared flattened (`optimizer.lr`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitmv.registry.artifacts import Version
from gitmv.registry.meta import flatten


def compare(a: Version, b: Version) -> dict[str, Any]:
    """What changed from `a` to `b`, as JSON-ready data (unchanged keys left out)."""
    return {
        "old": _brief(a),
        "new": _brief(b),
        "same_bytes": a.oid == b.oid,
        "size_delta": b.size - a.size,
        "params": diff_values(_section(a, "params"), _section(b, "params")),
        "metrics": diff_values(_section(a, "metrics"), _section(b, "metrics")),
        "inputs": diff_inputs(a.meta.get("inputs"), b.meta.get("inputs")),
    }


def _brief(v: Version) -> dict[str, Any]:
    return {"ref": v.ref, "commit": v.commit, "oid": v.oid, "size": v.size, "path": v.path}


def _section(v: Version, key: str) -> dict[str, Any]:
    values = v.meta.get(key)
    return flatten(values) if isinstance(values, Mapping) else {}


def diff_values(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if key in old and key in new and a == b and type(a) is type(b):
            continue
        change = "added" if key not in old else "removed" if key not in new else "modified"
        row: dict[str, Any] = {"key": key, "change": change, "old": a, "new": b, "delta": None}
        row["delta"] = _delta(a, b)
        rows.append(row)
    return rows


def diff_inputs(old: Any, new: Any) -> list[dict[str, Any]]:
    a, b = _inputs(old), _inputs(new)
    rows = []
    for path in sorted(a.keys() | b.keys()):
        if a.get(path) == b.get(path):
            continue
        change = "added" if path not in a else "removed" if path not in b else "modified"
        rows.append({"path": path, "change": change, "old": a.get(path), "new": b.get(path)})
    return rows


def _inputs(value: Any) -> dict[str, str]:
    items = value if isinstance(value, list) else []
    return {
        str(i.get("path")): str(i.get("oid"))
        for i in items
        if isinstance(i, Mapping) and "path" in i
    }


def _delta(a: Any, b: Any) -> float | int | None:
    """`b - a` for two numbers (booleans are not numbers here), else None."""
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int) and isinstance(b, int):
        return b - a
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(b - a, 12)  # 0.93 - 0.912 reads 0.018, not 0.018000000000000016
    return None
