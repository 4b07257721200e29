"""Plain rendering helpers with no Typer in them, for paths that must start fast (hooks)."""

from __future__ import annotations

import os
import sys

# Neither json nor typing at import: the hooks and a plain `status` load this module and
# never need them (a few ms of every start; mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# -q (-1), normal (0) or -v (1), set once per run by the shared options (gitmv.cli.surface);
# `_keep_output`: a query command's answer is printed even under -q.
_verbosity = 0
_keep_output = False


def set_verbosity(level: int) -> None:
    global _verbosity
    _verbosity = level


def keep_output() -> None:
    """This command's stdout is the answer asked for: -q does not silence it."""
    global _keep_output
    _keep_output = True


def verbosity() -> int:
    return _verbosity


def echo(text: str = "") -> None:
    """An info line on stdout: silenced by -q unless it is a query command's answer."""
    if _verbosity >= 0 or _keep_output:
        sys.stdout.write(text + "\n")


def detail(text: str) -> None:
    """A line only -v prints (on stderr: it never mixes into a --json document)."""
    if _verbosity > 0:
        sys.stderr.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")


def error(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")


def emit_json(data: Any) -> None:
    import json

    # default=str: a meta block may hold YAML dates
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def is_tty() -> bool:
    return sys.stderr.isatty() and os.environ.get("CI") is None


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
