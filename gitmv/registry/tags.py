"""The model registry read from git tags: events, the versions and stages they make, references.

Tags are the only state. `NAME@vX.Y.Z` registers a version at a commit, `NAME@vX.Y.Z!`
withdraws it, `NAME#STAGE#N` assigns a stage to the version registered at the tag's
commit, `NAME#STAGE!#N` withdraws that assignment, `NAME@deprecated` retires the name.
gitmv's own `NAME@vX.Y.Z@label=L#N` puts label L on a version (`...=L!#N` takes it off);
GTO skips those tags.
Which version holds a stage follows GTO's default (`gto show`, sorted by time): among the
versions whose latest event for that stage is an assignment, the most recent assignment.
Every tag is read with one `git for-each-ref`, so a registry of thousands of tags loads
in milliseconds. The tag names themselves (GTO's grammar) are `gitmv.registry.grammar`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.registry.grammar import (
    Action,
    SemVer,
    TagName,
    parse_tag_name,
    version_key,
)
from gitmv.repo.context import Repo

# Within one second (tag dates have no finer grain): registrations before stage events,
# then by the counter, which numbers one name's events in the order they were made.
_RANK: dict[str, int] = {
    "create": 0,
    "register": 1,
    "deregister": 2,
    "assign": 3,
    "unassign": 3,
    "deprecate": 4,
    "label": 5,
    "unlabel": 5,
}


# -- events and state ------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One registry tag: what happened to which version, who did it and when."""

    tag: str
    name: str
    action: Action
    version: str | None  # stage events: the version registered at the tag's commit
    stage: str | None
    counter: int | None
    commit: str
    tagger_name: str
    tagger_email: str
    date: datetime  # aware, in the tagger's own UTC offset
    message: str
    signed: bool
    label: str | None = None  # label events (`NAME@vX.Y.Z@label=L#N`): the label

    @property
    def who(self) -> str:
        return (
            f"{self.tagger_name} <{self.tagger_email}>" if self.tagger_email else self.tagger_name
        )

    @property
    def order(self) -> tuple[Any, ...]:
        """Oldest first: by date; within one second, registrations first, then by counter."""
        return (
            int(self.date.timestamp()),
            _RANK[self.action],
            self.counter or 0,
            version_key(self.version or ""),
        )


@dataclass(frozen=True)
class VersionState:
    name: str
    version: str  # `vX.Y.Z`, or the commit for a stage assigned to an unregistered commit
    commit: str
    registered: bool  # an explicit `NAME@vX.Y.Z` tag exists
    active: bool  # not withdrawn (`NAME@vX.Y.Z!`) since
    stages: tuple[str, ...]  # the stages it holds now


@dataclass(frozen=True)
class ArtifactState:
    name: str
    versions: tuple[VersionState, ...]  # highest first
    stages: Mapping[str, str] = field(hash=False)  # stage -> the version holding it
    latest: str | None
    deprecated: bool
    events: tuple[Event, ...]  # oldest first

    def version(self, label: str) -> VersionState | None:
        return next((v for v in self.versions if v.version == label), None)

    def labels(self, version: str, given: Iterable[str] = ()) -> tuple[str, ...]:
        """The labels of `version`, sorted: those `given` when it was made (its pointer's
        `meta.labels`), then each label event in order puts one on or takes one off."""
        held = set(given)
        for e in self.events:
            if e.version == version and e.label is not None:
                if e.action == "label":
                    held.add(e.label)
                else:
                    held.discard(e.label)
        return tuple(sorted(held))

    def active_assignments(self, stage: str) -> list[tuple[str, Event]]:
        """(version, its latest assignment) for each version that `stage` is in effect for,
        most recent first: the first holds the stage, the next would hold it without it."""
        return _active_assignments(self.events, stage, {v.version: v.active for v in self.versions})


@dataclass(frozen=True)
class Registry:
    artifacts: Mapping[str, ArtifactState] = field(hash=False)
    tags: frozenset[str] = frozenset()  # every tag name in the repository, registry or not

    def names(self, include_deprecated: bool = False) -> list[str]:
        return sorted(
            n for n, a in self.artifacts.items() if include_deprecated or not a.deprecated
        )

    def artifact(self, name: str) -> ArtifactState:
        found = self.artifacts.get(name)
        if found is None:
            known = ", ".join(self.names()[:10]) or "none yet"
            raise GitmvError(
                f"no registered model named {name!r} (registered: {known})",
                hint="`gitmv registry list` shows every name; "
                "`gitmv registry register NAME` registers one",
            )
        return found


def load(repo: Repo) -> Registry:
    """Every registry tag of the repository, read in one `git for-each-ref`."""
    return build(git.tag_records(repo.root))


def build(records: Iterable[git.TagRecord]) -> Registry:
    by_name: dict[str, list[tuple[TagName, git.TagRecord]]] = {}
    names: set[str] = set()
    for record in records:
        names.add(record.name)
        parsed = parse_tag_name(record.name)
        # GTO ignores lightweight tags too: they carry no tagger, date or message.
        if parsed is not None and record.annotated and record.commit:
            by_name.setdefault(parsed.name, []).append((parsed, record))
    artifacts = {name: _artifact(name, tags) for name, tags in by_name.items()}
    return Registry(artifacts, frozenset(names))


def _artifact(name: str, tags: Sequence[tuple[TagName, git.TagRecord]]) -> ArtifactState:
    # A stage tag names a commit, not a version: map commits to the versions registered there.
    at_commit = {
        record.commit: parsed.version
        for parsed, record in sorted(tags, key=lambda t: (t[1].timestamp, t[0].counter or 0))
        if parsed.action == "register" and parsed.version and record.commit
    }
    events = tuple(sorted((_event(p, r, at_commit) for p, r in tags), key=lambda e: e.order))
    active: dict[str, bool] = {}  # registered version -> not withdrawn
    commits: dict[str, str] = {}
    deprecated = False
    for e in events:
        if e.action in ("register", "deregister") and e.version:
            active[e.version] = e.action == "register"
            if e.action == "register" or e.version not in commits:
                commits[e.version] = e.commit
        elif e.version:
            commits.setdefault(e.version, e.commit)
        if e.action in ("deprecate", "create"):
            deprecated = e.action == "deprecate"
    stages: dict[str, str] = {}
    for stage in sorted({e.stage for e in events if e.stage}):
        holders = _active_assignments(events, stage, active)
        if holders:
            stages[stage] = holders[0][0]
    versions = tuple(
        VersionState(
            name,
            label,
            commits[label],
            label in active,
            active.get(label, True),
            tuple(s for s, holder in stages.items() if holder == label),
        )
        for label in sorted(commits, key=version_key, reverse=True)
    )
    latest = next((v.version for v in versions if v.registered and v.active), None)
    return ArtifactState(name, versions, stages, latest, deprecated, events)


def _event(parsed: TagName, record: git.TagRecord, at_commit: Mapping[str, str]) -> Event:
    commit = record.commit or ""
    version = parsed.version
    if parsed.action in ("assign", "unassign"):
        version = at_commit.get(commit, commit)  # GTO names an unregistered commit by its sha
    message = record.subject + (f"\n\n{record.body}" if record.body else "")
    return Event(
        record.name,
        parsed.name,
        parsed.action,
        version,
        parsed.stage,
        parsed.counter,
        commit,
        record.tagger_name,
        record.tagger_email,
        _date(record.timestamp, record.utc_offset),
        message,
        record.signed,
        parsed.label,
    )


def _date(seconds: int, offset: str) -> datetime:
    match = re.fullmatch(r"([+-])(\d\d)(\d\d)", offset)
    delta = timedelta(0)
    if match:
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        delta = -delta if match[1] == "-" else delta
    return datetime.fromtimestamp(seconds, timezone(delta))


def _active_assignments(
    events: Sequence[Event], stage: str, active: Mapping[str, bool]
) -> list[tuple[str, Event]]:
    last: dict[str, Event] = {}  # version -> its latest event for this stage
    for e in events:
        if e.stage == stage and e.version is not None:
            last[e.version] = e
    found = [
        (version, e)
        for version, e in last.items()
        if e.action == "assign" and active.get(version, True)
    ]
    return sorted(found, key=lambda item: item[1].order, reverse=True)


# -- references ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """What a reference names: a registered version of NAME at a commit."""

    name: str
    version: str
    stage: str | None  # the stage the reference went through, if any
    commit: str


def split_ref(ref: str) -> tuple[str, str]:
    """`NAME@vX.Y.Z`, `NAME@STAGE`, `NAME#STAGE`, `NAME@latest` or `NAME` -> (name, selector)."""
    if "@" in ref:
        name, _, selector = ref.partition("@")
    elif "#" in ref:
        name, _, selector = ref.partition("#")
    else:
        name, selector = ref, "latest"
    if not name or not selector:
        raise GitmvError(
            f"malformed reference {ref!r}",
            hint="write NAME@vX.Y.Z, NAME@STAGE or NAME@latest",
        )
    return name, selector


def resolve(registry: Registry, ref: str) -> Resolved:
    by_tag = _resolve_tag(registry, ref)
    if by_tag is not None:
        return by_tag
    name, selector = split_ref(ref)
    artifact = registry.artifact(name)
    if selector in ("latest", "greatest"):
        latest = artifact.version(artifact.latest) if artifact.latest else None
        if latest is None:
            raise GitmvError(f"{name} has no registered version", hint=_register_hint(name))
        return Resolved(name, latest.version, None, latest.commit)
    if re.match(r"^v\d", selector):
        SemVer.parse(selector)  # a malformed version is reported as such, not as a stage
        found = artifact.version(selector)
        if found is None or not found.registered:
            known = [v.version for v in artifact.versions if v.registered]
            raise GitmvError(
                f"{name} has no version {selector}", hint=f"versions: {_listing(known)}"
            )
        if not found.active:
            raise GitmvError(
                f"{name}@{selector} was deregistered",
                hint="register it again under a new version to use it",
            )
        return Resolved(name, selector, None, found.commit)
    holder = artifact.stages.get(selector)
    if holder is None:
        raise GitmvError(
            f"no version of {name} is in stage {selector!r}",
            hint=f"stages in use: {_listing(sorted(artifact.stages))}",
        )
    state = artifact.version(holder)
    assert state is not None
    return Resolved(name, holder, selector, state.commit)


def _resolve_tag(registry: Registry, ref: str) -> Resolved | None:
    """A stage event's full tag name (`NAME#STAGE#N`, `NAME#STAGE!#N`) names the version
    that event was about, as `gto check-ref` reads it; `NAME#STAGE` stays a shortcut for
    the stage's holder now."""
    parsed = parse_tag_name(ref)
    if parsed is None or parsed.action not in ("assign", "unassign"):
        return None
    if parsed.counter is None and parsed.action == "assign":
        return None
    artifact = registry.artifacts.get(parsed.name)
    event = next((e for e in artifact.events if e.tag == ref), None) if artifact else None
    if event is None or event.version is None:
        raise GitmvError(f"no registry tag {ref!r}", hint="`git tag --list` shows the tags")
    return Resolved(parsed.name, event.version, None, event.commit)


def _listing(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def _register_hint(name: str) -> str:
    return f"register one: gitmv registry register {name} --version v1.0.0"
