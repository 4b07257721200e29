"""registry.meta: how the next version's meta block follows from the old one, without
reading anything (what to derive is the caller's, and asked for only when needed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruamel.yaml.comments import CommentedMap

from gitmv.registry.meta import next_meta

OLD = {
    "owner": "ann",
    "name": "churn",
    "params": {"lr": 0.1},
    "metrics": {"acc": 0.9},
    "inputs": [{"path": "data.csv", "oid": "xxh128:00"}],
    "code": {"commit": "a" * 40, "dirty": False},
    "env": {"python": "3.11.0", "packages": "xxh128:11"},
}
FRESH = {"code": {"commit": "b" * 40, "dirty": True}, "env": {"python": "3.12.1"}}


class Derive:
    """Counts the calls: deriving `code` and `env` reads git and writes the cache."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        return FRESH


def test_same_bytes_derive_nothing_and_keep_the_block() -> None:
    derive = Derive()
    old = CommentedMap(OLD)
    assert next_meta(old, None, new_version=False, keep=False, derive=derive) is old
    updated = next_meta(old, {"type": "model"}, new_version=False, keep=False, derive=derive)
    assert list(updated) == ["name", "type", "params", "metrics", "inputs", "code", "env", "owner"]
    assert updated["params"] == {"lr": 0.1}
    assert next_meta(None, None, new_version=True, keep=False, derive=derive) is None
    assert derive.calls == 0


def test_new_bytes_keep_identity_drop_lineage_and_derive_once() -> None:
    derive = Derive()
    block = next_meta(CommentedMap(OLD), None, new_version=True, keep=False, derive=derive)
    assert dict(block) == {"name": "churn", **FRESH, "owner": "ann"}
    assert derive.calls == 1
    kept = next_meta(CommentedMap(OLD), None, new_version=True, keep=True, derive=derive)
    assert kept["params"] == {"lr": 0.1} and kept["inputs"] == OLD["inputs"]
    assert kept["code"] == FRESH["code"]


def test_new_bytes_described_by_the_options_take_their_code_and_env() -> None:
    derive = Derive()
    given = {"metrics": {"acc": 0.95}, **FRESH}
    block = next_meta(CommentedMap(OLD), given, new_version=True, keep=False, derive=derive)
    assert block["metrics"] == {"acc": 0.95} and "params" not in block
    assert derive.calls == 0  # `build` derived them already, once
