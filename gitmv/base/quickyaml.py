"""A reader for the plain YAML that gitmv itself writes: block mappings of plain scalars.

`gitmv status` reads the config and every pointer before it can say "clean", and ruamel's
import and round-trip parser cost about 20 ms of its 150 ms budget. This reads the common
case, `key: value` lines nested by indentation with comments, and answers None for
anything else (quotes, lists, flow style, anchors, tabs, duplicate keys, numbers other than
plain whole ones, YAML 1.1 words like `yes`), so that ruamel reads those. Where it answers,
it gives what ruamel gives, as plain dicts: `tests/test_quickyaml.py` checks that.
"""

from __future__ import annotations

import re
from typing import Any

_LINE = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_.-]*):(?: +(.*?))? *")
_INT = re.compile(r"0|[1-9][0-9]{0,17}")
# A plain scalar that YAML reads as a string and nothing else: no indicator first, no
# ": " or " #" inside, and not a word or number with a meaning of its own.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@+=-]*")
_SPECIAL_WORDS = frozenset(
    ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
)  # any case: ruamel (YAML 1.2) and YAML 1.1 readers disagree on some of these


def load(text: str) -> dict[str, Any] | None:
    """The document as nested dicts, or None if it is outside the subset read here."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    opened: tuple[int, dict[str, Any]] | None = None  # a key with no value on its line
    for raw in text.split("\n"):
        line = _strip_comment(raw)
        if line is None:
            return None
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            return None
        indent, key, value = len(match.group(1)), match.group(2), match.group(3)
        if opened is not None:
            parent_indent, pending = opened
            opened = None
            if indent > parent_indent:
                stack.append((indent, pending))
        while indent < stack[-1][0]:
            stack.pop()
        level, node = stack[-1]
        if indent != level and not (node is root and indent == 0):
            return None  # indentation that matches no open mapping
        if key in node or key.lower() in _SPECIAL_WORDS:
            return None  # a duplicate (ruamel names it in its error), or `true:` as a key
        if value is None or value == "":
            child: dict[str, Any] = {}
            node[key] = child
            opened = (indent, child)
            continue
        scalar = _scalar(value)
        if scalar is _UNSUPPORTED:
            return None
        node[key] = scalar
    _empty_to_none(root)
    return root if root else None


_UNSUPPORTED = object()


def _strip_comment(raw: str) -> str | None:
    """The line without its comment; None if the line holds anything this reader avoids."""
    if "\t" in raw or "\r" in raw:
        return None
    stripped = raw.lstrip(" ")
    if stripped.startswith("#"):
        return ""
    if stripped.startswith(("---", "...", "%")):
        return None
    cut = raw.find(" #")
    return raw if cut < 0 else raw[:cut]


def _scalar(value: str) -> Any:
    if _INT.fullmatch(value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if value in ("null", "~"):
        return None
    if value.lower() in _SPECIAL_WORDS or not _PLAIN.fullmatch(value) or value.endswith(":"):
        return _UNSUPPORTED
    return value


def _empty_to_none(node: dict[str, Any]) -> None:
    """`key:` with nothing below it is null in YAML, not an empty mapping."""
    for key, value in node.items():
        if isinstance(value, dict):
            if value:
                _empty_to_none(value)
            else:
                node[key] = None
