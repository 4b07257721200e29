"""Which remote a name means (`spec_from_config`), and the backend that serves its URL
(`open_remote`): a folder, or fsspec for everything else. Commands reach these through
`ops.session.open_session`, the one place a remote is opened."""

from __future__ import annotations

import os
from pathlib import Path

from gitmv.base.config import Config
from gitmv.base.errors import RemoteError
from gitmv.remotes.folder import FolderRemote
from gitmv.remotes.fsspec_remote import FsspecRemote
from gitmv.remotes.options import RemoteSpec, normalize_options
from gitmv.remotes.remote import Remote


def no_default_remote() -> RemoteError:
    """The one error for "no remote named and no default configured" (raised via ops.session)."""
    return RemoteError(
        "no default remote is configured",
        hint="run `gitmv remote add NAME URL --default`, or `gitmv remote default NAME` for one"
        " already added",
    )


def spec_from_config(config: Config, name: str | None, base: Path) -> RemoteSpec:
    """The remote called `name`, or the default (`core.remote`) when `name` is None.

    A relative folder URL is taken relative to `base` (the repository root), so a
    committed `../store` means the same folder from every clone.
    """
    remotes = config.get("remote") or {}
    if name is None:
        name = config.get("core.remote")
        if not name:
            raise no_default_remote()
    entry = remotes.get(name) if isinstance(remotes, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or not entry["url"]:
        known = ", ".join(sorted(remotes)) if isinstance(remotes, dict) and remotes else "none"
        raise RemoteError(
            f"no remote named {name!r} (configured: {known})",
            hint="see `gitmv remote list`; add one with `gitmv remote add NAME URL`",
        )
    url: str = entry["url"]
    if _is_local(url) and not url.startswith("file://") and not os.path.isabs(url):
        url = os.path.normpath(base / os.path.expanduser(url))
    options = normalize_options({k: v for k, v in entry.items() if k != "url"})
    return RemoteSpec(str(name), url, options)


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def open_remote(spec: RemoteSpec) -> Remote:
    """Build the store for `spec`: plain os calls for folders, fsspec for everything else."""
    if _is_local(spec.url):
        path = spec.url[len("file://") :] if spec.url.startswith("file://") else spec.url
        return FolderRemote(spec, Path(os.path.expanduser(path)))
    return FsspecRemote(spec)
