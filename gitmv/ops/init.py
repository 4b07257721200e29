"""The init verb: the project config and cache, the `.gitignore` union merge, an optional
default remote, and the git hooks (or the choice not to install them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitmv.base import git
from gitmv.base.config import PROJECT_FILE
from gitmv.hooks import install as hookinstall
from gitmv.ops.remotes import add_remote
from gitmv.repo import context, gitattributes
from gitmv.repo.context import Repo


@dataclass(frozen=True)
class InitReport:
    root: Path  # the repository's top folder
    created: bool  # .gitmv/config.yaml is new (else gitmv was set up here already)
    union_merge: bool  # `.gitignore merge=union` was added to .gitattributes (staged)
    remote: str | None  # the URL added as the default remote `origin`, if any


def init(cwd: Path | None = None, *, hooks: bool = True, remote: str | None = None) -> InitReport:
    """Set up gitmv in the git repository at `cwd` (the current folder by default); the
    config and .gitattributes are staged. `hooks=False` installs no hook and records that
    commands must not install them here; `remote`: a URL added as the default remote."""
    repo, created = context.init(cwd)
    union = _union_merge_gitignores(repo)
    if remote:
        add_remote(repo, "origin", remote, default=True, local=False, options=[])
    install_hooks(repo, hooks)
    return InitReport(repo.root, created, union, remote or None)


def ensure_initialised(repo: Repo) -> Repo:
    """What a command that sets gitmv up on the way (`gitmv import`) does where
    `.gitmv/config.yaml` is missing: `init`'s config and union merge, staged, without the
    hooks (the CLI installs those as for every writing command). The repository, opened
    with its new config."""
    if (repo.root / PROJECT_FILE).is_file():
        return repo
    fresh, _ = context.init(repo.root)
    _union_merge_gitignores(fresh)
    return fresh


def _union_merge_gitignores(repo: Repo) -> bool:
    """Two branches that each add an artifact to one folder then merge without a conflict."""
    with repo.lock():
        if not gitattributes.ensure_union_merge(repo.root):
            return False
        git.stage(repo.root, [gitattributes.FILE])
    return True


def install_hooks(repo: Repo, install: bool = True) -> None:
    """Install the hooks, or (`install=False`) record that commands must not install them."""
    if install:
        hookinstall.install(repo)
    hookinstall.set_auto_install(repo, install)
