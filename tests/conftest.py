"""Pin the git environment for the whole session; no test touches the real home directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import git, gitmv

pytest_plugins = ["tests.servers"]


@pytest.fixture(scope="session", autouse=True)
def pinned_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
        "[protocol]\n\tversion = 2\n"
        "[advice]\n\tdetachedHead = false\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
    )
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "xdg"),
            "GIT_CONFIG_GLOBAL": str(gitconfig),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TEMPLATE_DIR": str(home / "no-templates"),
            "GIT_AUTHOR_NAME": "Test User",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test User",
            "GIT_COMMITTER_EMAIL": "test@example.com",
            "GIT_TERMINAL_PROMPT": "0",
        }
    )
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITMV_DEBUG"):
        os.environ.pop(key, None)
    (home / "no-templates").mkdir()
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repository with gitmv set up (no hooks, no commits)."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    gitmv(path, "init", "--no-hooks")
    return path
