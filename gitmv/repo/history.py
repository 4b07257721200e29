"""History for gc: names for its reports, and its grace period on remotes.

The pointers of history themselves are read by gitmv.repo.pointers (`history_files`, one
pass over every distinct pointer blob). Names for reports ("model.pt @ 1a2b3c4") come from
a second, slower pass (a diff of every commit), run only when there is something to name.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitmv.base import git, githistory
from gitmv.base.errors import GitmvError
from gitmv.repo import pointers
from gitmv.repo.context import Repo
from gitmv.store import manifest, pointer
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid
from gitmv.store.pointer import extra_objects

_MANIFEST_START = b'{"path": '
DEFAULT_GRACE = 14 * 86400.0  # git's own prune horizon (gc.pruneExpire = 2.weeks.ago)
_UNITS = {
    "second": 1,
    "sec": 1,
    "s": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "h": 3600,
    "day": 86400,
    "d": 86400,
    "week": 7 * 86400,
    "w": 7 * 86400,
}
_GRACE = re.compile(r"^(\d+(?:\.\d+)?)[ .]?([a-z]*?)s?(?:\.ago)?$")


def resolve_revs(repo: Repo, revs: Iterable[str]) -> list[str]:
    """Each user-given revision as a commit sha (an unknown one is an error)."""
    return sorted({git.rev_commit(repo.root, rev) for rev in revs})


@dataclass(frozen=True)
class Label:
    path: str  # the artifact (or a file inside a folder artifact)
    commit: str  # abbreviated sha of the newest commit naming it


def labels(repo: Repo, cache: Cache, oids: Iterable[Oid], revs: Sequence[str]) -> dict[Oid, Label]:
    """For each of `oids` that a commit reachable from `revs` names: a path and the newest
    such commit. Folder files are named through their manifest when the cache has it."""
    wanted = set(oids)
    if not wanted:
        return {}
    commits = githistory.rev_list(repo.root, revs)
    found: dict[Oid, Label] = {}
    read = manifest.cache_reader(cache)
    for commit, f in pointers.commit_files(repo, commits):  # newest commit first
        try:
            p = f.parse()
        except GitmvError:
            continue  # a name is a courtesy: a broken pointer names nothing
        artifact = f.artifact
        named = {p.oid: (p.kind, artifact)}
        for oid in _extras(p):
            named.setdefault(oid, ("file", f"{artifact} (package list)"))
        for oid, name in manifest.expand(named, read).where.items():  # a folder: its files
            if oid in wanted and oid not in found:
                found[oid] = Label(name, commit[:7])
        if len(found) == len(wanted):
            break
    return found


def _extras(p: pointer.Pointer) -> list[Oid]:
    try:
        return list(extra_objects(p.meta))
    except GitmvError:
        return []


def known_names(repo: Repo, cache: Cache, oids: Iterable[Oid]) -> dict[Oid, str]:
    """A name for objects no commit names: the path the stat cache last saw with those
    bytes, else the place inside a (likewise unneeded) folder manifest in the cache."""
    wanted = set(oids)
    found: dict[Oid, str] = {}
    with contextlib.suppress(Exception):  # a name is a courtesy; the stat cache may be busy
        root = str(repo.root)
        for path, (_, text) in repo.state.get_under(root).items():
            with contextlib.suppress(GitmvError):
                oid = Oid.parse(text)
                if oid in wanted:
                    found.setdefault(oid, path[len(root) + 1 :])
    for oid in sorted(wanted):
        if not cache.has(oid) or _size(cache, oid) > manifest_limit():
            continue
        with contextlib.suppress(GitmvError, OSError):
            with cache.open(oid) as f:  # a manifest is known by its first bytes
                if f.read(len(_MANIFEST_START)) != _MANIFEST_START:
                    continue
            entries = manifest.decode(cache.read_bytes(oid), str(oid))
            folder = found.get(oid)
            found.setdefault(oid, "a folder's manifest")
            for e in entries:
                if e.oid in wanted:
                    name = f"{folder}/{e.path}" if folder else f"{e.path} in a folder"
                    found.setdefault(e.oid, name)
    return found


def manifest_limit() -> int:
    return 64 * 1024 * 1024


def _size(cache: Cache, oid: Oid) -> int:
    try:
        return cache.path(oid).stat().st_size
    except OSError:
        return 0


def parse_grace(value: object) -> float:
    """`gc.remote_grace` in seconds: a number of seconds, or git-like text such as
    "14.days", "2.weeks", "3 hours", "2.weeks.ago", "now"."""
    if isinstance(value, bool):
        raise _bad_grace(value)
    if isinstance(value, (int, float)):
        if value < 0:
            raise _bad_grace(value)
        return float(value)
    if not isinstance(value, str):
        raise _bad_grace(value)
    text = value.strip().lower()
    if text in ("now", "0"):
        return 0.0
    match = _GRACE.match(text)
    if match is None:
        raise _bad_grace(value)
    number, unit = float(match.group(1)), match.group(2) or "second"
    if unit not in _UNITS:
        raise _bad_grace(value)
    return number * _UNITS[unit]


def grace_of(repo: Repo) -> float:
    """The configured `gc.remote_grace` in seconds (DEFAULT_GRACE when unset)."""
    value = repo.config.get("gc.remote_grace")
    return DEFAULT_GRACE if value is None else parse_grace(value)


def _bad_grace(value: object) -> GitmvError:
    return GitmvError(
        f"gc.remote_grace is {value!r}: not a duration",
        hint='give seconds (e.g. 1209600) or text such as "14.days", "2.weeks", "12.hours"',
    )
