"""Registry events: register a version, assign, withdraw and roll back stages, as GTO tags.

Every event is checked before its tag is written, so bad input creates no tag. A version
is never promoted without its bytes: where a default remote is configured, its objects
(and its inputs') must be there first, unless `force` is given, which the tag then says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitmv.base import git
from gitmv.base.errors import GitmvError
from gitmv.registry.artifacts import artifact_at, registry_name
from gitmv.registry.grammar import SemVer, TagName, check_name, check_stage, is_version
from gitmv.registry.tags import ArtifactState, Registry, load
from gitmv.repo.context import Repo
from gitmv.store.hashing import Oid
from gitmv.store.layout import list_key
from gitmv.store.pointer import Pointer

BUMPS = ("major", "minor", "patch")


@dataclass(frozen=True)
class Backup:
    """Whether a version's objects are on the default remote, checked before promoting it."""

    remote: str | None  # the default remote's label; None when none is configured
    missing: tuple[str, ...] = ()  # `path (oid)` of each object the remote lacks
    forced: bool = False

    @property
    def note(self) -> str:
        """The line a forced tag's message carries, so the override is on record."""
        if not self.forced:
            return ""
        return f"gitmv: --force: not verified on remote {self.remote}: " + ", ".join(self.missing)


@dataclass(frozen=True)
class Outcome:
    """What a registry command did: the tags it created (in order), and the backup check."""

    name: str
    version: str | None
    stage: str | None
    tags: tuple[str, ...]
    backup: Backup | None = None
    withdrawn: tuple[str, ...] = ()  # versions a stage was taken from


Clock = Callable[[], float]


# -- register --------------------------------------------------------------------------------


def register(
    repo: Repo,
    name: str,
    rev: str = "HEAD",
    *,
    version: str | None = None,
    bump: str | None = None,
    message: str | None = None,
    force: bool = False,
) -> Outcome:
    check_name(name)
    if version is not None and bump is not None:
        raise GitmvError("give either --version or --bump, not both")
    commit = git.rev_commit(repo.root, rev)
    path, found = artifact_at(repo, name, commit)
    registry = load(repo)
    artifact = registry.artifacts.get(name)
    label = _next_version(name, artifact, version, bump)
    if artifact is not None:
        taken = next(
            (v for v in artifact.versions if v.commit == commit and v.registered and v.active),
            None,
        )
        if taken is not None:
            # GTO finds a stage's version by its commit: two versions at one commit break it.
            raise GitmvError(
                f"commit {commit[:12]} is already registered as {name}@{taken.version}",
                hint="commit the new artifact first, then register that commit",
            )
    tag = TagName(name, "register", version=label)
    _refuse_existing(registry, str(tag))
    backup = check_backup(repo, path, found, force)
    text = message or f"Registering artifact {name} version {label}"
    _create(repo, str(tag), commit, text, backup)
    return Outcome(name, label, None, (str(tag),), backup)


def _next_version(
    name: str, artifact: ArtifactState | None, version: str | None, bump: str | None
) -> str:
    versions = [
        SemVer.parse(v.version)
        for v in (artifact.versions if artifact else ())
        if v.registered and is_version(v.version)
    ]
    highest = max(versions, key=SemVer.key, default=None)
    if version is not None:
        wanted = SemVer.parse(version)
        if any(str(v) == version for v in versions):
            raise GitmvError(
                f"{name}@{version} is already registered",
                hint=f"register a higher version, e.g. --version {_bumped(highest, 'patch')}",
            )
        if highest is not None and wanted.key() <= highest.key():
            raise GitmvError(
                f"{version} would go backwards: {name} already has {highest}",
                hint=f"register a higher version, e.g. --version {_bumped(highest, 'patch')}",
            )
        return str(wanted)
    if bump is not None and bump not in BUMPS:
        raise GitmvError(f"unknown --bump {bump!r}", hint="use major, minor or patch")
    # GTO's rule: the first version is v0.0.1 unless a bump says otherwise; then a patch bump.
    return _bumped(highest, bump or "patch")


def _bumped(highest: SemVer | None, part: str) -> str:
    return str((highest or SemVer(0, 0, 0)).bump(part))


# -- assign, unassign, rollback --------------------------------------------------------------


def assign(
    repo: Repo,
    name: str,
    stage: str,
    *,
    version: str | None = None,
    message: str | None = None,
    force: bool = False,
) -> Outcome:
    """Give `stage` to `version` (default: the latest). A no-op if it already holds it."""
    check_stage(stage)
    registry = load(repo)
    artifact = registry.artifact(name)
    label = _registered(artifact, version)
    if artifact.stages.get(stage) == label:
        return Outcome(name, label, stage, ())
    commit = _commit_of(artifact, label)
    path, found = artifact_at(repo, name, commit)
    backup = check_backup(repo, path, found, force)
    tag = str(TagName(name, "assign", stage=stage, counter=_next_counter(registry, name)))
    _refuse_existing(registry, tag)
    text = message or f"Assigning stage {stage} to artifact {name} version {label}"
    _wait_for_next_second(artifact)
    _create(repo, tag, commit, text, backup)
    return Outcome(name, label, stage, (tag,), backup)


def unassign(repo: Repo, name: str, stage: str, *, message: str | None = None) -> Outcome:
    """Take `stage` away: withdraw every assignment still in effect, so no version holds it.

    (Withdrawing only the holder's would hand the stage back to the one before it, which
    is what `rollback` is for.)
    """
    check_stage(stage)
    registry = load(repo)
    artifact = registry.artifact(name)
    holders = artifact.active_assignments(stage)
    if not holders:
        raise GitmvError(
            f"no version of {name} is in stage {stage!r}",
            hint=f"stages in use: {', '.join(sorted(artifact.stages)) or 'none'}",
        )
    _wait_for_next_second(artifact)
    tags = []
    counter = _next_counter(registry, name)
    for label, _ in holders:
        tag = str(TagName(name, "unassign", stage=stage, counter=counter))
        _refuse_existing(registry, tag)
        text = message or f"Unassigning stage '{stage}' to artifact '{name}' version '{label}'"
        _create(repo, tag, _commit_of(artifact, label), text, None)
        tags.append(tag)
        counter += 1
    return Outcome(name, holders[0][0], stage, tuple(tags), withdrawn=tuple(v for v, _ in holders))


def rollback(
    repo: Repo, name: str, stage: str, *, message: str | None = None, force: bool = False
) -> Outcome:
    """Give `stage` back to the version that held it before the current one.

    The current holder's assignment is withdrawn (`NAME#STAGE!#N`) and the earlier version
    assigned afresh (`NAME#STAGE#N+1`), so every reader, GTO included, whether it orders
    stages by time or by version, agrees on the result, and the history says who did it.
    """
    check_stage(stage)
    registry = load(repo)
    artifact = registry.artifact(name)
    holders = artifact.active_assignments(stage)
    if not holders:
        raise GitmvError(
            f"no version of {name} is in stage {stage!r}; there is nothing to roll back",
            hint=f"assign one: gitmv registry assign {name} --stage {stage} --version vX.Y.Z",
        )
    current = holders[0][0]
    previous = next((label for label, _ in holders[1:] if label != current), None)
    if previous is None:
        raise GitmvError(
            f"no earlier version of {name} held stage {stage!r} (only {current} has)",
            hint=f"withdraw the stage instead: gitmv registry unassign {name} --stage {stage}",
        )
    commit = _commit_of(artifact, previous)
    path, found = artifact_at(repo, name, commit)
    backup = check_backup(repo, path, found, force)
    counter = _next_counter(registry, name)
    off = str(TagName(name, "unassign", stage=stage, counter=counter))
    on = str(TagName(name, "assign", stage=stage, counter=counter + 1))
    _refuse_existing(registry, off)
    _refuse_existing(registry, on)
    reason = message or f"roll back {stage} from {current} to {previous}"
    _wait_for_next_second(artifact)
    off_text = f"Unassigning stage '{stage}' to artifact '{name}' version '{current}'"
    # Same second is fine here: the two tags concern different versions, and the counter
    # orders them for anyone who looks.
    _create(repo, off, _commit_of(artifact, current), f"{off_text}\n\n{reason}", None)
    on_text = f"Assigning stage {stage} to artifact {name} version {previous}"
    _create(repo, on, commit, f"{on_text}\n\n{reason}", backup)
    return Outcome(name, previous, stage, (off, on), backup, withdrawn=(current,))


def _registered(artifact: ArtifactState, version: str | None) -> str:
    if version is None:
        if artifact.latest is None:
            raise GitmvError(
                f"{artifact.name} has no registered version",
                hint=f"register one: gitmv registry register {artifact.name}",
            )
        return artifact.latest
    SemVer.parse(version)
    found = artifact.version(version)
    if found is None or not found.registered:
        known = ", ".join(v.version for v in artifact.versions if v.registered) or "none"
        raise GitmvError(f"{artifact.name} has no version {version}", hint=f"versions: {known}")
    if not found.active:
        raise GitmvError(
            f"{artifact.name}@{version} was deregistered", hint="assign a registered version"
        )
    return version


def _commit_of(artifact: ArtifactState, label: str) -> str:
    found = artifact.version(label)
    if found is None:
        raise GitmvError(f"{artifact.name} has no version {label}")
    return found.commit


def _next_counter(registry: Registry, name: str) -> int:
    """GTO's rule: one counter per name, across all its stages: the highest so far, plus one."""
    artifact = registry.artifacts.get(name)
    events = artifact.events if artifact else ()
    return max((e.counter or 0 for e in events), default=0) + 1


def _refuse_existing(registry: Registry, tag: str) -> None:
    if tag in registry.tags:
        raise GitmvError(
            f"tag {tag} already exists",
            hint="another registry event got there first; run the command again",
        )


def _create(repo: Repo, tag: str, commit: str, message: str, backup: Backup | None) -> None:
    if backup is not None and backup.note:
        message = f"{message}\n\n{backup.note}"
    git.create_annotated_tag(repo.root, tag, commit, message + "\n")


def _wait_for_next_second(
    artifact: ArtifactState | None,
    clock: Clock = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Start each stage event of a name in a later second than the one before.

    Tag dates have one-second resolution and GTO orders stage events by date alone, so two
    assignments of one name in the same second could read back in either order. Waiting out
    the rest of the second (only ever that, and only when it is needed) keeps them apart.
    """
    stamps = [int(e.date.timestamp()) for e in artifact.events if e.stage] if artifact else []
    now = clock()
    if stamps and max(stamps) == int(now):  # a clock skewed further is not worth waiting for
        sleep(int(now) + 1 - now + 0.01)


# -- the bytes must be on the remote ---------------------------------------------------------


def version_objects(path: str, found: Pointer) -> list[tuple[str, Oid]]:
    """The top objects a version needs: its own, and each input's (a folder's manifest
    stands for its files: a push uploads the manifest last)."""
    objects = [(path, found.oid)]
    meta = found.meta if isinstance(found.meta, dict) else {}
    for item in meta.get("inputs") or ():
        if isinstance(item, dict) and isinstance(item.get("oid"), str):
            try:
                objects.append((str(item.get("path", "?")), Oid.parse(item["oid"])))
            except GitmvError:
                continue  # a malformed input oid names nothing a remote could hold
    return objects


def check_backup(repo: Repo, path: str, found: Pointer, force: bool) -> Backup:
    """Refuse to promote a version whose bytes the default remote lacks (unless forced)."""
    remote_name = repo.config.get("core.remote")
    if not remote_name:
        return Backup(None)
    from gitmv.ops.session import open_session
    from gitmv.remotes.folder import FolderRemote  # the remote stack is imported only when needed

    remote = open_session(repo, None).remote
    objects = version_objects(path, found)
    try:
        if not isinstance(remote, FolderRemote):  # a folder not made yet simply lacks them all
            remote.check()
        present = remote.has_many(oid for _, oid in objects)
        absent = [(p, oid) for p, oid in objects if oid not in present]
        if absent:  # a large file may be stored as a chunk list instead (DESIGN 3.1)
            chunked = remote.has_keys(list_key(oid) for _, oid in absent)
            absent = [(p, oid) for p, oid in absent if list_key(oid) not in chunked]
    except GitmvError as exc:
        if force:
            return Backup(remote.label, (f"(remote not checked: {exc.message})",), forced=True)
        raise
    missing = tuple(f"{p} ({oid})" for p, oid in absent)
    if missing and not force:
        raise GitmvError(
            f"remote {remote.label} lacks {len(missing)} object"
            f"{'s' if len(missing) != 1 else ''} of {registry_name(path, found)}: "
            + ", ".join(missing),
            hint="run `gitmv push` first (or pass --force to promote it anyway)",
        )
    return Backup(remote.label, missing, forced=force and bool(missing))


def describe(outcome: Outcome) -> dict[str, Any]:
    """The outcome as JSON-ready data, for `--json` and for scripts."""
    backup = outcome.backup
    return {
        "name": outcome.name,
        "version": outcome.version,
        "stage": outcome.stage,
        "tags": list(outcome.tags),
        "withdrawn": list(outcome.withdrawn),
        "remote": backup.remote if backup else None,
        "backed_up": None if backup is None or backup.remote is None else not backup.missing,
        "forced": bool(backup and backup.forced),
    }
