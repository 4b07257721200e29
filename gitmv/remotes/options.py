"""A remote as the config describes it (`RemoteSpec`): what its name, URL and options may
be, and the retry policy the options set.

Checked when `remote add` writes them (so that nothing wrong is written) and again when a
command reads them (a hand-edited config gets the same error, naming the option, instead
of a failure deep inside a storage library). No fsspec here: the protocol check asks
`filesystems.check_installed`, which imports it only when called.
"""

from __future__ import annotations

import math
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitmv.base.config import redact_option, redact_url
from gitmv.base.errors import GitmvError
from gitmv.remotes import filesystems

# Options whose value is a number of seconds: finite and above zero.
TIMEOUTS = frozenset(
    {"timeout", "read_timeout", "connect_timeout", "retry_timeout", "requests_timeout"}
)
# Options the storage libraries read as booleans.
BOOLEANS = frozenset({"anon", "use_ssl", "requester_pays", "version_aware"})

DEFAULT_RETRIES = 5  # retries after the first try, for transient errors only
DEFAULT_RETRY_TIMEOUT = 60.0  # seconds one object may spend in tries and waits
DEFAULT_RETRY_DELAY = 0.25  # seconds before the first retry; doubles each time, with jitter
MAX_DELAY = 8.0
ALIASES = {"endpointurl": "endpoint_url", "region_name": "region"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class RemoteSpec:
    """A named remote as the config describes it; `options` never reach an error message."""

    name: str
    url: str
    options: Mapping[str, object] = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        return f"{self.name!r} ({redact_url(self.url)})"

    @property
    def jobs(self) -> int | None:
        value = self.options.get("jobs")
        return None if value is None else parse_jobs(value, self.name)


def check_name(name: str) -> str:
    """A remote name is one config key: letters, digits, `_`, `-`, `.` (not leading)."""
    if not _NAME.fullmatch(name) or "." in name:
        raise GitmvError(
            f"invalid remote name {name!r}",
            hint="use letters, digits, '_' and '-', e.g. `origin` or `s3-models`",
        )
    return name


def parse_jobs(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise GitmvError(f"{where}: jobs must be a positive integer, got {value!r}")
    jobs = int(value)
    if jobs < 1:
        raise GitmvError(f"{where}: jobs must be a positive integer, got {value!r}")
    return jobs


def normalize_options(options: Mapping[str, object]) -> dict[str, object]:
    """Accept DVC's spellings (`endpointurl`) and check the options gitmv itself reads
    (`check_options`: jobs, retries, timeouts, booleans, no control characters)."""
    out: dict[str, object] = {}
    for key, value in options.items():
        name = ALIASES.get(key.lower(), key)
        if name == "url":
            raise GitmvError("the URL is the remote's second argument, not an option")
        out[name] = value
    return check_options(out)


def check_protocol(url: str, name: str | None = None) -> None:
    """A URL's protocol must be one fsspec knows, with its package installed: `remote add`
    refuses `s4://` or an `sftp://` without paramiko (or `s3://` without gitmv[s3]) now, not
    at the first push. `name` is the remote's, for the error."""
    if "://" in url and not url.startswith("file://"):
        filesystems.check_installed(url, name)


@dataclass(frozen=True)
class RetryPolicy:
    """How gitmv retries one object (the only retry layer: the storage libraries' own are
    turned off). Options `retries`, `retry_timeout`, `retry_delay` of the remote set it."""

    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_RETRY_TIMEOUT
    delay: float = DEFAULT_RETRY_DELAY

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> RetryPolicy:
        retries = options.get("retries")
        timeout = options.get("retry_timeout")
        delay = options.get("retry_delay")
        return cls(
            DEFAULT_RETRIES if retries is None else _integer("retries", retries, minimum=0),
            DEFAULT_RETRY_TIMEOUT
            if timeout is None
            else float(_seconds("retry_timeout", timeout, positive=True)),
            DEFAULT_RETRY_DELAY
            if delay is None
            else float(_seconds("retry_delay", delay, positive=False)),
        )

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt + 1`: exponential, full jitter
        around the nominal value so that many threads do not retry in step."""
        nominal = min(self.delay * 2.0**attempt, MAX_DELAY)
        return nominal * (0.5 + random.random())


def check_options(options: Mapping[str, object]) -> dict[str, object]:
    """The options with gitmv's own typed (`jobs`, `retries`, timeouts, booleans), or an
    error naming the option and its bad value."""
    out: dict[str, object] = {}
    for key, value in options.items():
        lowered = key.lower()
        if lowered == "jobs":
            value = _integer(key, value, minimum=1)
        elif lowered == "retries":
            value = _integer(key, value, minimum=0)
        elif lowered in TIMEOUTS:
            value = _seconds(key, value, positive=True)
        elif lowered == "retry_delay":
            value = _seconds(key, value, positive=False)
        elif lowered in BOOLEANS:
            value = _boolean(key, value)
        elif isinstance(value, str):
            check_text(f"remote option {key}", value, shown=str(redact_option(key, value)))
        out[key] = value
    return out


def _bad(key: str, value: object, expected: str) -> GitmvError:
    shown = redact_option(key, value)
    return GitmvError(
        f"remote option {key}: expected {expected}, got {shown!r}",
        hint=f"e.g. --option {key}={_EXAMPLES.get(key.lower(), '1')}",
    )


_EXAMPLES = {"jobs": "8", "retries": "5", "retry_delay": "0.25", "anon": "true"}


def _integer(key: str, value: object, *, minimum: int) -> int:
    text = str(value).strip()
    what = "a positive integer" if minimum == 1 else f"an integer, {minimum} or more"
    if isinstance(value, bool) or not isinstance(value, int | str) or not text.isdigit():
        raise _bad(key, value, what)
    if int(text) < minimum:
        raise _bad(key, value, what)
    return int(text)


def _seconds(key: str, value: object, *, positive: bool) -> float | int:
    what = "a finite number of seconds" + (" above 0" if positive else ", 0 or more")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(key, value, what)
    try:
        number = float(value)
    except ValueError:
        raise _bad(key, value, what) from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise _bad(key, value, what)
    return int(number) if number.is_integer() else number


def _boolean(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(key, value, "true or false")


def check_text(what: str, text: str, *, shown: str) -> None:
    """No control character anywhere (a newline would split a config line, an escape
    sequence would rewrite the terminal), no blank around it."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise GitmvError(
            f"{what} {shown!r} contains a control character",
            hint="type it again without the newline, tab or escape",
        )
    if text != text.strip():
        raise GitmvError(
            f"{what} {shown!r} has spaces at the start or end",
            hint="quote the value without them",
        )


def check_url(url: str, *, cwd: Path, root: Path, git_dir: Path) -> str:
    """A remote URL as typed in `cwd`: no control character, no blanks around it or in a
    host or bucket, and a folder outside the work tree `root` and outside `git_dir` (a
    store inside the work tree would be committed, or fill it on the first push)."""
    shown = redact_url(url)
    if not url.strip():
        raise GitmvError("the remote URL is empty", hint="e.g. /srv/store or s3://bucket/prefix")
    check_text("remote URL", url, shown=shown)
    scheme, sep, rest = url.partition("://")
    if sep:
        authority = rest.split("/", 1)[0]
        if not scheme or any(c.isspace() for c in scheme + authority):
            raise GitmvError(
                f"remote URL {shown!r}: a space in its protocol, host or bucket",
                hint="e.g. s3://bucket/prefix",
            )
    if sep and scheme.lower() != "file":
        return url
    path = Path(os.path.expanduser(rest if sep else url))
    where = path if path.is_absolute() else cwd / path
    folder = Path(os.path.realpath(where))
    for inside, name in ((git_dir, "the .git folder"), (root, "the work tree")):
        base = Path(os.path.realpath(inside))
        if folder == base or base in folder.parents:
            raise GitmvError(
                f"remote URL {shown!r}: the folder {folder} lies inside {name}",
                hint="a remote folder lives outside the repository, e.g. ../store or /srv/store",
            )
    return url
