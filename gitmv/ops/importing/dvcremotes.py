"""DVC's remotes as gitmv remotes: same name, same URL, DVC's option names mapped to gitmv's.

Credentials (`.dvc/config.local`, or any option that names one) go to gitmv's local config
only, never to the committed project config. A remote gitmv cannot use (its protocol is not
installed, an option it does not know) is reported, not an error: the import goes on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from gitmv.base.config import is_secret
from gitmv.base.errors import GitmvError
from gitmv.ops.importing.dvcfiles import DvcRemoteConfig
from gitmv.ops.remotes import stage_config
from gitmv.repo.context import Repo

# DVC's option name -> gitmv's (the storage library's keyword where gitmv passes it through).
OPTION_NAMES = {
    "endpointurl": "endpoint_url",
    "region": "region",
    "profile": "profile",
    "jobs": "jobs",
    "access_key_id": "key",
    "secret_access_key": "secret",
    "session_token": "token",
    "credentialpath": "token",  # gs: a service-account JSON file
    "projectname": "project",
    "user": "username",
    "password": "password",
}


@dataclass(frozen=True)
class RemotePlan:
    name: str
    url: str  # as gitmv stores it (a folder: relative to the repository root)
    options: dict[str, Any] = field(default_factory=dict)  # project config
    secrets: dict[str, Any] = field(default_factory=dict)  # local config only


def dvc_url(repo: Repo, url: str) -> str:
    """A DVC remote URL as a path or URL this process can open (DVC writes a relative
    folder relative to `.dvc/`)."""
    if "://" in url or os.path.isabs(os.path.expanduser(url)):
        return os.path.expanduser(url)
    return os.path.normpath(os.path.join(repo.root, ".dvc", url))


def plan(
    repo: Repo, found: list[DvcRemoteConfig], notes: list[str]
) -> tuple[list[RemotePlan], list[str]]:
    """The remotes to add (those gitmv lacks), and what each cannot carry over (notes)."""
    from gitmv.remotes.options import check_name, check_protocol, check_url, normalize_options

    existing = repo.config.get("remote") or {}
    plans = []
    for remote in found:
        url = dvc_url(repo, remote.url)
        if "://" not in remote.url and not os.path.isabs(os.path.expanduser(remote.url)):
            # DVC writes a relative folder relative to `.dvc/`; gitmv, to the root
            url = os.path.relpath(url, repo.root)
        if remote.name in existing:  # imported before, or the user's own: left as it is
            ours = existing[remote.name]
            if isinstance(ours, dict) and ours.get("url") != url:
                notes.append(
                    f"DVC remote {remote.name} is not carried over: gitmv already has a "
                    f"remote of that name, with another URL"
                )
            continue
        options: dict[str, Any] = {}
        secrets: dict[str, Any] = {}
        for layer, values in ((options, remote.options), (secrets, remote.secrets)):
            for key, value in values.items():
                name = OPTION_NAMES.get(key.lower())
                if name is None:
                    notes.append(f"DVC remote {remote.name}: option {key!r} is not carried over")
                    continue
                typed: Any = int(value) if value.isdigit() else value
                target = secrets if is_secret(name, typed) else layer
                target[name] = typed
        try:
            check_name(remote.name)
            check_url(url, cwd=repo.root, root=repo.root, git_dir=repo.paths.common_dir)
            check_protocol(url, remote.name)
            options = normalize_options(options)
        except GitmvError as exc:
            notes.append(f"DVC remote {remote.name} is not carried over: {exc.message}")
            continue
        plans.append(RemotePlan(remote.name, url, options, secrets))
    return plans, [p.name for p in plans]


def write(repo: Repo, plans: list[RemotePlan], dvc_default: str | None) -> None:
    """Add the planned remotes; DVC's default becomes gitmv's when gitmv has none."""
    for p in plans:
        repo.config.set("project", f"remote.{p.name}", {"url": p.url, **p.options})
        for key, value in p.secrets.items():
            repo.config.set("local", f"remote.{p.name}.{key}", value)
    names = {p.name for p in plans}
    if not repo.config.get("core.remote"):
        default = dvc_default if dvc_default in names else (plans[0].name if plans else None)
        if default:
            repo.config.set("project", "core.remote", default)
    if plans:  # staged with the pointers, as `gitmv remote add` does: a commit takes both
        stage_config(repo, "project")
