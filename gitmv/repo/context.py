"""The repository context every command starts from: paths, config, cache, stat cache, lock."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from pathlib import Path

from gitmv.base import git
from gitmv.base.config import PROJECT_FILE, Config, local_jobs
from gitmv.base.errors import GitmvError, NotInitialised
from gitmv.store.state import StatCache

# No typing at run time: every command but `--version` opens a Repo, and typing costs a
# few ms of each start (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from gitmv.store.cache import Cache

_CONFIG_HINT = "fix it in .gitmv/config.yaml or the local config (.git/gitmv/config.yaml)"


class Repo:
    """A plain class, not a dataclass: see gitmv.base.record for why."""

    def __init__(
        self, paths: git.RepoPaths, config: Config, cache_root: Path, state: StatCache, cwd: Path
    ) -> None:
        self.paths = paths
        self.config = config
        self.cache_root = cache_root  # `cache` opens it when first asked
        self.state = state
        self.cwd = cwd

    def __repr__(self) -> str:
        return f"Repo(root={self.root!r})"

    @functools.cached_property
    def cache(self) -> Cache:
        """The object cache, made on first use: a clean `status` of files and a hook with
        nothing to restore never ask, and so never import the store's modules."""
        from gitmv.store.cache import Cache
        from gitmv.store.chunklist import cache_settings

        return Cache(self.cache_root, cache_settings(self.config))

    @property
    def root(self) -> Path:
        return self.paths.root

    @property
    def gitmv_dir(self) -> Path:
        return self.paths.common_dir / "gitmv"

    @classmethod
    def open(
        cls, cwd: Path | None = None, *, require_init: bool = True, check_config: bool = True
    ) -> Repo:
        """`check_config=False`: a bad `core.fsync` is left for the caller to report
        (`gitmv config` must be able to fix it, `gitmv doctor` to name it)."""
        here = Path.cwd() if cwd is None else cwd
        paths = git.repo_paths(here)
        if require_init and not (paths.root / PROJECT_FILE).is_file():
            raise NotInitialised(
                f"gitmv is not set up in {paths.root}",
                hint="run `gitmv init` at the top of the repository",
            )
        config = Config(paths.root, paths.common_dir)
        if check_config:
            _configure_durability(config)
        cache_dir = config.get("cache.dir")
        # a relative cache.dir is relative to the main worktree, so linked worktrees share it
        main_root = paths.common_dir.parent if paths.common_dir.name == ".git" else paths.root
        cache_root = main_root / cache_dir if cache_dir else paths.common_dir / "gitmv" / "cache"
        return cls(
            paths,
            config,
            cache_root,
            StatCache(paths.common_dir / "gitmv" / "state.sqlite"),
            here.absolute(),
        )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise updates of shared files (.gitignore, config) between gitmv processes.

        An flock: the kernel releases it when its holder dies, so a lock left by a killed
        process is simply taken. A live holder is waited for up to `core.lock_timeout`
        seconds (default 30), then named (its pid and command, which it wrote into the
        lock file when it took the lock)."""
        import fcntl

        timeout = self.lock_timeout
        self.gitmv_dir.mkdir(parents=True, exist_ok=True)
        path = self.gitmv_dir / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            delay = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _lock_held(path, timeout) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
            with contextlib.suppress(OSError):  # who holds it: for the next one's message
                os.ftruncate(fd, 0)
                os.pwrite(fd, _holder().encode("utf-8", "replace"), 0)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):  # held by nobody now: an empty file
                    os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing releases the lock

    @property
    def lock_timeout(self) -> float:
        value = self.config.get("core.lock_timeout", 30)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise GitmvError(
                f"core.lock_timeout must be a number of seconds ≥ 0, not {value!r}",
                hint=_CONFIG_HINT,
            )
        return float(value)

    @property
    def algorithm(self) -> str:
        algorithm = str(self.config.get("core.hash", "xxh128"))
        if algorithm not in ("xxh128", "sha256"):
            raise GitmvError(
                f"unknown core.hash {algorithm!r} in config", hint="use xxh128 or sha256"
            )
        return algorithm

    @property
    def jobs(self) -> int:
        value = self.config.get("core.jobs")
        if value is None:
            return local_jobs()
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise GitmvError(
                f"core.jobs must be a whole number ≥ 1, not {value!r}", hint=_CONFIG_HINT
            )
        return value

    @property
    def link_types(self) -> list[str]:
        from gitmv.store.cache import LINK_TYPES

        value = self.config.get("cache.link", ["reflink", "copy"])
        links = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        if not isinstance(links, list) or not links or any(v not in LINK_TYPES for v in links):
            raise GitmvError(
                f"cache.link must list link types from {', '.join(LINK_TYPES)}, not {value!r}",
                hint=_CONFIG_HINT,
            )
        return [str(v) for v in links]

    def relpath(self, user_path: str, allow_root: bool = False) -> str:
        """A path the user typed (relative to cwd) as a `/`-separated path relative to the root."""
        absolute = Path(os.path.normpath(self.cwd / user_path))
        try:
            rel = absolute.relative_to(self.root)
        except ValueError:
            raise GitmvError(
                f"{user_path}: outside the repository {self.root}",
                hint="gitmv tracks files inside the repository only",
            ) from None
        text = rel.as_posix()
        if text == "." and allow_root:
            return ""
        if (
            text == "."
            or text == ".git"
            or text.startswith(".git/")
            or text == ".gitmv"
            or text.startswith(".gitmv/")
        ):
            raise GitmvError(
                f"{user_path}: not a path gitmv can track", hint="name a file or folder"
            )
        return text

    def abspath(self, rel: str) -> Path:
        """The work-tree path of `rel`, refusing one whose folders lead out of the repository."""
        path = self.root / rel
        parent = os.path.realpath(path.parent)
        root = os.path.realpath(self.root)
        if parent != root and not parent.startswith(root + os.sep):
            raise GitmvError(
                f"{rel}: a symbolic link leads it out of the repository",
                hint="gitmv never reads or writes outside the repository",
            )
        return path

    def display(self, rel: str) -> str:
        """`rel` (root-relative) as the user would type it from where they stand."""
        return os.path.relpath(self.root / rel, self.cwd)


def _configure_durability(config: Config) -> None:
    from gitmv.base.atomic import set_fsync

    value = config.get("core.fsync", True)
    if not isinstance(value, bool):
        raise GitmvError(f"core.fsync must be true or false, not {value!r}", hint=_CONFIG_HINT)
    set_fsync(value)


def _holder() -> str:
    import sys

    command = " ".join(["gitmv", *sys.argv[1:]])[:200]
    return f"pid {os.getpid()}: {command}\n"


def _lock_held(path: Path, timeout: float) -> GitmvError:
    try:
        holder = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        holder = ""
    who = f" by {holder}" if holder else ""
    return GitmvError(
        f"the repository lock {path} is held{who}; waited {timeout:g} s",
        hint="wait for that command to finish, or raise core.lock_timeout"
        " (a lock whose holder died is released by the system)",
    )


def init(cwd: Path | None = None) -> tuple[Repo, bool]:
    """Create `.gitmv/config.yaml` and the cache; returns the repo and whether it was new."""
    from gitmv.base.atomic import write_bytes
    from gitmv.base.config import PROJECT_TEMPLATE

    paths = git.repo_paths(Path.cwd() if cwd is None else cwd)
    config_file = paths.root / PROJECT_FILE
    created = not config_file.exists()
    if created:
        config_file.parent.mkdir(exist_ok=True)
        write_bytes(config_file, PROJECT_TEMPLATE.encode("utf-8"))
    repo = Repo.open(cwd)
    repo.cache.root.mkdir(parents=True, exist_ok=True)
    from gitmv.base.atomic import exclude_temps

    exclude_temps(repo.paths.common_dir)
    git.stage(repo.root, [PROJECT_FILE.as_posix()])
    return repo, created
