"""Layered config: defaults < user < project (committed) < local (secrets, machine paths)."""

from __future__ import annotations

import os
from pathlib import Path

from gitmv.base import quickyaml
from gitmv.base.atomic import write_bytes
from gitmv.base.errors import GitmvError

# No typing at run time: every command reads the config, and typing costs each start a few
# ms (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

PROJECT_FILE = Path(".gitmv") / "config.yaml"
LAYERS = ("user", "project", "local")

DEFAULTS: dict[str, Any] = {
    "core": {"hash": "xxh128", "remote": None, "jobs": None},  # None: see local_jobs
    "cache": {"dir": None, "link": ["reflink", "copy"]},
    "checkout": {"autopull": True},
    "chunking": {"min_size": 8 * 1024 * 1024, "avg_size": 1024 * 1024},
    "remote": {},
}


def local_jobs() -> int:
    """Threads for work on local disks (hashing, checkout, a folder remote) when `core.jobs`
    is unset: one per CPU, 2 to 8. Such work is system calls under the GIL, and more
    threads than CPUs only trade the GIL back and forth (on 2 CPUs, 8 threads made a
    20,000-file push 1.5x slower than 2)."""
    return max(2, min(8, os.cpu_count() or 2))


# Option names that carry credentials: allowed only in the local and user config, masked
# (`***`) wherever gitmv shows them. A name is a credential when it contains one of these
# words, case aside: `api_key`, `my_api_key`, `auth`, `session_token`, `aws_secret_access_key`,
# `account_key`, `private_key`, `passwd` all are. Broad on purpose: a false alarm costs a
# `--local`, a miss puts a credential in git history for good. The names gitmv itself reads
# (`endpoint_url`, `region`, `profile`, `jobs`, `retries`, `*_timeout`) contain none of them.
SECRET_WORDS = (
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "auth",
    "credential",
    "session",
    "connection_string",  # Azure: carries AccountKey=
    "sas",  # Azure shared access signatures
)
# Whole names that carry or identify credentials without any of those words.
SECRET_NAMES = frozenset({"username", "user", "pwd"})
MASK = "***"

PROJECT_TEMPLATE = """\
# gitmv project config: committed with the repository, so it never holds a secret.
# Credentials and machine paths go in the local config: `gitmv remote add --local ...`.
core:
  hash: xxh128
"""


def user_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "gitmv" / "config.yaml"


def is_secret_key(key: str) -> bool:
    """Whether an option (or config key) of this name holds a credential."""
    lowered = key.lower()
    return lowered in SECRET_NAMES or any(word in lowered for word in SECRET_WORDS)


def is_secret(key: str, value: object) -> bool:
    """A credential: a secret name, or a value that is a URL carrying a password."""
    return is_secret_key(key) or (isinstance(value, str) and has_url_password(value))


def redact_option(key: str, value: object) -> object:
    """What may be shown of an option: `***` for a secret name, a URL without its user info."""
    if is_secret_key(key):
        return MASK
    return redact_url(value) if isinstance(value, str) else value


def scrub(text: str, secrets: Iterable[object]) -> str:
    """`text` (an error from a storage library, a log line) with every URL's user info and
    each of `secrets` (values of secret options) blanked out."""
    import re  # here: only error messages are scrubbed

    text = re.sub(_USERINFO, r"\1***@", text)
    for value in secrets:
        if isinstance(value, str) and len(value) >= 3:
            text = text.replace(value, MASK)
    return text


class Config:
    """The merged view, plus the file behind each layer for writing."""

    def __init__(self, root: Path, common_dir: Path) -> None:
        self.root = root
        self.files = {
            "user": user_file(),
            "project": root / PROJECT_FILE,
            "local": common_dir / "gitmv" / "config.yaml",
        }
        self._docs: dict[str, Any] = {}  # a layer's ruamel document, read when first needed
        self.merged: dict[str, Any] = _copied(DEFAULTS)
        for layer in LAYERS:
            doc = self._load(layer)
            if doc:
                _merge(self.merged, doc)

    def _load(self, layer: str) -> Any:
        """The layer's settings: by the quick reader where it can (every command reads the
        config, and ruamel costs a clean `status` a seventh of its time), else by ruamel,
        whose document is then kept for a rewrite."""
        path = self.files[layer]
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._docs[layer] = None
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise GitmvError(f"cannot read config {path}: {exc}") from None
        quick = quickyaml.load(text)
        if quick is not None:
            return quick
        return self._round_trip(layer, text)

    def _round_trip(self, layer: str, text: str | None = None) -> Any:
        """The layer as ruamel reads it, comments and all: what a rewrite starts from."""
        if layer in self._docs:
            return self._docs[layer]
        from gitmv.base import yamlio

        path = self.files[layer]
        if text is None:
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self._docs[layer] = None
                return None
        doc = yamlio.loads(text, str(path))
        if doc is not None and not isinstance(doc, dict):
            raise GitmvError(
                f"{path}: config must be a YAML mapping", hint="fix or remove the file"
            )
        self._docs[layer] = doc
        return doc

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.merged
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return default if node is None else node

    def size(self, dotted: str, default: int) -> int:
        """A number of bytes (`chunking.min_size`, `pack.size`), checked as `gitmv config`
        checks it: a whole number, or one with a binary unit (`16MiB`) as a user may write
        it in the file by hand."""
        value = self.get(dotted, default)
        size = parse_size(value)
        if size is None:
            raise GitmvError(
                f"{dotted} must be {SIZE_WANTED}, not {value!r}",
                hint=f"set it with `gitmv config {dotted} SIZE` (default {default}); "
                "`gitmv config --list` shows which file sets it",
            )
        return size

    def flag(self, dotted: str, default: bool) -> bool:
        """A yes/no setting; the strings `false`, `no`, `off` and `0` (any case) mean no, as
        a user writing `gitmv config hooks.auto off` would expect."""
        value = self.get(dotted, default)
        if isinstance(value, str):
            return value.strip().lower() not in ("false", "no", "off", "0")
        return bool(value)

    def layer_doc(self, layer: str) -> Any:
        return self._round_trip(layer)

    def set(self, layer: str, dotted: str, value: Any) -> None:
        """Write `value` at `dotted` into `layer`'s file. Config never calls git: a caller
        that writes the project layer stages it (gitmv.ops.remotes.stage_config)."""
        from ruamel.yaml.comments import CommentedMap

        doc = self._round_trip(layer)
        if doc is None:
            doc = CommentedMap()
        node = doc
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = CommentedMap()
            node = node[part]
        node[parts[-1]] = value
        self._save(layer, doc)

    def unset(self, layer: str, dotted: str) -> bool:
        doc = self._round_trip(layer)
        node = doc
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict) or not isinstance(node.get(part), dict):
                return False
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node:
            return False
        del node[parts[-1]]
        self._save(layer, doc)
        return True

    def _save(self, layer: str, doc: Any) -> None:
        if layer == "project":
            _refuse_secrets(doc, "")
        from gitmv.base import yamlio

        path = self.files[layer]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, yamlio.dumps(doc).encode("utf-8"), 0o600 if layer != "project" else 0o644)
        self._docs[layer] = doc
        self.merged = _copied(DEFAULTS)
        for name in LAYERS:
            if merged := self._round_trip(name):
                _merge(self.merged, merged)


SIZE_WANTED = "a number of bytes, e.g. 8388608 or 8MiB"
_UNITS = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_size(raw: object) -> int | None:
    """A number of bytes: a whole number >= 0, or digits with a binary unit (`8MiB`,
    `512 KiB`); None for anything else (a boolean, a negative, a decimal unit)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz").rstrip()
    unit = text[len(digits) :].lstrip()
    # No `re` here: config is read on the start-up path (see docs/startup.md).
    if not digits.isdigit() or not digits.isascii() or unit not in _UNITS:
        return None
    return int(digits) * _UNITS[unit]


def _refuse_secrets(node: Any, where: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            name = f"{where}.{key}" if where else str(key)
            if is_secret_key(str(key)) and key != "url":
                raise GitmvError(
                    f"refusing to write the credential {name!r} to the committed project config",
                    hint="pass --local to keep it in the local config, outside git",
                )
            _refuse_secrets(value, name)
    elif isinstance(node, str) and has_url_password(node):
        raise GitmvError(
            f"refusing to write a URL with a password ({where}) to the committed project config",
            hint="pass --local, or let the storage library find credentials",
        )


def has_url_password(text: str) -> bool:
    """`scheme://user:password@host/...`: a URL that carries a password.

    A bare `user@` (sftp's `sftp://deploy@host`) names an account, not a secret: it may be
    committed, though every output still masks it."""
    _, sep, rest = text.partition("://")
    if not sep:
        return False
    authority = rest.split("/", 1)[0]
    return "@" in authority and ":" in authority.rsplit("@", 1)[0]


_USERINFO = r"(\w[\w+.-]*://)[^/@\s]*@"


def redact_url(text: str) -> str:
    """A URL with its user info (`user:password@`, `user@`) masked as `***@`."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = MASK + "@" + authority.rsplit("@", 1)[1]
    return f"{scheme}{sep}{authority}{slash}{path}"


def _merge(base: dict[str, Any], over: Any) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = _copied(value)


def _copied(value: Any) -> Any:
    """A deep copy of plain YAML data (what the quick reader and the defaults hold) without
    the `copy` module, which costs every command ~1 ms to import; anything else (ruamel's
    types, when a layer fell back to it) goes to `copy.deepcopy`, as before."""
    if type(value) is dict:
        return {key: _copied(item) for key, item in value.items()}
    if type(value) is list:
        return [_copied(item) for item in value]
    if isinstance(value, dict | list):
        import copy

        return copy.deepcopy(value)
    return value  # str, int, float, bool, None, a date: immutable
