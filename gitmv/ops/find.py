"""The find verb: every registered version (or, with `all_commits`, every committed version
of the names asked for) that passes the filters of `gitmv.registry.query`, sorted.

Reads git only, and in bulk: the tags once, every version's pointer in one batch
(`gitmv.registry.bulk`). No work tree, no cache, no remote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from gitmv.base import git, githistory
from gitmv.base.errors import GitmvError
from gitmv.registry import bulk
from gitmv.registry.artifacts import Version, registry_name
from gitmv.registry.query import Candidate, FindQuery, QueryError, sort_key
from gitmv.registry.tags import Event, Registry, VersionState, load
from gitmv.repo.context import Repo
from gitmv.store import pointer


@dataclass(frozen=True)
class Hit:
    """One version found, with what the table and the filters read about it."""

    version: Version
    stages: tuple[str, ...]  # held now
    labels: tuple[str, ...]  # meta.labels and label events together
    author: str  # who registered it (for a commit not registered: the commit's author)
    date: datetime  # when
    registered: bool  # False: a commit of the artifact's history (`all_commits`) only
    values: Mapping[str, Any] = field(hash=False)  # each key filtered or sorted on


@dataclass(frozen=True)
class FindReport:
    hits: tuple[Hit, ...]
    keys: tuple[str, ...]  # the keys filtered or sorted on, in the order given
    searched: int  # versions read
    problems: tuple[str, ...]  # versions whose pointer could not be read, with why


def find(repo: Repo, query: FindQuery) -> FindReport:
    """The versions passing every filter, by `query.sort` (default: newest first), at most
    `query.limit`.

    Every filter is parsed before git is read, so a bad one (`QueryError`) costs nothing.
    """
    terms = query.terms()
    sort, desc, limit = query.sort, query.desc, query.limit
    registry = load(repo)
    states = bulk.registered(registry)
    if query.all_commits:
        names = [t.value for t in terms if t.key == "name" and t.op == "="]
        if not names:
            raise QueryError(
                "--all-commits walks the history of named artifacts: give name=NAME",
                hint="e.g. gitmv registry find name=churn --all-commits",
            )
        states += _history_states(repo, registry, names, states)
    # who made each unregistered commit, and when (a registered version's tag says it)
    authors = githistory.commit_authors(repo.root, [s.commit for s in states if not s.registered])
    loaded = bulk.read_versions(repo, states)
    by_ref = {(s.name, s.version): s for s in states}
    facts = _facts(registry)
    candidates = [
        _candidate(facts, v, by_ref[(v.name, v.version)], authors) for v in loaded.versions
    ]
    chosen = [c for c in candidates if all(t.matches(c[1]) for t in terms)]
    if sort is not None:
        chosen.sort(key=lambda c: sort_key(c[1], sort), reverse=desc)
        if desc:  # those without the key stay last
            chosen.sort(key=lambda c: sort_key(c[1], sort)[0])
    else:
        chosen.sort(key=lambda c: (c[1].date, c[1].name), reverse=not desc)
    if limit is not None:
        chosen = chosen[:limit]
    # name, version, date and author are columns of every table already
    shown = ("name", "version", "date", "author")
    keys = list(dict.fromkeys(t.key for t in terms if t.key not in shown))
    if sort is not None and sort not in keys and sort not in shown:
        keys.append(sort)
    hits = tuple(
        Hit(
            v,
            c.stages,
            c.labels,
            c.author,
            c.date,
            by_ref[(v.name, v.version)].registered,
            {k: c.value(k) for k in keys},
        )
        for v, c in chosen
    )
    return FindReport(hits, tuple(keys), len(candidates), loaded.problems)


@dataclass
class _Facts:
    """What the events say of each version of one name, read in one pass over them."""

    registered_by: dict[str, Event] = field(default_factory=dict)  # the latest registration
    # label events in order: (True to put on | False to take off, label)
    labelling: dict[str, list[tuple[bool, str]]] = field(default_factory=dict)
    ever: dict[str, set[str]] = field(default_factory=dict)  # stages ever assigned


def _facts(registry: Registry) -> dict[str, _Facts]:
    found: dict[str, _Facts] = {}
    for name, artifact in registry.artifacts.items():
        f = found[name] = _Facts()
        for e in artifact.events:  # oldest first
            if e.version is None:
                continue
            if e.action == "register":
                f.registered_by[e.version] = e
            elif e.action == "assign" and e.stage:
                f.ever.setdefault(e.version, set()).add(e.stage)
            elif e.label is not None:
                f.labelling.setdefault(e.version, []).append((e.action == "label", e.label))
    return found


def _candidate(
    facts: Mapping[str, _Facts],
    v: Version,
    state: VersionState,
    authors: Mapping[str, tuple[str, int]],
) -> tuple[Version, Candidate]:
    f = facts[v.name]
    register = f.registered_by.get(v.version)
    raw = v.meta.get("labels")
    own = [str(x) for x in raw] if isinstance(raw, list) else [str(raw)] if raw else []
    held = set(own)  # given at add, then the events put labels on and take them off
    for on, label in f.labelling.get(v.version, ()):
        if on:
            held.add(label)
        else:
            held.discard(label)
    labels = tuple(sorted(held))
    inputs: list[str] = []
    for item in v.meta.get("inputs") or ():
        if isinstance(item, Mapping):
            inputs += [str(item.get("path")), str(item.get("oid"))]
    author, seconds = authors.get(state.commit, ("", 0))
    date = datetime.fromtimestamp(seconds, timezone.utc)
    if register is not None:
        author, date = register.who, register.date
    candidate = Candidate(
        v.name,
        v.version,
        state.stages,
        tuple(sorted(f.ever.get(v.version, ()))),
        author,
        date,
        labels,
        tuple(inputs),
        v.path,
        v.oid,
        v.commit,
        v.size,
        v.meta,
    )
    return v, candidate


def _history_states(
    repo: Repo, registry: Registry, names: Sequence[str], known: Sequence[VersionState]
) -> list[VersionState]:
    """A version for each commit of HEAD's history that changed a named artifact's pointer
    and is not registered already, labelled by its short commit (as GTO names one)."""
    seen = {(s.name, s.commit) for s in known}
    commits = githistory.rev_list(repo.root, ["HEAD"]) if git.head_commit(repo.root) else []
    changes = githistory.pointer_blobs_in(repo.root, commits)
    blobs = git.read_blobs(repo.root, {sha for _, _, sha in changes}, pointer.MAX_SIZE)
    wanted = set(names)
    found: list[VersionState] = []
    for commit, path, sha in changes:
        data = blobs.get(sha)
        if data is None:
            continue
        artifact = pointer.artifact_path(path)
        try:
            name = registry_name(artifact, bulk.parse(data, f"{commit[:12]}:{path}"))
        except GitmvError:
            continue
        if name in wanted and (name, commit) not in seen:
            seen.add((name, commit))
            state = registry.artifacts.get(name)
            held = state.version(commit) if state else None
            stages = held.stages if held else ()
            found.append(VersionState(name, commit[:12], commit, False, True, stages))
    return found
