"""Shared test helpers: run gitmv and git as a user would, as whole processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from gitmv.store.hashing import Oid


def tool(program: str) -> str | None:
    """A test requirement's executable: beside this interpreter (`.venv/bin`, which need
    not be on PATH on a fresh machine), else on PATH."""
    beside = Path(sys.executable).parent / program
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(program)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def gitmv(
    cwd: Path, *args: str, code: int | None = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `gitmv ARGS` in `cwd`; assert the exit code unless `code` is None."""
    proc = subprocess.run(
        [sys.executable, "-m", "gitmv", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if code is not None and proc.returncode != code:
        raise AssertionError(
            f"gitmv {' '.join(args)} exited {proc.returncode}, expected {code}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def assert_clean_error(proc: subprocess.CompletedProcess[str]) -> None:
    """One `error:` line, exit 1, no traceback."""
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (outside .git's volatile index) with its bytes."""
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(folder).as_posix()
            if rel.startswith(".git/") and not rel.startswith(".git/gitmv/"):
                continue
            if "state.sqlite" in rel:  # the stat cache is a cache: rewriting it changes nothing
                continue
            found[rel] = (
                path.read_bytes() if not path.is_symlink() else b"->" + os.readlink(path).encode()
            )
    return found


def cached_oids(repo: Path) -> set[Oid]:
    """The xxh128 objects in the repository's cache, whole (as gc and verify see them)."""
    found = set()
    for dirpath, _, names in os.walk(repo / ".git/gitmv/cache/xxh128"):
        for name in names:
            found.add(Oid("xxh128", Path(dirpath).name + name))
    return found
