"""remote add / list / remove / default: which remotes a repository knows, and where each
is written (the committed project config, or this clone's local config).

The rules: everything is checked before a byte is written; no credential reaches the
committed project config; a remote known only to this clone never becomes everyone's
default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitmv.base import git
from gitmv.base.config import PROJECT_FILE, has_url_password, is_secret, redact_option, redact_url
from gitmv.base.errors import GitmvError
from gitmv.remotes.options import check_name, check_protocol, check_url, normalize_options
from gitmv.repo.context import Repo

LAYERS = ("project", "local", "user")  # where a remote may be defined, shared first


def stage_config(repo: Repo, layer: str) -> None:
    """After a write to `layer`: the project config travels with the repository, so git
    gets the new version staged (the layered config itself never calls git); the other
    layers live outside git."""
    if layer == "project":
        git.stage(repo.root, [PROJECT_FILE.as_posix()])


@dataclass(frozen=True)
class RemoteEntry:
    """One remote as `remote list` shows it: nothing secret in it."""

    name: str
    url: str  # a password in the URL masked
    default: bool
    layers: tuple[str, ...]  # the config layers that define it (project, local, user)
    options: Mapping[str, Any] = field(hash=False)  # secret values masked, key by key


def add_remote(
    repo: Repo, name: str, url: str, *, default: bool, local: bool, options: Sequence[str]
) -> bool:
    """Write the remote; return whether it became the default (the first remote always does).

    Everything is checked before a byte is written: the name, the URL (text, protocol
    installed, a folder outside the repository), each option (`KEY=VALUE`) and its type,
    and no credential (by option name, or a URL with a password) in the committed project
    config."""
    check_name(name)
    check_url(url, cwd=Path(repo.cwd), root=repo.root, git_dir=repo.paths.common_dir)
    check_protocol(url, name)
    if "://" not in url and not os.path.isabs(os.path.expanduser(url)):
        # typed relative to where the user stands; stored relative to the repository root,
        # which is what every clone resolves it against
        url = os.path.relpath(os.path.join(repo.cwd, url), repo.root)
    remotes = repo.config.get("remote") or {}
    if name in remotes:
        raise GitmvError(
            f"remote {name!r} already exists",
            hint=f"remove it first: `gitmv remote remove {name}`",
        )
    values = normalize_options(dict(parse_option(o) for o in options))
    layer = "local" if local else "project"
    if layer == "project":
        _refuse_secrets(url, values)
    make_default = default or not repo.config.get("core.remote")
    with repo.lock():
        repo.config.set(layer, f"remote.{name}", {"url": url, **values})
        if make_default:
            repo.config.set(layer, "core.remote", name)
        stage_config(repo, layer)
    return make_default


def _refuse_secrets(url: str, values: Mapping[str, object]) -> None:
    """No credential in the committed project config: not in the URL, not in an option."""
    if has_url_password(url):
        raise GitmvError(
            f"refusing to write the URL {redact_url(url)!r}, which carries a password, "
            "to the committed project config",
            hint="pass --local to keep it in the local config, outside git, or let "
            "the storage library find the credentials",
        )
    for key, value in values.items():
        if is_secret(key, value):
            what = "credential option" if not has_url_password(str(value)) else "option"
            carries = "" if what != "option" else ", whose URL carries a password,"
            raise GitmvError(
                f"refusing to write the {what} {key!r}{carries} to the committed project config",
                hint="pass --local to keep it in the local config, outside git",
            )


def parse_option(text: str) -> tuple[str, object]:
    """`KEY=VALUE`, with `true`/`false` and digits read as a bool and an int."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        shown = text if not sep else "=..."
        raise GitmvError(f"malformed option {shown!r}", hint="write --option KEY=VALUE")
    value: object = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif raw.isdigit():
        value = int(raw)
    return key.strip(), value


def list_remotes(repo: Repo) -> list[RemoteEntry]:
    """Every remote, by name; secret option values and URL passwords masked."""
    default = repo.config.get("core.remote")
    remotes = repo.config.get("remote") or {}
    found = []
    for name in sorted(remotes):
        entry = remotes[name] if isinstance(remotes[name], dict) else {}
        options = {str(k): _shown(str(k), v) for k, v in entry.items() if k != "url"}
        found.append(
            RemoteEntry(
                name,
                redact_url(str(entry.get("url", ""))),
                name == default,
                tuple(layers_of(repo, name)),
                options,
            )
        )
    return found


def _shown(key: str, value: object) -> object:
    """An option as `remote list` may show it: secrets masked, nested mappings
    (`config_kwargs`, `client_kwargs`) masked key by key."""
    if isinstance(value, dict):
        return {str(k): _shown(str(k), v) for k, v in value.items()}
    return redact_option(key, value)


def layers_of(repo: Repo, name: str) -> list[str]:
    """The config layers that define remote `name`."""
    found = []
    for layer in LAYERS:
        doc = repo.config.layer_doc(layer)
        remotes = doc.get("remote") if isinstance(doc, dict) else None
        if isinstance(remotes, dict) and name in remotes:
            found.append(layer)
    return found


def _known(repo: Repo, name: str) -> list[str]:
    layers = layers_of(repo, name)
    if not layers:
        raise GitmvError(f"no remote named {name!r}", hint="see `gitmv remote list`")
    return layers


def remove_remote(repo: Repo, name: str) -> None:
    """Remove the remote from the project and local config, and unset it as the default
    there. One defined only in the user config is the user's to edit."""
    if _known(repo, name) == ["user"]:
        raise GitmvError(
            f"remote {name!r} is defined in your user config ({repo.config.files['user']})",
            hint="edit that file to remove it",
        )
    with repo.lock():
        for layer in ("project", "local"):
            changed = repo.config.unset(layer, f"remote.{name}")
            doc = repo.config.layer_doc(layer)
            core = doc.get("core") if isinstance(doc, dict) else None
            if isinstance(core, dict) and core.get("remote") == name:
                changed = repo.config.unset(layer, "core.remote") or changed
            if changed:
                stage_config(repo, layer)


def set_default(repo: Repo, name: str, *, local: bool) -> str:
    """Make `name` the default remote; return the layer written (project or local)."""
    layers = _known(repo, name)
    # A remote known only to this clone must not become everyone's default; and a local
    # default already there would hide a new project one.
    local_doc = repo.config.layer_doc("local")
    local_core = local_doc.get("core") if isinstance(local_doc, dict) else None
    has_local_default = isinstance(local_core, dict) and local_core.get("remote") is not None
    layer = "local" if local or "project" not in layers or has_local_default else "project"
    with repo.lock():
        repo.config.set(layer, "core.remote", name)
        stage_config(repo, layer)
    return layer
