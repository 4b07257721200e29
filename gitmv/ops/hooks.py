"""Git hooks: each hook mapped to the verbs it runs (the shims live in gitmv.hooks.install).

pre-push       -> push (ops.push) of the pointers the pushed commits add or change
post-checkout  -> restore: check out the artifacts whose pointers changed, then pull
post-merge        (ops.pull) those the cache lacks, when `checkout.autopull` is on
post-rewrite

Nothing here prints: each entry point returns a report the CLI renders.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitmv.base import git
from gitmv.base.errors import GitmvError, RemoteError
from gitmv.hooks.check import HOOKS, MARKER, is_ours
from gitmv.repo.pointers import pointers_to_push, read_pointer
from gitmv.store import pointer

if TYPE_CHECKING:
    from gitmv.base.progress import Progress
    from gitmv.hooks.install import (
        HookChange,
        InstallReport,
        install,
        install_global,
        install_into,
        render_shim,
        uninstall,
        uninstall_from,
        uninstall_global,
    )
    from gitmv.ops.fetch import FetchReport
    from gitmv.ops.pull import PullReport
    from gitmv.ops.push import PushReport
    from gitmv.repo.context import Repo
    from gitmv.store.pointer import Pointer

# The install side lives in gitmv.hooks.install, and callers reach it from here too; it is
# loaded when first asked for (PEP 562), as are the checkout verbs (in `restore`): a hook
# with no pointer to restore or upload, run by git on every checkout and push, needs neither.
_INSTALL_NAMES = frozenset(
    [
        "HookChange",
        "InstallReport",
        "install",
        "install_global",
        "install_into",
        "render_shim",
        "uninstall",
        "uninstall_from",
        "uninstall_global",
    ]
)


def __getattr__(name: str) -> object:
    if name in _INSTALL_NAMES:
        from gitmv.hooks import install as _install

        return getattr(_install, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HOOKS",
    "MARKER",
    "HookChange",
    "InstallReport",
    "PrePushReport",
    "PushedRef",
    "RestoreReport",
    "install",
    "install_global",
    "install_into",
    "is_ours",
    "parse_push_lines",
    "post_checkout",
    "post_merge",
    "post_rewrite",
    "pre_push",
    "render_shim",
    "restore",
    "uninstall",
    "uninstall_from",
    "uninstall_global",
]

# -- pre-push --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushedRef:
    """One line git writes on pre-push's stdin."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str


@dataclass(frozen=True)
class PrePushReport:
    versions: int  # artifact versions the pushed commits add or change
    result: PushReport | None = None  # None when there was nothing to upload

    @property
    def refused(self) -> bool:
        return self.result is not None and not self.result.ok


def parse_push_lines(lines: Iterable[str]) -> list[PushedRef]:
    refs = []
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise GitmvError(f"pre-push: cannot read git's line {line!r}")
        refs.append(PushedRef(*parts))
    return refs


def pre_push(
    repo: Repo,
    remote_name: str,
    remote_url: str,
    lines: Iterable[str],
    *,
    progress: Progress | None = None,
) -> PrePushReport:
    """Upload what the pushed commits' pointers name to the default gitmv remote.

    When those commits change no pointer, return before importing any remote code.
    `remote_url` is git's, for the record: the bytes go to gitmv's default remote.
    """
    found = pointers_to_push(repo, remote_name, parse_push_lines(lines))
    if not found:
        return PrePushReport(0)
    # imported only now: a push that changes no pointer must not pay for them
    from gitmv.ops.push import push_pointers
    from gitmv.ops.session import open_session

    try:
        session = open_session(repo, None)
    except RemoteError as exc:
        raise GitmvError(
            f"push refused: the commits being pushed to {remote_name} add "
            f"{_plural(len(found), 'artifact version')}, and {exc.message} to upload "
            "their bytes to",
            hint="`gitmv remote add NAME URL --default`, then push again "
            "(`git push --no-verify` publishes the pointers without their bytes)",
        ) from None
    try:
        result = push_pointers(repo, session, found, progress=progress)
    except RemoteError as exc:  # unreachable, unwritable: before any object moved
        hint = f"{exc.hint}; " if exc.hint else ""
        raise RemoteError(
            f"push refused: {exc.message}",
            hint=f"{hint}`git push --no-verify` publishes the pointers without their bytes",
        ) from None
    return PrePushReport(len(found), result)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


# -- post-checkout, post-merge, post-rewrite -------------------------------------------------


@dataclass
class RestoreReport:
    restored: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # the checkout took their pointer away
    modified: list[str] = field(default_factory=list)  # left alone: bytes found nowhere else
    not_cached: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what went wrong, one line each
    fetched: FetchReport | None = None


def post_checkout(
    repo: Repo, prev: str, new: str, flag: str, *, progress: Progress | None = None
) -> RestoreReport:
    """After a branch checkout (flag 1): restore the artifacts whose pointers differ."""
    if flag != "1" or prev == new:
        return RestoreReport()  # a file checkout, or `git switch -c`: the pointers are as they were
    if git.is_null_sha(prev):  # a clone or `git worktree add`: everything is new
        everything = [path for path, _ in git.ls_tree_pointers(repo.root, new)]
        return restore(repo, everything, progress=progress)
    if _rebasing(repo) and not git.is_ancestor(repo.root, prev, new):
        # The checkout that starts a rebase: post-rewrite restores once, at its end. A
        # fast-forward rebase replays nothing and runs no post-rewrite: restore it now.
        return RestoreReport()
    return restore(repo, git.changed_pointer_files(repo.root, prev, new), progress=progress)


def post_merge(repo: Repo, squash: str, *, progress: Progress | None = None) -> RestoreReport:
    if squash == "1":  # HEAD has not moved: the merge is in the index
        return restore(repo, git.staged_pointer_files(repo.root), progress=progress)
    changed = _changed_since(repo, [git.commit_or_none(repo.root, "ORIG_HEAD")])
    return restore(repo, changed, progress=progress)


def post_rewrite(repo: Repo, command: str, *, progress: Progress | None = None) -> RestoreReport:
    """After a rebase, restore once; `commit --amend` leaves the work tree as it was."""
    if command != "rebase":
        return RestoreReport()
    # ORIG_HEAD is where the branch was, and so where its artifacts still are, unless the
    # old `--apply` backend restored the upstream's when the rebase began: the fork point
    # covers what either side changed.
    orig = git.commit_or_none(repo.root, "ORIG_HEAD")
    head = git.head_commit(repo.root)
    fork = git.merge_base(repo.root, orig, head) if orig and head else None
    return restore(repo, _changed_since(repo, [orig, fork]), progress=progress)


def _changed_since(repo: Repo, bases: Sequence[str | None]) -> list[str]:
    """Pointer files that differ between any of `bases` and HEAD."""
    head = git.head_commit(repo.root)
    if head is None:
        return []
    known = [b for b in bases if b]
    if not known:  # nothing to compare with: check every pointer of HEAD
        return [path for path, _ in git.ls_tree_pointers(repo.root, head)]
    changed: dict[str, None] = {}
    for base in known:
        changed.update(dict.fromkeys(git.changed_pointer_files(repo.root, base, head)))
    return list(changed)


def _rebasing(repo: Repo) -> bool:
    return any((repo.paths.git_dir / d).is_dir() for d in ("rebase-merge", "rebase-apply"))


def restore(
    repo: Repo, pointer_files: Sequence[str], *, progress: Progress | None = None
) -> RestoreReport:
    """Make the artifacts of these (root-relative) pointer files match the work tree's pointers.

    A pointer file that is gone takes its artifact with it, if the cache holds the bytes.
    Missing objects are fetched from the default remote when `checkout.autopull` is on.
    """
    report = RestoreReport()
    present: list[str] = []
    gone: list[str] = []
    for name in dict.fromkeys(pointer_files):
        (present if os.path.isfile(repo.root / name) else gone).append(name)
    if gone:
        # imported only here and below: a checkout that changes no pointer must not pay for them
        from gitmv.workspace.checkout import discard

        artifacts = [pointer.artifact_path(name) for name in gone]
        in_git = set(git.tracked_files(repo.root, artifacts))
        report.removed, kept = discard(repo, [a for a in artifacts if a not in in_git])
        report.modified.extend(kept)
    wanted = _readable(repo, [pointer.artifact_path(name) for name in present], report)
    if not wanted:
        return report
    from gitmv.ops.checkout import checkout

    first = checkout(repo, [repo.display(a) for a, _ in wanted])
    report.restored.extend(first.restored)
    report.modified.extend(first.modified)
    if first.not_cached and _autopull(repo):
        lacking = set(first.not_cached)
        missing = [(a, p) for a, p in wanted if a in lacking]
        shown = [repo.display(a) for a, _ in missing]
        pulled = _pull(repo, missing, shown, report, progress)
        # a pull that stopped before its checkout: check out what did arrive
        second = pulled.checkout if pulled and pulled.checkout else checkout(repo, shown)
        report.restored.extend(second.restored)
        report.modified.extend(second.modified)
        report.not_cached.extend(second.not_cached)
    else:
        report.not_cached.extend(first.not_cached)
    return report


def _readable(
    repo: Repo, artifacts: Sequence[str], report: RestoreReport
) -> list[tuple[str, Pointer]]:
    """The pointers that parse; each one that does not becomes a problem, not a failure."""
    found = []
    for artifact in artifacts:
        try:
            found.append((artifact, read_pointer(repo, artifact)))
        except GitmvError as exc:
            report.problems.append(exc.message + (f" ({exc.hint})" if exc.hint else ""))
    return found


def _autopull(repo: Repo) -> bool:
    return repo.config.flag("checkout.autopull", True)


def _pull(
    repo: Repo,
    missing: Sequence[tuple[str, Pointer]],
    paths: Sequence[str],
    report: RestoreReport,
    progress: Progress | None,
) -> PullReport | None:
    """Pull the artifacts the cache lacks from the default remote; what goes wrong becomes
    a problem in `report` (git is done already: a hook only warns)."""
    # imported only now: a checkout that restores nothing must not pay for them
    from gitmv.ops.pull import pull_pointers
    from gitmv.ops.session import open_session

    try:
        pulled = pull_pointers(repo, open_session(repo, None), missing, paths, progress=progress)
    except GitmvError as exc:
        report.problems.append(
            f"cannot fetch missing objects: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        )
        return None
    report.fetched = pulled.fetched
    for oid in pulled.healed:
        report.problems.append(f"cache object {oid} was corrupt; downloaded it again")
    for fetched in (pulled.fetched, pulled.refetched):
        if fetched is None:
            continue
        if fetched.aborted:
            report.problems.append(f"fetch from {fetched.remote} stopped: {fetched.aborted}")
        for failure in fetched.failed:
            report.problems.append(f"{failure.path} ({failure.oid}): {failure.reason}")
    return pulled
