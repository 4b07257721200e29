"""The Git LFS lines of `.gitattributes`: which files each pattern matches, and taking one out.

git answers "is this file LFS?" (`git check-attr`), but not "which line made it so", nor
what a path would get once some lines are gone; the import needs both (a pattern leaves
only when every file it matches was converted, and a `.gmv` pointer must never match a
pattern that stays). So the patterns are matched here, with git's rules: a pattern with no
`/` matches a name at any depth below its file's folder, one with a `/` matches from that
folder; `*`, `?` and `[...]` never cross a `/`; `**/`, `/**/` and `/**` span folders; a
later line beats an earlier one, a deeper file beats its parents, `.git/info/attributes`
beats them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LFS_FILTER = "filter=lfs"
# what `git lfs track` writes (and `lockable`, which only LFS reads): leaves with the pattern
LFS_ATTRS = frozenset({"filter=lfs", "diff=lfs", "merge=lfs", "-text", "lockable"})
_POSIX = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "digit": "0-9",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
}


@dataclass(frozen=True)
class Line:
    """One pattern line of an attributes file."""

    file: str  # root-relative attributes file (`.git/info/attributes` for that one)
    number: int  # 0-based line index in the file
    pattern: str  # as git reads it (unquoted)
    attrs: tuple[str, ...]
    regex: re.Pattern[str] | None  # None: a pattern that matches no file (`dir/`)
    folder: str  # the folder the pattern is relative to ("" for the root)

    @property
    def is_lfs(self) -> bool:
        return LFS_FILTER in self.attrs

    def matches(self, path: str) -> bool:
        if self.regex is None:
            return False
        if self.folder:
            if not path.startswith(self.folder + "/"):
                return False
            path = path[len(self.folder) + 1 :]
        return self.regex.fullmatch(path) is not None

    def filter_value(self) -> str | None:
        """What this line does to `filter`: a value, "" (unset), or None (not named)."""
        value = None
        for attr in self.attrs:
            if attr.startswith("filter="):
                value = attr.partition("=")[2]
            elif attr in ("-filter", "!filter", "filter"):
                value = ""
        return value


@dataclass(frozen=True)
class AttrFile:
    path: str  # root-relative
    text: str
    lines: tuple[Line, ...]
    committed: bool  # False for `.git/info/attributes`: read, never rewritten


def read(root: Path, files: list[str], info: Path | None) -> list[AttrFile]:
    """The attributes files in git's order of precedence, weakest first."""
    found = []
    for rel in sorted(files, key=lambda f: (f.count("/"), f)):
        text = (root / rel).read_text(encoding="utf-8", errors="surrogateescape")
        folder = rel.rpartition("/")[0]
        found.append(AttrFile(rel, text, _parse(rel, text, folder), True))
    if info is not None and info.is_file():
        text = info.read_text(encoding="utf-8", errors="surrogateescape")
        found.append(
            AttrFile(".git/info/attributes", text, _parse(".git/info/attributes", text, ""), False)
        )
    return found


def resolve_filter(files: list[AttrFile], path: str, dropped: frozenset[tuple[str, int]]) -> str:
    """The `filter` a path gets from these files once the `dropped` lines lose it."""
    value = ""
    for attr_file in files:
        for line in attr_file.lines:
            if (line.file, line.number) in dropped or not line.matches(path):
                continue
            found = line.filter_value()
            if found is not None:
                value = found
    return value


def rewrite(attr_file: AttrFile, dropped: frozenset[tuple[str, int]]) -> str:
    """The file's text without the LFS attributes of the `dropped` lines; every other line,
    comment and blank is kept byte for byte. A line left with no attribute goes."""
    out = []
    for number, raw in enumerate(attr_file.text.splitlines(keepends=True)):
        if (attr_file.path, number) not in dropped:
            out.append(raw)
            continue
        body = raw.rstrip("\r\n")
        ending = raw[len(body) :]
        pattern_text, attrs = _split(body)
        kept = [a for a in attrs if a not in LFS_ATTRS]
        if kept:
            indent = body[: len(body) - len(body.lstrip())]
            out.append(indent + pattern_text + " " + " ".join(kept) + ending)
    return "".join(out)


def _parse(rel: str, text: str, folder: str) -> tuple[Line, ...]:
    lines = []
    for number, raw in enumerate(text.splitlines()):
        body = raw.strip()
        if not body or body.startswith("#") or body.startswith("[attr]"):
            continue
        pattern_text, attrs = _split(raw.rstrip("\r\n"))
        pattern = _unquote(pattern_text)
        if pattern.startswith("!"):
            continue  # git ignores negative patterns in attributes files
        lines.append(Line(rel, number, pattern, tuple(attrs), _compile(pattern), folder))
    return tuple(lines)


def _split(body: str) -> tuple[str, list[str]]:
    """(the pattern as written, the attributes) of a line."""
    stripped = body.lstrip()
    if stripped.startswith('"'):
        i = 1
        while i < len(stripped) and stripped[i] != '"':
            i += 2 if stripped[i] == "\\" else 1
        end = min(i + 1, len(stripped))
    else:
        match = re.search(r"\s", stripped)
        end = match.start() if match else len(stripped)
    return stripped[:end], stripped[end:].split()


def _unquote(text: str) -> str:
    if not (text.startswith('"') and text.endswith('"') and len(text) >= 2):
        return text
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f"}
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(chr(int(body[i + 1 : i + 4], 8)))
                i += 4
                continue
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _compile(pattern: str) -> re.Pattern[str] | None:
    if pattern.endswith("/"):
        return None  # names a folder: attributes never apply to a folder's files that way
    if "/" in pattern:
        return re.compile(_translate(pattern.lstrip("/")), re.S)
    return re.compile("(?:.*/)?" + _translate(pattern), re.S)


def _translate(pattern: str) -> str:
    """A wildmatch pattern (git's, with `/` special) as a regular expression."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            at_start = i == 0 or pattern[i - 1] == "/"
            at_end = j == n or pattern[j] == "/"
            if j - i >= 2 and at_start and at_end:
                if j == n:
                    out.append(".*")
                    i = j
                else:
                    out.append("(?:.*/)?")
                    i = j + 1
                continue
            out.append("[^/]*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            i = _bracket(pattern, i, out)
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _bracket(pattern: str, start: int, out: list[str]) -> int:
    """Translate the class at `start`; return the index after it (a lone `[` is literal)."""
    i, n = start + 1, len(pattern)
    negate = i < n and pattern[i] in "!^"
    if negate:
        i += 1
    parts: list[str] = []
    first = True
    while i < n and (pattern[i] != "]" or first):
        first = False
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end != -1 else ""
            if name in _POSIX:
                parts.append(_POSIX[name])
                i = end + 2
                continue
        if pattern[i] == "\\" and i + 1 < n:
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if pattern[i] == "-" and parts and i + 1 < n and pattern[i + 1] != "]":
            parts.append("-")
            i += 1
            continue
        parts.append(re.escape(pattern[i]) if pattern[i] not in "-" else "\\-")
        i += 1
    if i >= n:
        out.append(re.escape("["))
        return start + 1
    body = "".join(parts)
    out.append(f"(?!/)[^{body}]" if negate else f"[{body}]")
    return i + 1
