"""Whether gitmv's hooks are installed: the check every command makes, so it is a few reads.

Kept apart from gitmv.hooks.install, whose dataclasses alone cost a clean `gitmv status` 5 ms
to import; this module defines none.
"""

from __future__ import annotations

# Path and Repo only in annotations, and no typing: every hook git runs imports this module
# for HOOKS, and a no-op one must not pay for pathlib (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from gitmv.repo.context import Repo

HOOKS = ("pre-push", "post-checkout", "post-merge", "post-rewrite")
MARKER = "# gitmv hook shim"  # how a shim is told from a user's hook
LEGACY = ".legacy"  # pre-commit's name: ours only inside pre-commit's chain, or from old shims
_OLD_SHIM = '"$0.legacy"'  # what shims written before the chain names ran: they still work


def head(path: Path) -> str:
    """The start of a hook file (shims are small), "" when there is none."""
    try:
        with open(path, "rb") as f:
            return f.read(64 * 1024).decode("utf-8", errors="replace")
    except OSError:
        return ""


def is_ours(path: Path) -> bool:
    """Whether `path` is a gitmv shim (any version), by its marker line."""
    return MARKER in head(path)


def is_old_shim(path: Path) -> bool:
    """A shim from before the chain names: it runs `$0.legacy`, which may hold a foreign hook."""
    text = head(path)
    return MARKER in text and _OLD_SHIM in text


def hooks_folder(repo: Repo) -> Path:
    """Where git runs this repository's hooks from (`core.hooksPath` honoured)."""
    if repo.paths.hooks is not None:
        return repo.paths.hooks
    from gitmv.base import git

    return git.hooks_dir(repo.root)


def missing(repo: Repo) -> list[str]:
    """The hooks with no gitmv shim, or a shim from before the chain names."""
    folder = hooks_folder(repo)
    found = []
    for name in HOOKS:
        path = folder / name
        text = head(path)
        if MARKER in text:
            if _OLD_SHIM in text:
                found.append(name)
        elif not is_ours(folder / (name + LEGACY)):  # pre-commit moved ours aside, runs it
            found.append(name)
    return found


def auto_install(repo: Repo) -> bool:
    """Whether commands install missing hooks here (`hooks.auto`; `gitmv uninstall` clears it)."""
    return repo.config.flag("hooks.auto", True)
