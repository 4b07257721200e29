"""What every command shares on the command line, added once to the whole Click tree.

`-h`, `-q/--quiet` and `-v/--verbose` are Click options appended to every command here,
not parameters repeated in forty signatures; Click's own usage errors are re-spelt
`error:`/`hint:` (exit 2) like every other error, and Ctrl-C exits 130.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import TYPE_CHECKING, Any

from gitmv.cli import coercion, render

try:  # Typer 0.28 runs on its own copy of Click; older ones on Click itself
    from typer._click import exceptions
except ImportError:  # pragma: no cover (Typer < 0.28)
    from click import exceptions  # type: ignore[no-redef]
from typer import Abort
from typer.core import TyperGroup

if TYPE_CHECKING:
    import typer

HELP_NAMES = ["-h", "--help"]

# Commands whose output is the answer asked for: `-q` keeps it and silences only the
# chatter around it (summaries, progress); every other command's stdout lines are chatter.
ANSWERS = frozenset(
    {
        "status",
        "ls",
        "diff",
        "remote list",
        "registry list",
        "registry show",
        "registry history",
        "registry diff",
    }
)


# `--show-completion SHELL` / `--install-completion SHELL`: Typer's flags take no value and
# ask shellingham which shell runs gitmv, so a name given after them was ignored (a zsh user
# in a bash session got the bash script). `run` takes the name off the command line first.
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
COMPLETION_OPTIONS = ("--show-completion", "--install-completion")
_shell: str | None = None  # the shell named on this command line


def build(app: typer.Typer) -> Any:
    """The Click command tree of `app`, with the shared options on every command."""
    import typer.main

    root = typer.main.get_command(app)
    root.context_settings = {**root.context_settings, "help_option_names": HELP_NAMES}
    _decorate(root, ())
    params: list[Any] = root.params
    for param in params:
        if param.opts and param.opts[0] in COMPLETION_OPTIONS:
            param.callback = _named_shell(param.callback)
            verb = "Show" if param.opts[0] == COMPLETION_OPTIONS[0] else "Install"
            shells = ", ".join(SHELLS[:4])
            param.help = f"{verb} completion for a shell: {shells} (default: the one running)."
    return root


def _named_shell(callback: Any) -> Any:
    """Typer's completion callback, given the shell named on the command line: with a
    string value it uses that shell instead of detecting one."""

    def named(ctx: Any, param: Any, value: Any) -> Any:
        return callback(ctx, param, _shell if value and _shell else value)

    return named


def _take_shell(args: list[str]) -> list[str]:
    """`args` without the shell named after a completion option (`--show-completion zsh`,
    `--show-completion=zsh`), which is kept in `_shell`; an unknown name is a usage error."""
    global _shell
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name not in COMPLETION_OPTIONS:
            if not arg.startswith("-"):
                break  # a command: the completion options belong to gitmv itself
            continue
        rest = args[i + 1 :]
        if not eq and rest and not rest[0].startswith("-"):
            value, rest = rest[0], rest[1:]
        elif not eq:
            return args  # no name: Typer detects the shell
        if value not in SHELLS:
            raise exceptions.UsageError(
                f"{name}: unknown shell {value!r}; name one of {', '.join(SHELLS[:4])}"
            )
        _shell = value
        return [*args[:i], name, *rest]
    return args


def _decorate(command: Any, path: tuple[str, ...]) -> None:
    command.params.extend(
        [
            coercion.flag(
                param_decls=["-q", "--quiet"],
                expose_value=False,
                callback=_level(-1),
                help="Print only errors, warnings and the answer asked for; no progress.",
            ),
            coercion.flag(
                param_decls=["-v", "--verbose"],
                expose_value=False,
                callback=_level(1),
                help="Print more detail (every file changed, timings).",
            ),
        ]
    )
    coercion.install(command)
    if " ".join(path) in ANSWERS and command.callback is not None:
        command.callback = _answering(command.callback)
    if isinstance(command, TyperGroup):
        for sub_name, sub in command.commands.items():
            sub.context_settings = {**sub.context_settings, "help_option_names": HELP_NAMES}
            _decorate(sub, (*path, sub_name))


def _level(level: int) -> Any:
    def callback(ctx: Any, param: Any, value: bool) -> None:
        if value:
            render.set_verbosity(level)

    return callback


def _answering(function: Any) -> Any:
    """A query command's body: its answer prints under -q too (given before or after it)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        render.keep_output()
        return function(*args, **kwargs)

    return run


def run(app: typer.Typer, args: list[str]) -> int:
    """Run a command line; the exit code (errors raised by the core are left to the caller)."""
    command = build(app)
    started = time.monotonic()
    try:
        args = _take_shell(args)
        result = command.main(
            args=args, prog_name="gitmv", complete_var="_GITMV_COMPLETE", standalone_mode=False
        )
    except exceptions.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            sys.stdout.write(exc.ctx.get_help() + "\n")  # `gitmv`, `gitmv remote`: the help
            return 0
        render.error(_sentence(exc.format_message()), _usage_hint(exc.ctx))
        return 2
    except Abort as exc:  # Click's prompt turns Ctrl-C (and end of input) into Abort
        if isinstance(exc.__context__, EOFError):
            render.error("no answer (end of input)")
            return 1
        raise KeyboardInterrupt from exc
    except exceptions.ClickException as exc:
        render.error(_sentence(exc.format_message()))
        return exc.exit_code
    if result == 130:  # Typer turned Ctrl-C into Exit(130); the core cleaned up on its way
        render.error("interrupted")
    if render.verbosity() > 0:
        sys.stderr.write(f"gitmv: {time.monotonic() - started:.2f} s\n")
    # Typer returns an Exit's code in non-standalone mode; a command's own return is None.
    return result if isinstance(result, int) else 0


def _sentence(message: str) -> str:
    """Click's messages start with a capital and end with a full stop; ours do neither."""
    message = message.strip().rstrip(".")
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def _usage_hint(ctx: Any) -> str:
    where = ctx.command_path if ctx is not None else "gitmv"
    return f"`{where} -h` shows the usage"
