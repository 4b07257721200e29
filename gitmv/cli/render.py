"""Plain rendering helpers with no Typer in them, for paths that must start fast (hooks)."""

from __future__ import annotations

import os
import sys

# Neither json nor typing at import: the hooks and a plain `status` load this module and
# never need them (a few ms of every start; mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")


def error(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")


def emit_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def is_tty() -> bool:
    return sys.stderr.isatty() and os.environ.get("CI") is None


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
