"""`gitmv doctor`: what is wrong with this setup, and the fix for each problem.

Looks at git (its version), the hooks (installed, executable, chained, able to find gitmv),
the hook managers beside them (pre-commit, husky, lefthook), the config (every key known,
every value valid, no credential in the committed file), the cache (readable, writable,
free space) and each remote (reachable, credentials accepted, how long a probe takes).
Every check reports; none raises: a broken part is a finding, and the next check still runs.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitmv.base import git
from gitmv.base.config import LAYERS, PROJECT_FILE
from gitmv.base.errors import GitmvError, NotARepository
from gitmv.hooks.check import HOOKS, LEGACY, head, hooks_folder, is_old_shim, is_ours
from gitmv.hooks.install import CHAINED, PRE_COMMIT_ID
from gitmv.ops import configkeys
from gitmv.ops.configure import leaves
from gitmv.repo.context import Repo

MIN_GIT = (2, 31)  # `rev-parse --path-format=absolute`, which every command asks
MIN_FREE = 1024**3  # below 1 GiB free where the cache lives, an add or a pull may not fit
_SCOPE_FLAG = {"project": "", "local": "--local ", "user": "--global "}


@dataclass(frozen=True)
class Finding:
    """One check's outcome; a problem carries its fix (a command, or what to do)."""

    check: str  # git, hooks, hook-managers, config, cache, remote:NAME
    ok: bool
    detail: str
    fix: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class DoctorReport:
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]


def doctor(cwd: Path | None = None) -> DoctorReport:
    findings = [_git()]
    try:
        repo = Repo.open(cwd, require_init=False, check_config=False)
    except GitmvError as exc:  # not a repository, or a config file that does not parse
        where = "repository" if isinstance(exc, NotARepository) else "config"
        fix = exc.hint or "correct the file named above by hand: it must be a YAML mapping"
        findings.append(Finding(where, False, exc.message, fix))
        return DoctorReport(tuple(findings))
    checks: list[Callable[[Repo], list[Finding]]] = [_hooks, _managers, _config, _cache, _remotes]
    for check in checks:
        try:
            findings.extend(check(repo))
        except GitmvError as exc:
            findings.append(Finding(check.__name__.strip("_"), False, exc.message, exc.hint))
    return DoctorReport(tuple(findings))


def _git() -> Finding:
    try:
        found = git.version()
    except GitmvError as exc:
        return Finding("git", False, exc.message, exc.hint)
    numbers = tuple(int(n) for n in re.findall(r"\d+", found)[:2])
    wanted = ".".join(map(str, MIN_GIT))
    if numbers < MIN_GIT:
        return Finding(
            "git", False, f"git {found} is older than {wanted}", f"install git {wanted} or newer"
        )
    return Finding("git", True, f"git {found} (>= {wanted})", data={"version": found})


def _hooks(repo: Repo) -> list[Finding]:
    folder = hooks_folder(repo)
    problems, missing = [], []
    for name in HOOKS:
        hook = folder / name
        shim = hook if is_ours(hook) else folder / (name + LEGACY)
        if not is_ours(shim):
            missing.append(name + _moved_by_lefthook(folder, name))
            continue
        problems.extend(_shim_problems(name, shim, folder))
    if missing:  # one finding, one fix for them all
        detail = f"gitmv's hooks are not installed in {folder}: {', '.join(missing)}"
        problems.insert(0, Finding("hooks", False, detail, "gitmv install"))
    if problems:
        return problems
    data = {"folder": str(folder), "hooks": list(HOOKS)}
    return [Finding("hooks", True, f"{', '.join(HOOKS)} installed in {folder}", data=data)]


def _shim_problems(name: str, shim: Path, folder: Path) -> list[Finding]:
    found = []
    if is_old_shim(shim):
        found.append(Finding("hooks", False, f"{name}: an old gitmv shim", "gitmv install"))
    if not os.access(shim, os.X_OK):
        detail = f"{name}: {shim} is not executable, so git skips it"
        found.append(Finding("hooks", False, detail, f"chmod +x {shim}"))
    chained = folder / (name + CHAINED)
    if chained.exists() and not os.access(chained, os.X_OK):
        detail = f"{name}: the hook chained before gitmv's ({chained}) is not executable"
        found.append(Finding("hooks", False, detail + ", so it never runs", f"chmod +x {chained}"))
    runner = re.search(r"^GITMV_PYTHON=(.*)$", head(shim), re.M)
    python = runner.group(1).strip("'\"") if runner else ""
    if shutil.which("gitmv") is None and not (python and os.access(python, os.X_OK)):
        detail = f"{name}: the hook cannot find gitmv (not on PATH, and {python or 'no'} Python)"
        found.append(Finding("hooks", False, detail, "run `gitmv install` from gitmv's virtualenv"))
    return found


def _moved_by_lefthook(folder: Path, name: str) -> str:
    if is_ours(folder / (name + ".old")):
        return f" (lefthook moved it to {name}.old, where it does not run)"
    return ""


def _managers(repo: Repo) -> list[Finding]:
    """The hook managers that share the hooks folder: found, and gitmv's hooks beside theirs."""
    folder = hooks_folder(repo)
    # other tools' hooks only: a gitmv shim names pre-commit itself (it steps around it)
    hooks = [folder / f"{n}{s}" for n in HOOKS for s in ("", CHAINED, LEGACY)]
    texts = " ".join(head(path) for path in hooks if not is_ours(path))
    root = repo.root
    found = []
    if (root / ".pre-commit-config.yaml").is_file() or PRE_COMMIT_ID in texts:
        found.append("pre-commit")
    if (root / ".husky").is_dir() or (folder / "h").is_file() or ".husky" in str(folder):
        found.append("husky")
    lefthook_files = ("lefthook.yml", ".lefthook.yml", "lefthook.yaml", ".lefthook.yaml")
    if any((root / f).is_file() for f in lefthook_files) or "lefthook" in texts:
        found.append("lefthook")
    if not found:
        return [Finding("hook-managers", True, "none found (pre-commit, husky, lefthook)")]
    detail = f"found {', '.join(found)}; gitmv's hooks run beside theirs when installed above"
    return [Finding("hook-managers", True, detail, data={"found": found})]


def _config(repo: Repo) -> list[Finding]:
    found = []
    if not (repo.root / PROJECT_FILE).is_file():
        found.append(Finding("config", False, f"no {PROJECT_FILE} here", "gitmv init"))
    for layer in LAYERS:
        path = repo.config.files[layer]
        for dotted, value in leaves(repo.config.layer_doc(layer)):
            problem = _bad_setting(repo, layer, dotted, value)
            if problem is not None:
                detail, fix = problem
                found.append(Finding("config", False, f"{path}: {detail}", fix))
    if not found:
        return [Finding("config", True, "every setting is known and valid")]
    return found


def _bad_setting(repo: Repo, layer: str, dotted: str, value: Any) -> tuple[str, str] | None:
    flag = _SCOPE_FLAG[layer]
    is_remote = dotted.startswith("remote.") and dotted.count(".") >= 2
    if not is_remote and dotted not in configkeys.KEYS:
        return f"unknown key {dotted!r}", f"gitmv config {flag}--unset {dotted}"
    message = configkeys.check_present(dotted, value)
    if message is not None:
        return message, f"gitmv config {flag}{dotted} VALUE (or {flag}--unset {dotted})"
    if layer == "project" and configkeys.secret_in(dotted, value):
        fix = f"gitmv config --local {dotted} VALUE, then gitmv config --unset {dotted}"
        return f"the credential {dotted!r} is in the committed project config", fix
    if dotted == "core.remote" and value not in (repo.config.get("remote") or {}):
        return f"core.remote names no configured remote ({value!r})", "gitmv remote default NAME"
    return None


def _cache(repo: Repo) -> list[Finding]:
    root = repo.cache.root
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    data = {"path": str(root), "free_bytes": free}
    found = []
    if root.exists() and not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        detail = f"the cache {root} is not readable and writable by you"
        found.append(Finding("cache", False, detail, f"fix its permissions: chmod -R u+rwX {root}"))
    if free < MIN_FREE:
        detail = f"only {_mib(free)} free where the cache lives ({existing})"
        found.append(Finding("cache", False, detail, "free some space: gitmv gc", data))
    if found:
        return found
    where = "" if root.exists() else " (not created yet: the first add or pull creates it)"
    return [Finding("cache", True, f"{root}: {_mib(free)} free{where}", data=data)]


def _remotes(repo: Repo) -> list[Finding]:
    remotes = repo.config.get("remote") or {}
    if not isinstance(remotes, dict) or not remotes:
        fix = "gitmv remote add NAME URL"
        return [Finding("remotes", True, f"no remote configured (to share the bytes: {fix})")]
    return [_probe(repo, str(name)) for name in sorted(remotes)]


def _probe(repo: Repo, name: str) -> Finding:
    """Reach the remote (the backend's own check, a few seconds at most), timed."""
    check = f"remote:{name}"
    # the remote stack (fsspec, s3fs): loaded only here, when there is a remote to probe
    from gitmv.remotes.folder import FolderRemote
    from gitmv.remotes.opener import open_remote, spec_from_config

    try:
        remote = open_remote(spec_from_config(repo.config, name, repo.root))
        # a folder not made yet is what push expects before its first push: not a problem
        folder = remote.root if isinstance(remote, FolderRemote) else None
        if folder is not None and not folder.exists() and folder.parent.is_dir():
            detail = f"{remote.label}: not created yet (the first push creates it)"
            return Finding(check, True, detail, data={"auth": "not needed (a folder)"})
        started = time.monotonic()
        remote.check()
        ms = (time.monotonic() - started) * 1000
    except GitmvError as exc:
        refused = "credential" in (exc.hint or "") or "credential" in exc.message
        data = {"reachable": refused, "auth": "refused" if refused else "unknown"}
        return Finding(check, False, exc.message, exc.hint or "gitmv remote list", data)
    except Exception as exc:  # a storage library's surprise: still a finding, not a crash
        detail = f"remote {name!r}: {type(exc).__name__}: {exc}"
        return Finding(check, False, detail, "check its URL and options: gitmv remote list")
    local = "://" not in remote.spec.url or remote.spec.url.startswith("file://")
    auth = "not needed (a folder)" if local else "accepted"  # the probe needed them
    detail = f"{remote.label}: reachable in {ms:.0f} ms, credentials {auth}"
    return Finding(check, True, detail, data={"latency_ms": round(ms, 1), "auth": auth})


def _mib(size: int) -> str:
    return f"{size / 1024**3:.1f} GiB" if size >= 1024**3 else f"{size / 1024**2:.0f} MiB"
