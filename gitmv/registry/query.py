"""The filter grammar of `gitmv registry find`: `KEY OP VALUE` terms, all of which must hold.

    metrics.accuracy>=0.9  params.lr<0.01  type=model  label=fraud  version>=1.2,<2

OP is one of `=`, `!=`, `<`, `<=`, `>`, `>=`, `~` (substring, any case). KEY is a field
of the version (`name`, `version`, `stage`, `stage.ever`, `author`, `date`, `label`,
`input`, `path`, `oid`, `commit`, `size`) or else a dotted key of its `meta` block
(`meta.` in front reaches a meta key that shares a field's name). Values compare as
numbers when both sides are numbers, as versions for `version`, as days or instants for `date`,
else as text. A list (labels, inputs) matches when any of its items does; `!=` when none
does. A missing key matches `!=` only.

Pure: a `Term` tests a `Candidate`, plain data that `gitmv.ops.find` fills from the tags
and pointers. A filter that cannot mean anything raises `QueryError`, a usage error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from gitmv.base.errors import GitmvError
from gitmv.registry.grammar import SemVer, is_version

OPERATORS = ("!=", "<=", ">=", "=", "<", ">", "~")
_TERM = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?P<op>!=|<=|>=|=|<|>|~)(?P<value>.*)$")
_PARTIAL_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.\-]+)?$")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
# Fields of a version itself (author: `Name <email>`; `=` takes the name, the email or the
# email's user part alone, in any case); any other key is read from its meta block.
FIELDS = (
    "name",
    "version",
    "stage",
    "stage.ever",
    "author",
    "date",
    "label",
    "input",
    "path",
    "oid",
    "commit",
    "size",
)
_TEXT_ONLY = ("stage", "stage.ever", "label", "input", "author", "name", "oid", "commit", "path")
SYNTAX = "a filter reads KEY OP VALUE, e.g. metrics.accuracy>=0.9, label=fraud, version>=1.2,<2"


class QueryError(GitmvError):
    """A filter, sort key or date that cannot mean anything: a usage error (exit 2)."""


@dataclass(frozen=True)
class Candidate:
    """What a filter can ask about one version."""

    name: str
    version: str
    stages: tuple[str, ...]  # held now
    stages_ever: tuple[str, ...]  # ever assigned
    author: str  # who registered it: `Name <email>`
    date: datetime  # when it was registered (aware)
    labels: tuple[str, ...]
    inputs: tuple[str, ...]  # each input's path and oid
    path: str
    oid: str
    commit: str
    size: int
    meta: Mapping[str, Any] = field(hash=False)

    def value(self, key: str) -> Any:
        """The value `key` names (a tuple for list fields), or None where it has none."""
        simple = {
            "name": self.name,
            "version": self.version,
            "stage": self.stages,
            "stage.ever": self.stages_ever,
            "author": self.author,
            "date": self.date,
            "label": self.labels,
            "input": self.inputs,
            "path": self.path,
            "oid": self.oid,
            "commit": self.commit,
            "size": self.size,
        }
        if key in simple:
            return simple[key]
        return meta_value(self.meta, key.removeprefix("meta."))


def meta_value(meta: Mapping[str, Any], dotted: str) -> Any:
    node: Any = meta
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return tuple(node) if isinstance(node, list) else node


@dataclass(frozen=True)
class Term:
    key: str
    op: str
    value: str
    text: str  # as the user wrote it, for messages
    bounds: tuple[tuple[str, Any], ...] = ()  # `version` and `date`: (op, parsed) each

    def matches(self, c: Candidate) -> bool:
        found = c.value(self.key)
        if self.key == "version":
            return _version_matches(found, self.bounds, self.op, self.value)
        if self.key == "date":
            return all(_date_matches(found, op, span) for op, span in self.bounds)
        if self.key == "author" and self.op in ("=", "!="):
            # `Name <email>`: either part alone names the author too, in any case
            name, _, email = str(found).partition(" <")
            email = email.rstrip(">").lower()
            said = {str(found).lower(), name.lower(), email, email.partition("@")[0]}
            return (self.value.lower() in said) == (self.op == "=")
        if isinstance(found, tuple):
            if self.op == "!=":
                return not any(_test(item, "=", self.value) for item in found)
            return any(_test(item, self.op, self.value) for item in found)
        if found is None or isinstance(found, Mapping):
            return self.op == "!="
        return _test(found, self.op, self.value)


def parse_term(text: str) -> Term:
    match = _TERM.match(text.strip())
    if match is None:
        raise QueryError(f"bad filter {text!r}: no KEY OP VALUE in it", hint=SYNTAX)
    key, op, value = match["key"], match["op"], match["value"].strip()
    if not value:
        raise QueryError(f"bad filter {text!r}: no value after {op!r}", hint=SYNTAX)
    if value[0] in "=<>!~":
        raise QueryError(
            f"bad filter {text!r}: no operator is {op + value[0]!r}",
            hint="the operators are = != < <= > >= ~, e.g. metrics.accuracy>=0.9",
        )
    if key.endswith(".") or ".." in key:
        raise QueryError(f"bad filter {text!r}: {key!r} is not a key", hint=SYNTAX)
    if key == "version":
        return Term(key, op, value, text, _version_bounds(text, op, value))
    if key == "date":
        if op == "~":
            raise QueryError(
                f"bad filter {text!r}: a date compares with = != < <= > >=",
                hint="e.g. date>=2024-03-01, or --since 2024-03-01 --until 2024-03-31",
            )
        return date_term(op, value, text)
    if key in _TEXT_ONLY and op in ("<", "<=", ">", ">="):
        raise QueryError(f"bad filter {text!r}: {key} is not ordered; use =, != or ~", hint=SYNTAX)
    return Term(key, op, value, text)


def parse_terms(texts: Sequence[str]) -> list[Term]:
    return [parse_term(t) for t in texts]


def check_sort_key(key: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*", key):
        raise QueryError(
            f"bad --sort key {key!r}", hint="sort by a field or meta key, e.g. metrics.accuracy"
        )
    return key


def sort_key(c: Candidate, key: str) -> tuple[Any, ...]:
    """Versions with the value first (numbers, then text), those without it last."""
    value = c.value(key)
    if key == "version":
        return (0, 0, SemVer.parse(c.version).key()) if is_version(c.version) else (1, 0, ())
    if isinstance(value, datetime):
        return (0, 0, value.timestamp())
    if isinstance(value, tuple):
        value = ",".join(str(v) for v in value) or None
    number = _number(value)
    if number is not None:
        return (0, 0, number)
    if value is None or isinstance(value, Mapping):
        return (1, 0, 0)
    return (0, 1, str(value))


@dataclass(frozen=True, kw_only=True)  # by name: four of the fields are `str | None`
class FindQuery:
    """One search, said once: built by `gitmv registry find` and `gitmv.api.find` from
    their options, read by `gitmv.ops.find`. `stage`, `since` and `until` are filters
    too (`terms`); the rest say which versions are read and how they are ordered."""

    filters: tuple[str, ...] = ()
    all_commits: bool = False  # also every commit of HEAD's history that changed name=NAME
    stage: str | None = None
    since: str | None = None
    until: str | None = None
    sort: str | None = None  # a key; None: newest first
    desc: bool = False
    limit: int | None = None

    def terms(self) -> list[Term]:
        """Every filter, the options' among them, parsed and checked with the sort key and
        the limit: a bad one raises `QueryError` before anything is read."""
        terms = parse_terms(self.filters)
        if self.stage is not None:
            terms.append(parse_term(f"stage={self.stage}"))
        if self.since is not None:
            terms.append(date_term(">=", self.since, f"--since {self.since}"))
        if self.until is not None:
            terms.append(date_term("<=", self.until, f"--until {self.until}"))
        if self.sort is not None:
            check_sort_key(self.sort)
        if self.limit is not None and self.limit < 0:
            raise QueryError(f"--limit {self.limit}: give a number of versions, 0 or more")
        return terms


# -- dates -----------------------------------------------------------------------------------


def date_term(op: str, value: str, text: str) -> Term:
    """`date OP D`. A day alone (`2024-03-10`) is the whole day, UTC: `date=D` is any time
    that day, `date<=D` (`--until D`) includes it, `date>D` starts the day after."""
    return Term("date", op, value, text, ((op, date_span(value, text)),))


def date_span(text: str, where: str | None = None) -> tuple[datetime, datetime]:
    """(start, end) of a date as written: a day for `YYYY-MM-DD`, else one instant."""
    start = parse_date(text, where)
    day = len(text.strip()) == 10
    return start, start + timedelta(days=1) if day else start


def _date_matches(found: Any, op: str, span: tuple[datetime, datetime]) -> bool:
    if not isinstance(found, datetime):
        return op == "!="
    start, end = span
    within = start <= found < end if end > start else found == start
    if op in ("=", "!="):
        return within == (op == "=")
    if op == "<":
        return found < start
    if op == "<=":
        return found < end if end > start else found <= start
    if op == ">":
        return found >= end if end > start else found > start
    return found >= start


def parse_date(text: str, where: str | None = None) -> datetime:
    """`2024-03-01`, `2024-03-01T12:00`, with or without an offset; a date alone is
    midnight UTC, a time without an offset UTC."""
    try:
        found = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"bad date {text!r}" + (f" in {where!r}" if where and where != text else ""),
            hint="write a date as YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]",
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


# -- versions --------------------------------------------------------------------------------


def _version_bounds(text: str, op: str, value: str) -> tuple[tuple[str, Any], ...]:
    """`version>=1.2,<2`: the first part takes the term's operator, each later part its own."""
    if op == "~":
        return ()
    parts = [p.strip() for p in value.split(",")]
    bounds = []
    for n, part in enumerate(parts):
        part_op = op
        if n:
            lead = re.match(r"^(!=|<=|>=|=|<|>)", part)
            if lead is None:
                raise QueryError(
                    f"bad filter {text!r}: {part!r} needs an operator",
                    hint="a version range reads e.g. version>=1.2,<2",
                )
            part_op, part = lead[1], part[len(lead[1]) :].strip()
        bounds.append((part_op, _partial_version(part, text)))
    return tuple(bounds)


def _partial_version(part: str, text: str) -> tuple[Any, ...]:
    match = _PARTIAL_VERSION.match(part)
    if match is None:
        raise QueryError(
            f"bad filter {text!r}: {part!r} is not a version",
            hint="write a version as 1, 1.2, 1.2.3 or v1.2.3",
        )
    major, minor, patch = (int(g) if g else 0 for g in match.groups()[:3])
    pre = match[4] or ""
    return SemVer(major, minor, patch, pre[1:]).key()


def _version_matches(found: Any, bounds: Sequence[tuple[str, Any]], op: str, value: str) -> bool:
    if op == "~":
        return value.lower() in str(found).lower()
    if not isinstance(found, str) or not is_version(found):
        return op == "!=" and len(bounds) == 1
    key = SemVer.parse(found).key()
    return all(_compare(key, o, bound) for o, bound in bounds)


# -- values ----------------------------------------------------------------------------------


def _test(found: Any, op: str, wanted: str) -> bool:
    if op == "~":
        return wanted.lower() in _text(found).lower()
    if isinstance(found, bool):
        flag = wanted.lower()
        if flag not in ("true", "false"):
            return op == "!="
        return _compare(found, op, flag == "true") if op in ("=", "!=") else False
    number, target = _number(found), _number(wanted)
    if number is not None and target is not None:
        return _compare(number, op, target)
    if op in ("=", "!="):
        return _compare(_text(found), op, wanted)
    if target is not None:
        return False  # `metrics.accuracy>0.9` says nothing about a version without a number
    return _compare(_text(found), op, wanted)


def _compare(a: Any, op: str, b: Any) -> bool:
    if a is None:
        return op == "!="
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
