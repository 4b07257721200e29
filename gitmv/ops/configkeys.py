"""The config keys gitmv knows: each one's type, default and meaning, and how a value typed
on the command line becomes the value written (`gitmv config`, checked by `gitmv doctor`).

The table lives in ops/, not base/: its checks are the ones the readers themselves apply
(`base.config.parse_size`, `store.cache.LINK_TYPES`, `store.chunking.check_avg_size`,
`repo.history.parse_grace`, `remotes.options.check_options`), and one fact keeps one home.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitmv.base.config import SIZE_WANTED, is_secret, parse_size
from gitmv.base.errors import GitmvError

HINT = "`gitmv config --list` shows every key; docs/config.md says what each takes"


@dataclass(frozen=True)
class Key:
    """One known key: `kind` names its type as users read it (docs/config.md, errors)."""

    name: str
    kind: str
    default: Any
    help: str
    parse: Callable[[str, Any], Any]  # (key, raw value) -> the value written; raises


def _bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise _bad(key, raw, "true or false")


def _count(minimum: int) -> Callable[[str, Any], int]:
    def parse(key: str, raw: Any) -> int:
        if isinstance(raw, bool) or not (isinstance(raw, int) or str(raw).strip().isdigit()):
            raise _bad(key, raw, f"a whole number >= {minimum}")
        value = int(raw)
        if value < minimum:
            raise _bad(key, raw, f"a whole number >= {minimum}")
        return value

    return parse


def _bytes(key: str, raw: Any) -> int:
    """A number of bytes: `8388608`, or with a binary unit, `8MiB` (written as the number);
    the readers check a value in the file by the same `parse_size`."""
    value = parse_size(raw)
    if value is None:
        raise _bad(key, raw, SIZE_WANTED)
    if key == "chunking.avg_size":
        from gitmv.store.chunking import check_avg_size

        check_avg_size(value)
    return value


def _seconds(key: str, raw: Any) -> int | float:
    try:
        value = float(raw) if not isinstance(raw, bool) else -1.0
    except (TypeError, ValueError):
        value = -1.0
    if value < 0 or value != value or value == float("inf"):
        raise _bad(key, raw, "a number of seconds >= 0")
    return int(value) if value.is_integer() else value


def _choice(*choices: str) -> Callable[[str, Any], str]:
    def parse(key: str, raw: Any) -> str:
        if str(raw) not in choices:
            raise _bad(key, raw, " or ".join(choices))
        return str(raw)

    return parse


def _links(key: str, raw: Any) -> list[str]:
    from gitmv.store.cache import LINK_TYPES

    items = raw if isinstance(raw, list) else str(raw).split(",")
    links = [str(v).strip() for v in items if str(v).strip()]
    if not links or any(v not in LINK_TYPES for v in links):
        raise _bad(key, raw, f"a comma-separated list of {', '.join(LINK_TYPES)}")
    return links


def _duration(key: str, raw: Any) -> int | float | str:
    from gitmv.repo.history import parse_grace

    parse_grace(raw)  # raises the reader's own error, with its examples
    text = str(raw).strip()
    return int(text) if text.isdigit() else raw if not isinstance(raw, str) else text


def _text(key: str, raw: Any) -> str:
    text = str(raw)
    if not text.strip() or any(ord(c) < 32 for c in text):
        raise _bad(key, raw, "a non-empty line of text")
    return text


def _remote_name(key: str, raw: Any) -> str:
    from gitmv.remotes.options import check_name

    return check_name(str(raw))


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key(
            "core.hash",
            "xxh128 | sha256",
            "xxh128",
            "hash of new objects",
            _choice("xxh128", "sha256"),
        ),
        Key("core.remote", "remote name", None, "the default remote", _remote_name),
        Key(
            "core.jobs",
            "integer >= 1",
            None,
            "parallel local work (default: one per CPU, 2 to 8)",
            _count(1),
        ),
        Key("core.fsync", "boolean", True, "fsync objects and pointers before publishing", _bool),
        Key(
            "core.lock_timeout", "seconds", 30, "how long to wait for the repository lock", _seconds
        ),
        Key("cache.dir", "path", None, "the cache (default <git-common-dir>/gitmv/cache)", _text),
        Key("cache.link", "list", ["reflink", "copy"], "how checkout materialises files", _links),
        Key(
            "cache.chunked",
            "boolean",
            False,
            "keep files of chunking.min_size or more as chunks in the cache",
            _bool,
        ),
        Key("checkout.autopull", "boolean", True, "hooks fetch missing objects on checkout", _bool),
        Key(
            "chunking.min_size",
            "bytes",
            8 * 1024**2,
            "files this large are pushed as chunks",
            _bytes,
        ),
        Key("chunking.avg_size", "bytes", 1024**2, "average chunk size (64 KiB to 4 MiB)", _bytes),
        Key(
            "gc.remote_grace",
            "duration",
            "14.days",
            "age below which remote gc keeps objects",
            _duration,
        ),
        Key("hooks.auto", "boolean", True, "commands that write install missing hooks", _bool),
        Key(
            "pack.max_object", "bytes", 4 * 1024**2, "objects below this size go into packs", _bytes
        ),
        Key("pack.size", "bytes", 64 * 1024**2, "the largest pack on a remote", _bytes),
    )
}

# remote.NAME.<option>: the options gitmv itself reads; any other name is handed to the
# storage library as is (`client_kwargs`, `project`, ...), so it is accepted unchecked.
REMOTE_URL = "remote.NAME.url"


def lookup(dotted: str) -> Key | None:
    """The key `dotted` names, or None for a remote's entry (`remote.NAME[.OPTION]`)."""
    if dotted.startswith("remote."):
        return None
    key = KEYS.get(dotted)
    if key is None:
        raise unknown(dotted)
    return key


def unknown(dotted: str) -> GitmvError:
    close = difflib.get_close_matches(dotted, [*KEYS, REMOTE_URL], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return GitmvError(f"unknown config key {dotted!r}", hint=hint + HINT)


def parse_value(dotted: str, raw: Any) -> Any:
    """The value to write for `dotted`, checked as its reader would check it."""
    key = lookup(dotted)
    if key is not None:
        return key.parse(dotted, raw)
    return _remote_value(dotted, raw)


def _remote_value(dotted: str, raw: Any) -> Any:
    from gitmv.remotes.options import check_name, check_options, check_protocol

    parts = dotted.split(".")
    if len(parts) < 3 or not parts[2]:
        raise GitmvError(
            f"config key {dotted!r} names no remote setting",
            hint="write remote.NAME.url or remote.NAME.OPTION; `gitmv remote add` adds a remote",
        )
    check_name(parts[1])
    option = ".".join(parts[2:])
    if option == "url":
        text = _text(dotted, raw)
        check_protocol(text)
        return text
    if isinstance(raw, str):  # `true`, `8` as the storage libraries expect them
        from gitmv.ops.remotes import parse_option

        raw = parse_option(f"{option}={raw}")[1]
    return check_options({option: raw})[option]


def secret_in(dotted: str, value: Any) -> bool:
    """Whether writing `value` at `dotted` would put a credential in the file."""
    return dotted.startswith("remote.") and is_secret(dotted.rsplit(".", 1)[-1], value)


def check_present(dotted: str, value: Any) -> str | None:
    """What is wrong with a value found in a config file (None: nothing), for doctor."""
    try:
        parse_value(dotted, value)
    except GitmvError as exc:
        return exc.message
    return None


def _bad(key: str, raw: Any, wanted: str) -> GitmvError:
    return GitmvError(f"{key} must be {wanted}, not {raw!r}", hint=HINT)
