"""A reader for the plain YAML that gitmv itself writes: block mappings and sequences of plain
scalars.

Every command reads the config and `gitmv status` every pointer before it can say "clean";
ruamel's import and round-trip parser cost about 13 ms of each of them, and of every hook.
This reads the common case, and answers None for anything else, so that ruamel reads it:

- `key: value` lines nested by indentation, `# comments`, `key:` with nothing below (null);
- block sequences (`- item`, `- key: value` starting a mapping), as a pointer's `meta:`
  writes its `inputs`;
- scalars: plain strings (words joined by spaces; relative paths `./x`, `../x`, `~/x`; a
  version like `3.11.7`; a commit's hex name), whole numbers, decimals that read back as
  written (`0.001`, not `1e-3` or `0.10`), `true`, `false`, `null`, `~`.

Refused: quotes, flow style (`[...]`, `{...}`), anchors, tags, block scalars, tabs,
duplicate keys, any other number or YAML 1.1 word like `yes`, indentation that matches no
open block. Where it answers, it gives what ruamel gives, as plain dicts and lists:
`tests/test_quickyaml.py` checks that against ruamel itself.
"""

from __future__ import annotations

import re

# Not `from typing import Any`: this runs on every start (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: +(.*))?")
_INT = re.compile(r"0|-?[1-9][0-9]{0,17}")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,15})\.[0-9]{1,16}")
# A plain scalar that YAML reads as a string and nothing else: no indicator first, no
# ": " or " #" inside, and not a word or number with a meaning of its own. Words may be
# joined by spaces; the first starts with a letter, `_`, `/`, or `./`, `../`, `~/`.
_WORD = r"[A-Za-z0-9_./:@+=-]+"
_PLAIN = re.compile(rf"(?:[A-Za-z_/]|\.\.?/|~/)[A-Za-z0-9_./:@+=-]*(?: +{_WORD})*")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+){2,}")  # two dots: no YAML number
# a commit's name: a letter other than e, and not 0b (binary), is no YAML number
_HEX = re.compile(r"(?!0b)[0-9][0-9a-f]*[a-df][0-9a-f]*")
_SPECIAL_WORDS = frozenset(
    ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
)  # any case: ruamel (YAML 1.2) and YAML 1.1 readers disagree on some of these
_UNSUPPORTED = object()


class _Refused(Exception):
    """The text is outside the subset read here."""


def load(text: str) -> dict[str, Any] | None:
    """The document as nested dicts and lists, or None if it is outside the subset read here."""
    lines: list[tuple[int, str]] = []  # (indent, content without its comment)
    for raw in text.split("\n"):
        line = _strip_comment(raw)
        if line is None:
            return None
        content = line.strip(" ")
        if content:
            lines.append((len(line) - len(line.lstrip(" ")), content))
    if not lines or lines[0][0] != 0:
        return None
    try:
        root, end = _mapping(lines, 0, 0)
    except _Refused:
        return None
    return root if end == len(lines) else None


def _mapping(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    """The mapping whose keys sit at `indent`, from line i; and the line after it."""
    node: dict[str, Any] = {}
    while i < len(lines):
        at, content = lines[i]
        if at < indent:
            break
        if at > indent or content.startswith("-"):
            # deeper with no `key:` above it (a multi-line scalar), or a dash among keys
            raise _Refused
        match = _KEY.fullmatch(content)
        if match is None:
            raise _Refused
        key, value = match.group(1), match.group(2)
        if key in node or key.lower() in _SPECIAL_WORDS:
            raise _Refused  # a duplicate (ruamel names it in its error), or `true:` as a key
        i += 1
        if value:
            node[key] = _scalar(value)
        else:
            node[key], i = _child(lines, i, indent)
    return node, i


def _child(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    """What a `key:` at `indent` holds: the block below, a sequence at its column, or null."""
    if i == len(lines):
        return None, i
    at, content = lines[i]
    is_entry = content.startswith("- ") or content == "-"
    if at > indent:
        return _sequence(lines, i, at) if is_entry else _mapping(lines, i, at)
    if at == indent and is_entry:  # `key:` then `- item` at the key's column: YAML allows it
        return _sequence(lines, i, at)
    return None, i


def _sequence(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[list[Any], int]:
    """The block sequence whose dashes sit at `indent`, from line i; and the line after it."""
    items: list[Any] = []
    while i < len(lines):
        at, content = lines[i]
        if at != indent or not content.startswith("- "):
            if at > indent or (at == indent and content == "-"):
                raise _Refused  # a bare dash (a nested block), or a stray deeper line
            break
        rest = content[2:]
        inner = indent + 2 + len(rest) - len(rest.lstrip(" "))
        rest = rest.lstrip(" ")
        if _KEY.fullmatch(rest) is not None:
            # `- key: value` opens a mapping whose keys sit at the first key's column
            lines[i] = (inner, rest)
            item, i = _mapping(lines, i, inner)
            items.append(item)
            continue
        items.append(_scalar(rest))
        i += 1
    return items, i


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
    value = value.rstrip(" ")
    if _INT.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value):
        number = float(value)
        if repr(number) != value:
            raise _Refused  # `0.10`, a long fraction: a rewrite would change its spelling
        return number
    if value in ("true", "false"):
        return value == "true"
    if value in ("null", "~"):
        return None
    if _VERSION.fullmatch(value) or _HEX.fullmatch(value):
        return value
    if value.lower() in _SPECIAL_WORDS or not _PLAIN.fullmatch(value) or value.endswith(":"):
        raise _Refused
    if ": " in value:
        raise _Refused
    return value
