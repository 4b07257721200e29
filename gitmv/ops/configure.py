"""`gitmv config`: read, write, unset and list settings, each checked against the key table
(gitmv.ops.configkeys) before a byte is written.

Scopes: `project` (.gitmv/config.yaml, committed: never a credential), `local`
(<git-common-dir>/gitmv/config.yaml) and `user` ($XDG_CONFIG_HOME/gitmv/config.yaml, the
`--global` of the command line). Writes go through Config.set: the round-trip YAML keeps
comments, the atomic helper publishes, the repository lock serialises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmv.base.config import LAYERS, redact_option, redact_url
from gitmv.base.errors import GitmvError
from gitmv.ops import configkeys
from gitmv.ops.remotes import stage_config
from gitmv.repo.context import Repo

SCOPES = ("project", "local", "user")


@dataclass(frozen=True)
class ConfigEntry:
    """One setting as gitmv shows it: secret values masked."""

    key: str
    value: Any  # None: unset, and no default
    source: str  # "default", or the layer it came from: user, project, local
    known: bool = True  # False: a key gitmv does not read (a typo, most likely)


@dataclass(frozen=True)
class ConfigListing:
    entries: tuple[ConfigEntry, ...]
    files: dict[str, str]  # layer -> its file


def get_value(repo: Repo, dotted: str) -> ConfigEntry:
    """The effective value of `dotted` and the layer it came from."""
    key = configkeys.lookup(dotted)
    source, value = _effective(repo, dotted)
    if source == "default":
        if key is None:
            raise GitmvError(f"{dotted} is not set", hint="`gitmv config --list` shows what is")
        value = key.default
    return ConfigEntry(dotted, _shown(dotted, value), source)


def set_value(repo: Repo, dotted: str, raw: str, scope: str) -> ConfigEntry:
    """Check `raw` as `dotted`'s reader would, refuse a credential in the project config,
    then write it to `scope`'s file (the project file is staged, as `remote add` does)."""
    value = configkeys.parse_value(dotted, raw)
    if dotted.startswith("remote.") and dotted.endswith(".url"):
        value = _remote_url(repo, str(value))
    if scope == "project" and configkeys.secret_in(dotted, value):
        raise GitmvError(
            f"refusing to write the credential {dotted!r} to the committed project config",
            hint=f"pass --local to keep it outside git: gitmv config --local {dotted} ...",
        )
    _check_remote_refs(repo, dotted, value, scope)
    with repo.lock():
        repo.config.set(_layer(scope), dotted, value)
        stage_config(repo, _layer(scope))
    return ConfigEntry(dotted, _shown(dotted, value), _layer(scope))


def unset_value(repo: Repo, dotted: str, scope: str) -> bool:
    """Remove `dotted` from `scope`'s file (and any mapping left empty); False if not there."""
    if not dotted.startswith("remote."):
        configkeys.lookup(dotted)  # a typo is an error, not a silent no-op
    layer = _layer(scope)
    with repo.lock():
        if not repo.config.unset(layer, dotted):
            return False
        parts = dotted.split(".")[:-1]
        while parts:  # leave no `core: {}` behind
            doc = repo.config.layer_doc(layer)
            node: Any = doc
            for part in parts:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict) or node:
                break
            repo.config.unset(layer, ".".join(parts))
            parts.pop()
        stage_config(repo, layer)
    return True


def list_values(repo: Repo) -> ConfigListing:
    """Every known key with its effective value and source, then every other setting found
    in a file (remotes; unknown keys flagged)."""
    entries = []
    for name, key in configkeys.KEYS.items():
        source, value = _effective(repo, name)
        entries.append(ConfigEntry(name, key.default if source == "default" else value, source))
    seen = set(configkeys.KEYS)
    for layer in reversed(LAYERS):  # the winning layer first
        for dotted, value in leaves(repo.config.layer_doc(layer)):
            if dotted in seen or any(dotted.startswith(k + ".") for k in configkeys.KEYS):
                continue
            seen.add(dotted)
            known = dotted.startswith("remote.") and dotted.count(".") >= 2
            entries.append(ConfigEntry(dotted, _shown(dotted, value), layer, known))
    files = {layer: str(path) for layer, path in repo.config.files.items()}
    return ConfigListing(tuple(entries), files)


def leaves(doc: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) of every setting in a layer's document; a remote's option whose
    value is a mapping (`client_kwargs`) is one setting."""
    if not isinstance(doc, dict):
        return []
    found: list[tuple[str, Any]] = []
    for key, value in doc.items():
        dotted = f"{prefix}{key}"
        is_option = dotted.startswith("remote.") and dotted.count(".") >= 2
        if isinstance(value, dict) and value and not is_option:
            found.extend(leaves(value, dotted + "."))
        else:
            found.append((dotted, _plain(value)))
    return found


def _effective(repo: Repo, dotted: str) -> tuple[str, Any]:
    for layer in reversed(LAYERS):  # local wins over project, project over user
        node: Any = repo.config.layer_doc(layer)
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return layer, _plain(node)
    return "default", None


def _check_remote_refs(repo: Repo, dotted: str, value: Any, scope: str) -> None:
    """A default remote must exist, and a remote known only to this clone never becomes
    everyone's default; an option needs its remote (`remote add`, or its url first)."""
    remotes = repo.config.get("remote") or {}
    if dotted == "core.remote":
        if value not in remotes:
            known = ", ".join(sorted(remotes)) or "none"
            raise GitmvError(
                f"no remote named {value!r} (configured: {known})",
                hint="add it first: gitmv remote add NAME URL",
            )
        from gitmv.ops.remotes import layers_of

        if scope == "project" and "project" not in layers_of(repo, str(value)):
            raise GitmvError(
                f"remote {value!r} is not in the project config: it cannot be everyone's default",
                hint=f"pass --local: gitmv config --local core.remote {value}",
            )
    elif dotted.startswith("remote.") and not dotted.endswith(".url"):
        name = dotted.split(".")[1]
        if name not in remotes:
            raise GitmvError(
                f"no remote named {name!r}", hint="add it first: gitmv remote add NAME URL"
            )


def _remote_url(repo: Repo, url: str) -> str:
    """As `remote add` takes a URL: a folder outside the repository, and a relative one
    stored relative to the root (what every clone resolves it against), not to here."""
    from gitmv.remotes.options import check_url

    check_url(url, cwd=Path(repo.cwd), root=repo.root, git_dir=repo.paths.common_dir)
    if "://" not in url and not os.path.isabs(os.path.expanduser(url)):
        return os.path.relpath(os.path.join(repo.cwd, url), repo.root)
    return url


def _layer(scope: str) -> str:
    if scope not in SCOPES:
        raise GitmvError(f"unknown config scope {scope!r}", hint="use --local or --global")
    return scope


def _shown(dotted: str, value: Any) -> Any:
    """Secrets masked: an option named like a credential, a URL's user info."""
    if not dotted.startswith("remote."):
        return value
    option = dotted.rsplit(".", 1)[-1]
    if isinstance(value, dict):
        return {str(k): redact_option(str(k), v) for k, v in value.items()}
    if option == "url" and isinstance(value, str):
        return redact_url(value)
    return redact_option(option, value)


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (for JSON and comparison)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
