"""Installing git hooks: the shims, where they go, and how they sit beside other tools' hooks.

A shim is a few lines of POSIX sh that run the hook that was there before, then
`gitmv hook NAME "$@"`. A hook that was there is moved aside under a name of gitmv's own,
`<hook>.gitmv-chained`, never `<hook>.legacy`: that is pre-commit's migration name, and
pre-commit's hook refuses to run under it. Husky's hooks (`. "${0%/*}/h"`) find the user's
script by their own file name, so they are kept as `<hook>.gitmv-chained-sh` and sourced in a
subshell, where `$0` is still the hook's name. This module is light on purpose: every
command asks `missing()` whether the shims are there.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitmv.atomic import write_bytes
from gitmv.errors import GitmvError
from gitmv.hookcheck import (
    HOOKS,
    LEGACY,
    MARKER,
    auto_install,
    head,
    hooks_folder,
    is_old_shim,
    is_ours,
    missing,
)

if TYPE_CHECKING:
    from gitmv.repo import Repo

CHAINED = ".gitmv-chained"  # a foreign hook moved aside: the shim runs it
SOURCED = ".gitmv-chained-sh"  # husky's hook moved aside: the shim sources it, keeping $0
_STDIN_HOOKS = frozenset({"pre-push", "post-rewrite"})  # git writes lines on their stdin
_SHIM_MODE = 0o755
# husky 9: `. "${0%/*}/h"` (9.1) or `. "$(dirname -- "$0")/h"` (9.0), beside its `h` script
_HUSKY = re.compile(r'^\.\s+"(\$\{0%/\*\}|\$\(dirname (--\s+)?"\$0"\))/h"\s*$', re.M)

# -- shims -----------------------------------------------------------------------------------

_SHIM = """\
#!/bin/sh
{marker}: `gitmv install` wrote this file; `gitmv uninstall` removes it.
# Runs the hook that was here before (kept beside it as {name}{chained}), then
# `gitmv hook {name}`; does nothing more in a repository without .gitmv/.
# When gitmv is not on PATH, the interpreter that installed this shim is tried.
GITMV_PYTHON={python}
{stdin}
status=0
# The folder from this file's own path: another hook manager may run it under another name.
case $0 in */*) here=${{0%/*}} ;; *) here=. ;; esac
if [ -x "$here/{name}{chained}" ]; then
    {feed}"$here/{name}{chained}" "$@" || {legacy_failed}
elif [ -f "$here/{name}{sourced}" ]; then
    # husky's hook finds its script by $0: source it in a subshell, where $0 is this file
    {feed}( . "$here/{name}{sourced}" ) || {legacy_failed}
fi
[ -f .gitmv/config.yaml ] || exit $status
if command -v gitmv >/dev/null 2>&1; then
    {feed}gitmv hook {name} "$@" || {gitmv_failed}
elif [ -x "$GITMV_PYTHON" ] && "$GITMV_PYTHON" -c 'import gitmv' 2>/dev/null; then
    {feed}"$GITMV_PYTHON" -m gitmv hook {name} "$@" || {gitmv_failed}
else
{missing}
fi
exit $status
"""

_STDIN = """
# git writes lines on stdin that both the old hook and gitmv read: keep them to replay.
input=$(cat)
replay() {
    if [ -n "$input" ]; then printf '%s\\n' "$input"; fi
}"""

# pre-push refuses when gitmv cannot run: a pointer must never be published without its
# bytes. The post-* hooks never fail git: the work tree is already switched.
_MISSING_STRICT = """\
    echo "error: gitmv is not installed here (nor on PATH): refusing the push, so that \
no pointer is published without its bytes" >&2
    echo "hint: install gitmv or activate its virtualenv; \\`gitmv uninstall\\` removes \
its hooks" >&2
    exit 1"""

_MISSING_LENIENT = """\
    echo "warning: gitmv is not installed here (nor on PATH): artifacts were not \
restored" >&2
    echo "hint: install gitmv or activate its virtualenv, then run \\`gitmv checkout\\`" >&2"""


def render_shim(name: str, python: str) -> str:
    """The shim for hook `name`; `python` ("" for none) is the fallback interpreter."""
    strict = name == "pre-push"
    return _SHIM.format(
        marker=MARKER,
        name=name,
        chained=CHAINED,
        sourced=SOURCED,
        python=shlex.quote(python),
        stdin=_STDIN if name in _STDIN_HOOKS else "",
        feed="replay | " if name in _STDIN_HOOKS else "",
        legacy_failed="exit $?" if strict else "status=$?",
        gitmv_failed="exit $?" if strict else ":",
        missing=_MISSING_STRICT if strict else _MISSING_LENIENT,
    )


def _is_husky(path: Path) -> bool:
    return (path.parent / "h").is_file() and _HUSKY.search(head(path)) is not None


# -- install / uninstall ---------------------------------------------------------------------


@dataclass(frozen=True)
class HookChange:
    hook: str
    path: Path
    # installed | chained (the hook that was there now runs first, kept as <hook>.gitmv-chained)
    # | updated | unchanged | removed | restored (moved back) | foreign (not ours: left alone)
    # | absent
    action: str
    kept_as: Path | None = None  # chained: where the hook that was there now is


@dataclass(frozen=True)
class InstallReport:
    folder: Path  # where the hooks are
    changes: tuple[HookChange, ...]
    template: Path | None = None  # install --global: the git template folder
    note: str | None = None  # something the user should know (a setting that shadows ours)

    @property
    def written(self) -> tuple[HookChange, ...]:
        return tuple(c for c in self.changes if c.action in ("installed", "chained", "updated"))


def install(repo: Repo, *, python: str = sys.executable) -> InstallReport:
    """Install the shims where git looks for this repository's hooks (core.hooksPath honoured)."""
    folder = hooks_folder(repo)
    return InstallReport(folder, tuple(install_into(folder, python)))


def uninstall(repo: Repo) -> InstallReport:
    folder = hooks_folder(repo)
    return InstallReport(folder, tuple(uninstall_from(folder)))


def set_auto_install(repo: Repo, on: bool) -> None:
    """Record the switch in the local config: it is this clone's choice, not the project's."""
    if on:
        if repo.config.get("hooks.auto") is not None:
            repo.config.unset("local", "hooks.auto")
    elif auto_install(repo):
        repo.config.set("local", "hooks.auto", False)


@dataclass(frozen=True)
class _Plan:
    change: HookChange
    target: Path  # where the shim is written
    text: str
    moves: tuple[tuple[Path, Path], ...] = ()  # (from, to), done before the shim is written


def install_into(folder: Path, python: str) -> list[HookChange]:
    """Install every shim in `folder`; plan all first, so a conflict leaves nothing half done."""
    plans = [_plan_install(folder / name, render_shim(name, python)) for name in HOOKS]
    folder.mkdir(parents=True, exist_ok=True)
    for plan in plans:
        for source, dest in plan.moves:
            os.replace(source, dest)
        if plan.change.action in ("installed", "chained", "updated"):
            write_bytes(plan.target, plan.text.encode(), _SHIM_MODE)
    return [plan.change for plan in plans]


def _plan_install(path: Path, text: str) -> _Plan:
    hook, legacy = path.name, _beside(path, LEGACY)
    if is_ours(path):
        if is_old_shim(path) and os.path.lexists(legacy) and not is_ours(legacy):
            # An older gitmv kept the hook that was here as .legacy: give it our chain name,
            # so that pre-commit's hook (if it is that) no longer runs in migration mode.
            dest = _chain_name(legacy, path)
            return _Plan(HookChange(hook, path, "updated", dest), path, text, ((legacy, dest),))
        action = "unchanged" if _read(path) == text else "updated"
        return _Plan(HookChange(hook, path, action), path, text)
    if is_ours(legacy):  # pre-commit moved our shim aside and runs it: still installed
        action = "unchanged" if _read(legacy) == text else "updated"
        return _Plan(HookChange(hook, path, action), legacy, text)
    if os.path.lexists(path):
        dest = _chain_name(path, path)
        return _Plan(HookChange(hook, path, "chained", dest), path, text, ((path, dest),))
    return _Plan(HookChange(hook, path, "installed"), path, text)


def _chain_name(source: Path, hook: Path) -> Path:
    """Where the foreign hook `source` goes so that the shim at `hook` runs it.

    A chain file already there is replaced only when it holds the same bytes (husky
    rewrites its hooks on every `npm install`, and gitmv chains them again).
    """
    sourced = _is_husky(source)
    dest = _beside(hook, SOURCED if sourced else CHAINED)
    other = _beside(hook, CHAINED if sourced else SOURCED)
    for taken in (dest, other):
        if os.path.lexists(taken) and not (taken == dest and _same_bytes(taken, source)):
            raise GitmvError(
                f"cannot install the {hook.name} hook: {taken} already exists",
                hint="a hook gitmv moved aside earlier is still there: merge it with "
                f"{source.name} by hand (or remove it), then run `gitmv install` again",
            )
    return dest


def uninstall_from(folder: Path) -> list[HookChange]:
    """Remove our shims from `folder`, moving each hook that was there before back."""
    changes = []
    for name in HOOKS:
        path = folder / name
        legacy = _beside(path, LEGACY)
        if is_ours(path):
            candidates = [_beside(path, CHAINED), _beside(path, SOURCED)]
            if is_old_shim(path):
                candidates.append(legacy)  # an older gitmv kept it there
            os.unlink(path)
            kept = next((c for c in candidates if os.path.lexists(c) and not is_ours(c)), None)
            if kept is not None:
                os.replace(kept, path)
                changes.append(HookChange(name, path, "restored"))
            else:
                changes.append(HookChange(name, path, "removed"))
        elif is_ours(legacy):
            os.unlink(legacy)  # chained under pre-commit's hook, which runs it if present
            changes.append(HookChange(name, legacy, "removed"))
        elif os.path.lexists(path):
            changes.append(HookChange(name, path, "foreign"))
        else:
            changes.append(HookChange(name, path, "absent"))
    return changes


def install_global(*, python: str = sys.executable) -> InstallReport:
    """Put the shims in git's template folder, so every later `git clone` / `git init` has them.

    An `init.templateDir` the user already set is used as it is; otherwise gitmv sets one of
    its own (which, unlike git's built-in template, holds only the hooks).
    """
    from gitmv import git

    configured = _configured_template()
    template = configured or _own_template()
    changes = install_into(template / "hooks", python)
    if configured is None:
        git.global_config_set("init.templateDir", str(template))
    note = None
    if os.environ.get("GIT_TEMPLATE_DIR"):
        note = "GIT_TEMPLATE_DIR is set in your environment and wins over init.templateDir"
    return InstallReport(template / "hooks", tuple(changes), template, note)


def uninstall_global() -> InstallReport:
    from gitmv import git

    template = _configured_template()
    if template is None:
        return InstallReport(_own_template() / "hooks", ())
    folder = template / "hooks"
    changes = uninstall_from(folder)
    if template == _own_template():  # ours alone: leave no empty folder or setting behind
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        if template.is_dir() and not any(template.iterdir()):
            template.rmdir()
        git.global_config_unset("init.templateDir")
    return InstallReport(folder, tuple(changes), template)


def _configured_template() -> Path | None:
    from gitmv import git

    value = git.global_config_get("init.templateDir")
    return Path(os.path.expanduser(value)) if value else None


def _own_template() -> Path:
    from gitmv.config import user_file

    return user_file().parent / "git-template"


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


__all__ = [
    "CHAINED",
    "HOOKS",
    "LEGACY",
    "MARKER",
    "SOURCED",
    "HookChange",
    "InstallReport",
    "auto_install",
    "hooks_folder",
    "install",
    "install_global",
    "install_into",
    "is_ours",
    "missing",
    "render_shim",
    "set_auto_install",
    "uninstall",
    "uninstall_from",
    "uninstall_global",
]
