"""A fast reader for pointers as gitmv writes them, meta block included, for reads in bulk.

`gitmv registry find` reads the pointer of every registered version: 2,000 of them through
ruamel cost 6 s (3 ms each), and a meta block with floats or `inputs` is outside
`gitmv.base.quickyaml`'s subset. This reads block mappings and block sequences (the layout
ruamel writes, and any consistent indentation) of plain scalars: whole and decimal
numbers, `true`/`false`/`null`, plain words, and simply quoted strings. For anything else
(comments, flow collections but `[]`/`{}`, anchors, tags, dates, multi-line text, tabs,
duplicate keys) it answers None, and the caller parses with ruamel. Where it answers, it
gives what `plain(ruamel's reading)` gives: tests/test_query.py checks that.
"""

from __future__ import annotations

import re
from typing import Any

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-/]*):(?: +(.*))?")
_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]+(e[-+][0-9]+)?")
_WORD = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@+=\-]*|[0-9]+(\.[0-9]+){2,}")
# A hex digest that starts with a digit (a commit sha): text, unless YAML reads it as a
# number (`12e45` a float, `0b1` an int) or it has no letter at all (`0123` an octal int).
_HEX = re.compile(r"[0-9][0-9a-f]*[a-f][0-9a-f]*")
_HEX_NUMBER = re.compile(r"[0-9]+e[0-9]+|0b[01]+")
_SPECIAL = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"])
_SCALARS: dict[str, Any] = {"true": True, "false": False, "null": None, "~": None}


class _Unsupported(Exception):
    pass


def load(text: str) -> dict[str, Any] | None:
    """The document as plain dicts and lists, or None if it is outside the subset read here."""
    if "#" in text or "\t" in text or "\r" in text:
        return None
    lines: list[tuple[int, str]] = []
    for raw in text.split("\n"):
        body = raw.strip(" ")
        if body:
            lines.append((len(raw) - len(raw.lstrip(" ")), body))
    if not lines or lines[0][0] != 0 or lines[0][1] in ("---", "..."):
        return None
    try:
        reader = _Reader(lines)
        doc = reader.mapping(0)
    except _Unsupported:
        return None
    if reader.pos != len(lines):
        return None
    return doc


class _Reader:
    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        self.pos = 0

    def node(self, indent: int) -> Any:
        if self.lines[self.pos][1].startswith("- ") or self.lines[self.pos][1] == "-":
            return self.sequence(indent)
        return self.mapping(indent)

    def mapping(self, indent: int) -> dict[str, Any]:
        """A block mapping whose keys sit at column `indent`."""
        found: dict[str, Any] = {}
        while self.pos < len(self.lines):
            col, body = self.lines[self.pos]
            if col < indent:
                break
            if col > indent:
                raise _Unsupported
            key, value = _key_value(body)
            if key in found:
                raise _Unsupported
            self.pos += 1
            found[key] = self._value_after(col, value)
        return found

    def sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while self.pos < len(self.lines):
            col, body = self.lines[self.pos]
            if col != indent or not (body.startswith("- ") or body == "-"):
                if col > indent:
                    raise _Unsupported
                break
            rest = body[1:].lstrip(" ")
            inner = col + len(body) - len(rest)
            if not rest:
                self.pos += 1
                items.append(self._value_after(col, None, item=True))
            elif _KEY.fullmatch(rest) and not rest.startswith(("'", '"')):
                self.lines[self.pos] = (inner, rest)
                items.append(self.mapping(inner))
            else:
                self.pos += 1
                items.append(scalar(rest))
        return items

    def _value_after(self, col: int, value: str | None, item: bool = False) -> Any:
        """The value of a key (or, `item`, a sequence item) at `col` whose line ends at
        `value`: that scalar, else the block below it, else null."""
        if value is not None and value.strip():
            return scalar(value)
        if self.pos < len(self.lines):
            next_col, next_body = self.lines[self.pos]
            if next_col > col:
                return self.node(next_col)
            dash = next_body.startswith("- ") or next_body == "-"
            if next_col == col and dash and not item:
                return self.sequence(col)  # a sequence may sit at its key's own indent
        return None


def _key_value(body: str) -> tuple[str, str | None]:
    """`key: value` -> (key, value or None); a line that is no such pair: _Unsupported."""
    found = _PAIRS.get(body)
    if found is None:
        match = _KEY.fullmatch(body)
        if match is None or body.startswith("- ") or match[1].lower() in _SPECIAL:
            raise _Unsupported
        if len(_PAIRS) > 50_000:
            _PAIRS.clear()
        found = _PAIRS[body] = (match[1], match[2])
    return found


_PAIRS: dict[str, tuple[str, str | None]] = {}


def scalar(text: str) -> Any:
    # Pointers repeat their values (`kind: file`, `python: 3.11.7`): each is read once.
    found = _SEEN.get(text, _Unsupported)
    if found is _Unsupported:
        if len(_SEEN) > 50_000:  # a long-lived process (the API) must not grow without end
            _SEEN.clear()
        found = _SEEN[text] = _scalar(text)
    return [] if found == [] else {} if found == {} else found  # never share a container


_SEEN: dict[str, Any] = {}


def _scalar(text: str) -> Any:
    text = text.strip()
    if text in _SCALARS:
        return _SCALARS[text]
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] == "'" and "'" not in text[1:-1]:
        return text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == '"' and not set(text[1:-1]) & {'"', "\\"}:
        return text[1:-1]
    if _WORD.fullmatch(text) and text.lower() not in _SPECIAL and ": " not in text:
        return text
    if _HEX.fullmatch(text) and not _HEX_NUMBER.fullmatch(text):
        return text
    raise _Unsupported
