"""Round-trip YAML (ruamel.yaml) shared by pointers and config: comments and extra keys survive."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from gitmv.base.errors import GitmvError


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def loads(text: str, name: str) -> Any:
    """Parse one YAML document; any failure becomes a GitmvError naming `name`."""
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        raise GitmvError(f"{name}: not valid YAML ({_problem(exc)})") from None
    except (ValueError, RecursionError, TypeError) as exc:
        raise GitmvError(f"{name}: not valid YAML ({exc})") from None
    if _has_shared_nodes(data, set(), 0):
        raise GitmvError(f"{name}: YAML anchors and aliases are not allowed")
    return data


def _problem(exc: Exception) -> str:
    """The line of ruamel's message that says what is wrong, e.g. the duplicate key."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith("found duplicate key"):
            return line.split(" with value")[0]
    return lines[0] if lines else type(exc).__name__


def dumps(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _has_shared_nodes(node: Any, seen: set[int], depth: int) -> bool:
    """True where one container is reachable twice (an alias) or nesting is absurdly deep."""
    if not isinstance(node, (dict, list)):
        return False
    if id(node) in seen or depth > 64:
        return True
    seen.add(id(node))
    children = node.values() if isinstance(node, dict) else node
    return any(_has_shared_nodes(child, seen, depth + 1) for child in children)
