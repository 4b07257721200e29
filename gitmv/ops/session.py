"""The one place a remote is opened: its name or the default, its jobs, its chunking settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmv.store import chunking, packs
from gitmv.store.chunking import Settings
from gitmv.store.packs import PackSettings

PACK_INDEXES = "pack-indexes"  # below the cache: remote pack indexes, by pack id

if TYPE_CHECKING:
    from gitmv.remotes.remote import Remote
    from gitmv.repo.context import Repo


@dataclass(frozen=True)
class Session:
    remote: Remote
    jobs: int  # the effective number of parallel transfers
    settings: Settings  # which files push sends as chunks (`chunking.*` config)
    pack: PackSettings  # which objects push sends in packs (`pack.*` config)


def open_session(repo: Repo, name: str | None, jobs: int | None = None) -> Session:
    """Open the remote called `name` (None: the default) with its effective jobs and settings."""
    # The remote stack pulls in fsspec: imported here so fast CLI paths never load it.
    from gitmv.remotes.opener import open_remote, spec_from_config

    # spec_from_config raises the one "no default remote" error (opener.no_default_remote)
    remote = open_remote(spec_from_config(repo.config, name, repo.root))
    remote.pack_cache = repo.cache.root / PACK_INDEXES  # immutable: shared by every remote
    return Session(
        remote,
        effective_jobs(repo, remote, jobs),
        chunking.settings_from(repo.config),
        packs.settings_from(repo.config, remote.packs_by_default),
    )


def effective_jobs(repo: Repo, remote: Remote, requested: int | None) -> int:
    """`--jobs` wins, then the remote's `jobs` option, then `core.jobs`, then the
    remote's own default (one per CPU for a folder, 8 for a network store)."""
    from gitmv.remotes.options import parse_jobs  # the remote stack: see open_session

    if requested is not None:
        return parse_jobs(requested, "--jobs")
    if remote.spec.jobs is not None:
        return remote.spec.jobs
    configured = repo.config.get("core.jobs")
    if configured is None:
        return remote.default_jobs
    return parse_jobs(configured, "core.jobs")
