"""Writing remotes into the config, and staging the project config a write changed.

The layered config never calls git (gitmv.base.config): a write to the committed project
layer is staged here, by the verb that made it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from gitmv.base import git
from gitmv.base.config import PROJECT_FILE
from gitmv.base.errors import GitmvError
from gitmv.repo.context import Repo


def stage_config(repo: Repo, layer: str) -> None:
    """After a write to `layer`: the project config travels with the repository, so git
    gets the new version staged; the other layers live outside git."""
    if layer == "project":
        git.stage(repo.root, [PROJECT_FILE.as_posix()])


def add_remote(
    repo: Repo, name: str, url: str, *, default: bool, local: bool, options: Sequence[str]
) -> bool:
    """Write the remote; return whether it became the default (the first remote always does).

    Everything is checked before a byte is written: the name, the URL (text, protocol
    installed, a folder outside the repository), each option's type, and no credential
    (by option name, or a URL with a password) in the committed project config."""
    from pathlib import Path

    from gitmv.base.config import has_url_password, is_secret, redact_url

    # the backend modules (a thousand lines): loaded only when a remote is added
    from gitmv.remotes.options import check_url
    from gitmv.remotes.remote import check_name, check_protocol, normalize_options

    check_name(name)
    check_url(url, cwd=Path(repo.cwd), root=repo.root, git_dir=repo.paths.common_dir)
    check_protocol(url)
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
    values = normalize_options(dict(_parse_option(o) for o in options))
    layer = "local" if local else "project"
    if layer == "project":
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
                    f"refusing to write the {what} {key!r}{carries} to the committed "
                    "project config",
                    hint="pass --local to keep it in the local config, outside git",
                )
    make_default = default or not repo.config.get("core.remote")
    with repo.lock():
        repo.config.set(layer, f"remote.{name}", {"url": url, **values})
        if make_default:
            repo.config.set(layer, "core.remote", name)
        stage_config(repo, layer)
    return make_default


def _parse_option(text: str) -> tuple[str, object]:
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
