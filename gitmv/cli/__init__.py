"""Command-line entry point: parse, call the core, render; map errors to exit codes.

Start-up matters here: `--version`, a plain `status` and the hooks git runs on every checkout
and push take fast paths that import neither Typer nor `typing` (see docs/startup.md), so this
module imports only what every command needs.
"""

from __future__ import annotations

import errno  # built into the interpreter: free
import os
import sys

from gitmv.base.errors import GitmvError

# Not `from typing import TYPE_CHECKING`: importing typing costs a few ms of every start;
# mypy treats any constant of this name as typing's.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import typer

__all__ = ["load_app", "main"]


# The module that registers each top-level command; workspace's are always loaded (it also
# holds the root callback, `--version`).
_GROUPS = {
    "install": "hooks",
    "uninstall": "hooks",
    "hook": "hooks",
    "push": "transfers",
    "fetch": "transfers",
    "pull": "transfers",
    "verify": "transfers",
    "gc": "gcview",
    "registry": "registry",
    "remote": "remotes",
    "import": "imports",
    "config": "manage",
    "rm": "manage",
    "mv": "manage",
    "doctor": "manage",
    "repack": "packs",
}
# A group whose commands two modules register (the second on the first's sub-app).
_MORE = {"registry": "registryfind"}
_WORKSPACE = frozenset({"init", "add", "status", "checkout", "ls", "diff"})


def load_app(command: str | None = None) -> typer.Typer:
    """The Typer app with the command groups registered: only those `command` needs when it
    is a known command, since Typer inspects the signature of every registered command at
    start-up (20 ms for all of them, an eighth of `gitmv status`); all of them otherwise
    (`--help`, a misspelt command)."""
    import importlib

    from gitmv.cli import workspace  # noqa: F401  (registers its commands)
    from gitmv.cli._app import app

    if command in _WORKSPACE:
        return app
    # in this order, which is `--help`'s
    wanted = [_GROUPS[command]] if command in _GROUPS else list(dict.fromkeys(_GROUPS.values()))
    for module in wanted:
        importlib.import_module(f"gitmv.cli.{module}")
        if module in _MORE:
            importlib.import_module(f"gitmv.cli.{_MORE[module]}")
    return app


def main() -> None:
    """Run a command: exit 0, 1 on an error, 2 on a usage error (gitmv.cli.surface), 130 on
    Ctrl-C."""
    args = sys.argv[1:]
    try:
        if args == ["--version"]:
            # What Typer's eager `--version` option prints (gitmv.cli.workspace), without Typer.
            from gitmv import __version__

            sys.stdout.write(f"gitmv {__version__}\n")
            return
        if len(args) >= 2 and args[0] == "hook" and not args[1].startswith("-"):
            # The shims run this on every checkout, merge and push: skip Typer's start-up.
            from gitmv.cli import hookrun

            sys.exit(hookrun.run(args[1], args[2:]))
        if args in (["status"], ["status", "--json"]):
            # The command run most, in its plain forms: skip Typer's start-up too.
            from gitmv.cli import statusview

            return statusview.show([], None, json_out=len(args) == 2)
        from gitmv.cli import surface

        sys.exit(surface.run(load_app(_command(args)), _default_remote_flag(args)))
    except GitmvError as exc:
        _error(exc.message, exc.hint)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            _internal(exc)
        _error(*_no_space(exc))  # a full disk or quota is not a bug: no traceback
        sys.exit(1)
    except Exception as exc:  # a bug: one line; the traceback only on request
        _internal(exc)


def _command(args: list[str]) -> str | None:
    """The command named, past the root's own options (`gitmv -q push`)."""
    return next((a for a in args if not a.startswith("-")), None)


def _internal(exc: Exception) -> None:
    if os.environ.get("GITMV_DEBUG"):
        import traceback  # here, not at the top: it costs every start several ms

        traceback.print_exc()
    _error(
        f"internal error: {type(exc).__name__}: {exc}",
        "rerun with GITMV_DEBUG=1 for a traceback, and report it",
    )
    sys.exit(1)


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _no_space(exc: OSError) -> tuple[str, str]:
    """ENOSPC/EDQUOT met where the core did not name the folder: name the file if known."""
    what = "quota exceeded" if exc.errno == errno.EDQUOT else "no space left on the device"
    where = f" writing {os.path.dirname(os.path.abspath(exc.filename))}" if exc.filename else ""
    return f"{what}{where}", "free some space (`gitmv gc` removes unused objects), then retry"


def _default_remote_flag(args: list[str]) -> list[str]:
    """`status --remote` with no NAME means the default remote (Click's flag_value, which
    Typer does not offer): give the bare option an explicit stand-in value."""
    if _command(args) != "status":  # `gitmv -q status --remote` too
        return args
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--remote" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            from gitmv.cli.statusview import DEFAULT_REMOTE

            out.insert(i + 1, DEFAULT_REMOTE)
            break
    return out


def _error(message: str, hint: str | None) -> None:
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
