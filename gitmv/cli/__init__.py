"""Command-line entry point: parse, call the core, render; map errors to exit codes."""

from __future__ import annotations

import os
import sys
import traceback

from gitmv.cli import hooks as _hooks  # noqa: F401
from gitmv.cli import registry as _registry  # noqa: F401
from gitmv.cli import remotes as _remotes  # noqa: F401
from gitmv.cli import workspace as _workspace  # noqa: F401  (registers its commands)
from gitmv.cli._app import app
from gitmv.errors import GitmvError

__all__ = ["app", "main"]


def main() -> None:
    """Run the app; Typer itself handles usage errors (exit 2) and `typer.Exit`."""
    try:
        app(args=_default_remote_flag(sys.argv[1:]))
    except GitmvError as exc:
        _error(exc.message, exc.hint)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # a bug: one line; the traceback only on request
        if os.environ.get("GITMV_DEBUG"):
            traceback.print_exc()
        _error(
            f"internal error: {type(exc).__name__}: {exc}",
            "rerun with GITMV_DEBUG=1 for a traceback, and report it",
        )
        sys.exit(1)


DEFAULT_REMOTE = ":default:"


def _default_remote_flag(args: list[str]) -> list[str]:
    """`status --remote` with no NAME means the default remote (Click's flag_value, which
    Typer does not offer): give the bare option an explicit stand-in value."""
    if not args or args[0] != "status":
        return args
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--remote" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, DEFAULT_REMOTE)
            break
    return out


def _error(message: str, hint: str | None) -> None:
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
