"""Hooks in clones: git never installs them, so gitmv's writing commands do, as Git LFS's do.

A writing command (add, checkout, push, fetch, pull, the registry verbs that write tags)
installs the missing shims and says so in one line; a read-only one (status, ls, diff,
registry show) writes nothing and warns while they are missing. `gitmv uninstall` turns
both off for the repository (`hooks.auto: false` in the local config). The check is a few
small reads in the hooks folder, which `Repo.open`'s rev-parse already named.
"""

from __future__ import annotations

import os
import sys

from gitmv.base.errors import GitmvError
from gitmv.cli.render import warn

# No typing at run time: `status` loads this module (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitmv.repo.context import Repo


def ensure(repo: Repo) -> None:
    """Install the missing hooks, saying so once; a failure only warns: the command goes on."""
    from gitmv.hooks import check as hookcheck

    if not hookcheck.auto_install(repo):
        return
    absent = hookcheck.missing(repo)
    if not absent:
        return
    tracked = _tracked_hooks_folder(repo)
    if tracked is not None:
        warn(
            f"gitmv's git hooks are missing ({', '.join(absent)}) from {tracked}, a folder "
            "git tracks (core.hooksPath): gitmv does not change its files by itself"
        )
        sys.stderr.write(
            "hint: `gitmv install` adds them there (commit them for everyone), "
            "or `gitmv uninstall` stops this warning\n"
        )
        return
    from gitmv.hooks import install as hookinstall

    try:
        with repo.lock():  # two commands at once (a CI job's parallel fetches) install once
            if not hookcheck.missing(repo):
                return
            report = hookinstall.install(repo)
    except (GitmvError, OSError) as exc:
        reason = exc.message if isinstance(exc, GitmvError) else str(exc)
        hint = exc.hint if isinstance(exc, GitmvError) and exc.hint else None
        warn(f"gitmv's git hooks are not installed here, so `git push` will not upload: {reason}")
        sys.stderr.write(
            f"hint: {hint or 'fix that, then run `gitmv install`'} "
            "(`gitmv uninstall` stops gitmv from trying)\n"
        )
        return
    names = ", ".join(change.hook for change in report.written)
    if names:
        where = os.path.relpath(report.folder, repo.cwd)
        sys.stderr.write(
            f"gitmv: installed git hooks ({names}) in {where}; `gitmv uninstall` removes them\n"
        )


def check(repo: Repo) -> None:
    """For a read-only command: warn, in one line, while the hooks are missing."""
    from gitmv.hooks import check as hookcheck

    if not hookcheck.auto_install(repo):
        return
    absent = hookcheck.missing(repo)
    if absent:
        warn(
            f"gitmv's git hooks are missing ({', '.join(absent)}): `git push` would not upload "
            "artifacts; the next writing gitmv command (add, pull, checkout) or `gitmv install` "
            "installs them"
        )


def _tracked_hooks_folder(repo: Repo) -> str | None:
    """The hooks folder, when `core.hooksPath` puts it in the work tree and git does not
    ignore it (a team's shared, committed hooks); None otherwise. Asked only when hooks are
    missing, so it costs a process only then."""
    from gitmv.base import git
    from gitmv.hooks import check as hookcheck

    folder = hookcheck.hooks_folder(repo)
    try:
        rel = folder.relative_to(repo.root).as_posix()
    except ValueError:
        return None
    if rel == ".git" or rel.startswith(".git/"):
        return None
    if git.is_ignored(repo.root, f"{rel}/{hookcheck.HOOKS[0]}"):
        return None  # husky's `.husky/_/`, say, which git ignores
    return rel
