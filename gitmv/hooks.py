"""Git hooks: the shims `gitmv install` writes, and what each hook does when git runs it.

A shim is a few lines of POSIX sh that run the hook that was there before (moved beside
it as `<hook>.legacy`, the name pre-commit uses too) and then `gitmv hook NAME "$@"`.
The work happens here: pre-push uploads the objects of the pointers being published;
post-checkout, post-merge and post-rewrite materialize the artifacts whose pointers
changed. Nothing here prints: each entry point returns a report the CLI renders.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitmv import git, pointer, workspace
from gitmv.atomic import write_bytes
from gitmv.config import user_file
from gitmv.errors import GitmvError, PointerError, RemoteError
from gitmv.pointer import Pointer
from gitmv.repo import Repo

if TYPE_CHECKING:
    from gitmv.transfer import Progress, TransferResult

HOOKS = ("pre-push", "post-checkout", "post-merge", "post-rewrite")
MARKER = "# gitmv hook shim"  # how a shim is told from a user's hook
LEGACY = ".legacy"
_STDIN_HOOKS = frozenset({"pre-push", "post-rewrite"})  # git writes lines on their stdin
_SHIM_MODE = 0o755

# -- shims -----------------------------------------------------------------------------------

_SHIM = """\
#!/bin/sh
{marker}: `gitmv install` wrote this file; `gitmv uninstall` removes it.
# Runs the hook that was here before (kept beside it as {name}.legacy), then
# `gitmv hook {name}`; does nothing more in a repository without .gitmv/.
# When gitmv is not on PATH, the interpreter that installed this shim is tried.
GITMV_PYTHON={python}
{stdin}
status=0
if [ -x "$0.legacy" ]; then
    {feed}"$0.legacy" "$@" || {legacy_failed}
fi
[ -f .gitmv/config.yaml ] || exit $status
if command -v gitmv >/dev/null 2>&1; then
    {feed}gitmv hook {name} "$@" || {gitmv_failed}
elif [ -x "$GITMV_PYTHON" ] && "$GITMV_PYTHON" -c 'import gitmv' 2>/dev/null; then
    {feed}"$GITMV_PYTHON" -m gitmv hook {name} "$@" || {gitmv_failed}
else
{missing}
fi
exit $status
"""

_STDIN = """
# git writes lines on stdin that both the old hook and gitmv read: keep them to replay.
input=$(cat)
replay() {
    if [ -n "$input" ]; then printf '%s\\n' "$input"; fi
}"""

# pre-push refuses when gitmv cannot run: a pointer must never be published without its
# bytes. The post-* hooks never fail git: the work tree is already switched.
_MISSING_STRICT = """\
    echo "error: gitmv is not installed here (nor on PATH): refusing the push, so that \
no pointer is published without its bytes" >&2
    echo "hint: install gitmv or activate its virtualenv; \\`gitmv uninstall\\` removes \
its hooks" >&2
    exit 1"""

_MISSING_LENIENT = """\
    echo "warning: gitmv is not installed here (nor on PATH): artifacts were not \
restored" >&2
    echo "hint: install gitmv or activate its virtualenv, then run \\`gitmv checkout\\`" >&2"""


def render_shim(name: str, python: str) -> str:
    """The shim for hook `name`; `python` ("" for none) is the fallback interpreter."""
    strict = name == "pre-push"
    return _SHIM.format(
        marker=MARKER,
        name=name,
        python=shlex.quote(python),
        stdin=_STDIN if name in _STDIN_HOOKS else "",
        feed="replay | " if name in _STDIN_HOOKS else "",
        legacy_failed="exit $?" if strict else "status=$?",
        gitmv_failed="exit $?" if strict else ":",
        missing=_MISSING_STRICT if strict else _MISSING_LENIENT,
    )


def is_ours(path: Path) -> bool:
    """Whether `path` is a gitmv shim (any version), by its marker line."""
    try:
        with open(path, "rb") as f:
            return MARKER.encode() in f.read(64 * 1024)
    except OSError:
        return False


# -- install / uninstall ---------------------------------------------------------------------


@dataclass(frozen=True)
class HookChange:
    hook: str
    path: Path
    # installed | chained (the hook that was there now runs first, from .legacy) | updated |
    # unchanged | removed | restored (.legacy moved back) | foreign (not ours: left alone) |
    # absent
    action: str


@dataclass(frozen=True)
class InstallReport:
    folder: Path  # where the hooks are
    changes: tuple[HookChange, ...]
    template: Path | None = None  # install --global: the git template folder
    note: str | None = None  # something the user should know (a setting that shadows ours)


def install(repo: Repo, *, python: str = sys.executable) -> InstallReport:
    """Install the shims where git looks for this repository's hooks (core.hooksPath honoured)."""
    folder = git.hooks_dir(repo.root)
    return InstallReport(folder, tuple(install_into(folder, python)))


def uninstall(repo: Repo) -> InstallReport:
    folder = git.hooks_dir(repo.root)
    return InstallReport(folder, tuple(uninstall_from(folder)))


def install_global(*, python: str = sys.executable) -> InstallReport:
    """Put the shims in git's template folder, so every later `git clone` / `git init` has them.

    An `init.templateDir` the user already set is used as it is; otherwise gitmv sets one of
    its own (which, unlike git's built-in template, holds only the hooks).
    """
    configured = _configured_template()
    template = configured or _own_template()
    changes = install_into(template / "hooks", python)
    if configured is None:
        git.global_config_set("init.templateDir", str(template))
    note = None
    if os.environ.get("GIT_TEMPLATE_DIR"):
        note = "GIT_TEMPLATE_DIR is set in your environment and wins over init.templateDir"
    return InstallReport(template / "hooks", tuple(changes), template, note)


def uninstall_global() -> InstallReport:
    template = _configured_template()
    if template is None:
        return InstallReport(_own_template() / "hooks", ())
    folder = template / "hooks"
    changes = uninstall_from(folder)
    if template == _own_template():  # ours alone: leave no empty folder or setting behind
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        if template.is_dir() and not any(template.iterdir()):
            template.rmdir()
        git.global_config_unset("init.templateDir")
    return InstallReport(folder, tuple(changes), template)


def _configured_template() -> Path | None:
    value = git.global_config_get("init.templateDir")
    return Path(os.path.expanduser(value)) if value else None


def _own_template() -> Path:
    return user_file().parent / "git-template"


def install_into(folder: Path, python: str) -> list[HookChange]:
    """Install every shim in `folder`; plan all first, so a conflict leaves nothing half done."""
    plans = [_plan_install(folder / name, render_shim(name, python)) for name in HOOKS]
    folder.mkdir(parents=True, exist_ok=True)
    for change, target, text in plans:
        if change.action == "chained":
            os.replace(change.path, _legacy(change.path))
        if change.action in ("installed", "chained", "updated"):
            write_bytes(target, text.encode(), _SHIM_MODE)
    return [change for change, _, _ in plans]


def _plan_install(path: Path, text: str) -> tuple[HookChange, Path, str]:
    hook, legacy = path.name, _legacy(path)
    if is_ours(path):
        action = "unchanged" if _read(path) == text else "updated"
        return HookChange(hook, path, action), path, text
    if is_ours(legacy):  # another hook manager moved our shim aside and runs it: still chained
        action = "unchanged" if _read(legacy) == text else "updated"
        return HookChange(hook, path, action), legacy, text
    if os.path.lexists(legacy):
        # Moving the hook would destroy the .legacy file, and a new shim would start
        # running a .legacy that git has not been running: either way, not ours to decide.
        raise GitmvError(
            f"cannot install the {hook} hook: {legacy} already exists",
            hint="another hook manager chains hooks there; add gitmv to it (pre-commit: "
            "see docs/hooks.md), or merge the two by hand",
        )
    if os.path.lexists(path):
        return HookChange(hook, path, "chained"), path, text
    return HookChange(hook, path, "installed"), path, text


def uninstall_from(folder: Path) -> list[HookChange]:
    """Remove our shims from `folder`, moving each hook that was there before back."""
    changes = []
    for name in HOOKS:
        path = folder / name
        legacy = _legacy(path)
        if is_ours(path):
            os.unlink(path)
            if os.path.lexists(legacy):
                os.replace(legacy, path)
                changes.append(HookChange(name, path, "restored"))
            else:
                changes.append(HookChange(name, path, "removed"))
        elif is_ours(legacy):
            os.unlink(legacy)  # chained under another manager's hook, which runs it if present
            changes.append(HookChange(name, legacy, "removed"))
        elif os.path.lexists(path):
            changes.append(HookChange(name, path, "foreign"))
        else:
            changes.append(HookChange(name, path, "absent"))
    return changes


def _legacy(path: Path) -> Path:
    return path.with_name(path.name + LEGACY)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


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
    result: TransferResult | None = None  # None when there was nothing to upload

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
    from gitmv import transfer  # only now: the remote libraries are slow to import

    try:
        store = transfer.open_named(repo, None)
    except RemoteError as exc:
        raise GitmvError(
            f"push refused: the commits being pushed to {remote_name} add "
            f"{_plural(len(found), 'artifact version')}, and {exc.message} to upload "
            "their bytes to",
            hint="`gitmv remote add NAME URL --default`, then push again "
            "(`git push --no-verify` publishes the pointers without their bytes)",
        ) from None
    jobs = transfer.jobs_for(repo, store, None)
    settings = transfer.settings_for(repo)
    try:
        result = transfer.push(
            repo.cache, store, found, jobs=jobs, progress=progress, settings=settings
        )
    except RemoteError as exc:  # unreachable, unwritable: before any object moved
        hint = f"{exc.hint}; " if exc.hint else ""
        raise RemoteError(
            f"push refused: {exc.message}",
            hint=f"{hint}`git push --no-verify` publishes the pointers without their bytes",
        ) from None
    return PrePushReport(len(found), result)


def pointers_to_push(
    repo: Repo, remote_name: str, refs: Sequence[PushedRef]
) -> list[tuple[str, Pointer]]:
    """(artifact, pointer) for each pointer version the pushed commits add or change.

    Only commits the remote's refs do not reach are read: a push that carries nothing
    new, a tag on a pushed commit among them, reads no commit at all.
    """
    tips = [r.local_sha for r in refs if not _is_zero(r.local_sha)]  # zeros: a deletion
    known = [r.remote_sha for r in refs if not _is_zero(r.remote_sha)]
    commits = git.commits_not_on(repo.root, tips, known, remote_name)
    changes = git.pointer_blobs_in(repo.root, commits)
    if not changes:
        return []
    first: dict[str, tuple[str, str]] = {}  # blob -> (commit, path): each version once
    for commit, path, blob in changes:
        first.setdefault(blob, (commit, path))
    blobs = git.read_blobs(repo.root, list(first), pointer.MAX_SIZE)
    found = []
    for blob, (commit, path) in first.items():
        found.append((pointer.artifact_path(path), _parse_pushed(blobs[blob], commit, path)))
    return found


def _parse_pushed(data: bytes | None, commit: str, path: str) -> Pointer:
    try:
        if data is None:
            raise PointerError(f"{path}: pointer is over the 1 MiB limit")
        return pointer.parse(data, path)
    except PointerError as exc:
        raise PointerError(
            f"push refused: commit {commit[:10]} holds a broken pointer: {exc.message}",
            hint="fix the pointer in a new commit (after a conflict, keep one side's lines), "
            "or rewrite that commit, then push again",
        ) from None


def _is_zero(sha: str) -> bool:
    return not sha.strip("0")


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
    fetched: TransferResult | None = None


def post_checkout(
    repo: Repo, prev: str, new: str, flag: str, *, progress: Progress | None = None
) -> RestoreReport:
    """After a branch checkout (flag 1): restore the artifacts whose pointers differ."""
    if flag != "1" or prev == new:
        return RestoreReport()  # a file checkout, or `git switch -c`: the pointers are as they were
    if _is_zero(prev):  # a clone or `git worktree add`: everything is new
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
        artifacts = [pointer.artifact_path(name) for name in gone]
        in_git = set(git.tracked_files(repo.root, artifacts))
        report.removed, kept = workspace.discard(repo, [a for a in artifacts if a not in in_git])
        report.modified.extend(kept)
    wanted = _readable(repo, [pointer.artifact_path(name) for name in present], report)
    if not wanted:
        return report
    first = workspace.checkout(repo, [repo.display(a) for a, _ in wanted])
    report.restored.extend(first.restored)
    report.modified.extend(first.modified)
    if first.not_cached and _autopull(repo):
        lacking = set(first.not_cached)
        missing = [(a, p) for a, p in wanted if a in lacking]
        report.fetched = _fetch(repo, missing, report, progress)
        second = workspace.checkout(repo, [repo.display(a) for a, _ in missing])
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
            found.append((artifact, workspace.read_pointer(repo, artifact)))
        except GitmvError as exc:
            report.problems.append(exc.message + (f" ({exc.hint})" if exc.hint else ""))
    return found


def _autopull(repo: Repo) -> bool:
    value = repo.config.get("checkout.autopull", True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0")
    return bool(value)


def _fetch(
    repo: Repo,
    pointers: Sequence[tuple[str, Pointer]],
    report: RestoreReport,
    progress: Progress | None,
) -> TransferResult | None:
    from gitmv import transfer

    try:
        store = transfer.open_named(repo, None)
        jobs = transfer.jobs_for(repo, store, None)
        result = transfer.fetch(repo.cache, store, pointers, jobs=jobs, progress=progress)
    except GitmvError as exc:
        report.problems.append(
            f"cannot fetch missing objects: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        )
        return None
    if result.aborted:
        report.problems.append(f"fetch from {result.remote} stopped: {result.aborted}")
    for failure in result.failed:
        report.problems.append(f"{failure.path} ({failure.oid}): {failure.reason}")
    return result
