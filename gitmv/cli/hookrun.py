"""Running a git hook: what `gitmv hook NAME ARGS...` does, with no Typer in the way.

The shims call this on every checkout, merge, rebase and push; `gitmv.cli.main` sends
`hook` here before Typer is imported, since Typer alone costs a third of start-up. A hook
with nothing to do returns before it opens the repository or imports the verbs: from
git's arguments alone (`_nothing_to_push`, `_nothing_to_restore`), or from one or two git
calls (`_no_pointer_pushed`, `_no_pointer_changed`). docs/startup.md lists the cases.
"""

from __future__ import annotations

import os
import sys

from gitmv.base.errors import GitmvError, NotARepository, NotInitialised
from gitmv.hooks.check import HOOKS

# Neither typing nor the progress bar and the verbs at import: a no-op hook, run by git on
# every checkout and push, never needs them (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from gitmv.ops.hooks import PrePushReport, RestoreReport
    from gitmv.repo.context import Repo


def run(name: str, args: Sequence[str]) -> int:
    """Run hook `name` with git's arguments; the exit code for git."""
    if name not in HOOKS:
        raise GitmvError(f"unknown hook {name!r}", hint=f"one of: {', '.join(HOOKS)}")
    # pre-commit runs a hook with no arguments (and git's stdin already read).
    under_pre_commit = not args and bool(os.environ.get("PRE_COMMIT"))
    args = _pre_commit_args(name) if under_pre_commit else list(args)
    if name == "pre-push":
        lines = _pre_commit_push_lines() if under_pre_commit else _stdin_lines()
        # git always passes two arguments; without them, `_pre_push` says what is wrong
        if len(args) >= 2 and (_nothing_to_push(lines) or _no_pointer_pushed(args, lines)):
            return 0
        repo = _open_gitmv_repo()
        if repo is None:  # not a gitmv repository: nothing to upload
            return 0
        return _pre_push(repo, args, lines)
    if _nothing_to_restore(name, args) or _no_pointer_changed(name, args):
        return 0
    try:
        repo = _open_gitmv_repo()
        if repo is not None:
            _render_restore(repo, _run_post(repo, name, args))
    except Exception as exc:  # a post-* hook must never make git fail: git is done already
        if isinstance(exc, GitmvError):
            message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        else:
            message = f"internal error: {type(exc).__name__}: {exc}"
        _stderr(f"warning: gitmv {name} hook: {message}")
        _stderr("hint: run `gitmv pull` once the problem is fixed (it fetches, then checks out)")
    return 0


def _nothing_to_push(lines: Sequence[str]) -> bool:
    """Whether every pushed ref is one the remote already has, or a deletion: then no
    commit is new and no pointer can be (what `ops.hooks.pre_push` would find, without
    opening the repository or running git). A line that is not git's four words is not
    judged here: `pre_push` reports it."""
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            return False
        local_sha, remote_sha = parts[1], parts[3]
        deleted = not local_sha.strip("0")  # git's all-zeros name (base.git.is_null_sha)
        if not deleted and local_sha != remote_sha:
            return False
    return True


def _nothing_to_restore(name: str, args: Sequence[str]) -> bool:
    """The cases where `ops.hooks` restores nothing, whatever the repository: a file checkout
    or one that stays on its commit (`git switch -c`), an amend. Checked here so that these
    hooks return before opening the repository; `ops.hooks` checks the same first."""
    if name == "post-checkout":
        return len(args) >= 3 and (args[2] != "1" or args[0] == args[1])
    if name == "post-rewrite":
        return len(args) >= 1 and args[0] != "rebase"
    return False


# Asked of git alone, before the repository is opened (its config, cache and stat cache,
# ~10 ms): whether the commits involved touch any pointer file. The same git questions
# `ops.hooks` asks; when the answer is "some", the hook asks them again there. Only where
# gitmv is set up: git runs hooks at the top of the work tree, so `.gitmv/config.yaml`
# (base.config.PROJECT_FILE) is there; elsewhere (hooks installed `--global`) opening the
# repository is the one git call that says "not gitmv", as before.
_PROJECT_FILE = ".gitmv/config.yaml"


def _no_pointer_changed(name: str, args: Sequence[str]) -> bool:
    """A branch checkout between two commits whose pointer files are the same."""
    if name != "post-checkout" or len(args) < 3:
        return False
    prev, new = args[0], args[1]
    if not prev.strip("0") or not new.strip("0"):  # a clone's checkout: everything is new
        return False
    if not os.path.isfile(_PROJECT_FILE):
        return False
    from pathlib import Path

    from gitmv.base import git

    try:
        return not git.changed_pointer_files(Path.cwd(), prev, new)
    except GitmvError:
        return False  # an unknown commit, say: the full path says what went wrong


def _no_pointer_pushed(args: Sequence[str], lines: Sequence[str]) -> bool:
    """A push whose new commits (those the remote lacks) change no pointer file."""
    if any(len(line.split()) not in (0, 4) for line in lines):
        return False
    if not os.path.isfile(_PROJECT_FILE):
        return False
    from pathlib import Path

    from gitmv.base import githistory

    refs = [line.split() for line in lines if line.strip()]
    tips = [r[1] for r in refs if r[1].strip("0")]  # zeros: a deletion
    known = [r[3] for r in refs if r[3].strip("0")]
    here = Path.cwd()
    try:
        commits = githistory.commits_not_on(here, tips, known, args[0])
        return not githistory.pointer_blobs_in(here, commits)
    except GitmvError:
        return False


def _open_gitmv_repo() -> Repo | None:
    from gitmv.repo.context import Repo

    try:
        return Repo.open()
    except (NotInitialised, NotARepository):
        return None


def _run_post(repo: Repo, name: str, args: Sequence[str]) -> RestoreReport:
    from gitmv.cli.progress import LazyProgress
    from gitmv.ops import hooks

    def arg(i: int) -> str:
        if i >= len(args):
            raise GitmvError(f"the {name} hook expects {i + 1} arguments from git, got {len(args)}")
        return args[i]

    with LazyProgress("fetch") as progress:
        if name == "post-checkout":
            return hooks.post_checkout(repo, arg(0), arg(1), arg(2), progress=progress)
        if name == "post-merge":
            return hooks.post_merge(repo, arg(0), progress=progress)
        return hooks.post_rewrite(repo, arg(0), progress=progress)


def _pre_push(repo: Repo, args: Sequence[str], lines: Sequence[str]) -> int:
    from gitmv.cli.progress import LazyProgress
    from gitmv.ops import hooks

    if len(args) < 2:
        raise GitmvError("the pre-push hook expects git's two arguments: remote name and URL")
    with LazyProgress("upload") as progress:
        report = hooks.pre_push(repo, args[0], args[1], lines, progress=progress)
    return _render_push(repo, report)


def _stdin_lines() -> list[str]:
    if sys.stdin is None or sys.stdin.isatty():
        return []  # run by hand: git is not feeding us refs
    return sys.stdin.buffer.read().decode("utf-8", errors="surrogateescape").splitlines()


def _render_push(repo: Repo, report: PrePushReport) -> int:
    from gitmv.cli.render import human_size

    result = report.result
    if result is None:
        return 0
    if result.transferred:
        size = human_size(result.nbytes)
        n = result.transferred
        objects = f"{n} object{'s' if n != 1 else ''}"
        _stderr(f"gitmv: uploaded {objects} ({size}) to remote {result.remote}")
    if not report.refused:
        return 0
    for failure in result.failed:
        _stderr(f"  {repo.display(failure.path)} ({failure.oid}): {failure.reason}")
    if result.aborted:
        reason = result.aborted
        hint = result.abort_hint or "fix the remote, then push again"
    else:
        reason = f"{len(result.failed)} objects could not be uploaded (listed above)"
        hint = "`gitmv push` uploads what the remote lacks; then push again"
    _stderr(f"error: push refused: {reason}")
    _stderr(f"hint: {hint} (`git push --no-verify` publishes the pointers without their bytes)")
    return 1


def _render_restore(repo: Repo, report: RestoreReport) -> None:
    from gitmv.cli.render import human_size

    fetched = report.fetched
    if fetched is not None and fetched.transferred:
        n, size = fetched.transferred, human_size(fetched.nbytes)
        _stderr(f"gitmv: fetched {n} object{'s' if n != 1 else ''} ({size}) from {fetched.remote}")
    for rel in report.restored:
        _stderr(f"gitmv: restored {repo.display(rel)}")
    for rel in report.removed:
        _stderr(f"gitmv: removed {repo.display(rel)} (its pointer is gone; the cache keeps it)")
    for rel in report.modified:
        _stderr(
            f"warning: {repo.display(rel)} is modified; not overwritten "
            "(gitmv add records it; gitmv checkout --force discards the change)"
        )
    for rel in report.not_cached:
        _stderr(f"warning: {repo.display(rel)}: its bytes are not in the cache (gitmv pull)")
    for problem in report.problems:
        _stderr(f"warning: {problem}")


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


# -- running under the pre-commit framework --------------------------------------------------
# pre-commit consumes git's arguments and stdin itself and passes them on in its own
# environment variables (https://pre-commit.com/#supported-git-hooks).


def _pre_commit_args(name: str) -> list[str]:
    env = os.environ
    if name == "pre-push":
        return [env.get("PRE_COMMIT_REMOTE_NAME", ""), env.get("PRE_COMMIT_REMOTE_URL", "")]
    if name == "post-checkout":
        keys = ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "PRE_COMMIT_CHECKOUT_TYPE")
        return [env.get(key, "") for key in keys]
    if name == "post-merge":
        return [env.get("PRE_COMMIT_IS_SQUASH_MERGE", "0")]
    return [env.get("PRE_COMMIT_REWRITE_COMMAND", "")]


def _pre_commit_push_lines() -> list[str]:
    """pre-commit tells a hook of one pushed range: from..to, or a local branch pushed whole."""
    env = os.environ
    local = env.get("PRE_COMMIT_TO_REF") or env.get("PRE_COMMIT_LOCAL_BRANCH")
    if not local:
        return []
    remote_ref = env.get("PRE_COMMIT_REMOTE_BRANCH") or "-"
    known = env.get("PRE_COMMIT_FROM_REF") or "0" * 40
    return [f"{env.get('PRE_COMMIT_LOCAL_BRANCH') or '-'} {local} {remote_ref} {known}"]
