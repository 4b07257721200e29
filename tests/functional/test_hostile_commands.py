"""Hostile pointers committed to a repository reach every command, not only the readers:
push, fetch, pull, checkout, gc, verify, ls, the registry and the hooks. Each one exits 0
or 1 with no traceback, writes nothing outside the repository, its cache and its remote,
and gc deletes no object because a pointer confused it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gitmv.store.pointer import MAX_SIZE
from tests.faults import StoreAudit, digest, gitmv_argv
from tests.helpers import git, gitmv, snapshot

ZERO = "0" * 40


def escaping_manifest() -> bytes:
    """A directory manifest whose entries climb out of the folder."""
    good = digest(b"x")
    rows = [("../../outside/pwned", good), ("ok.txt", good), ("/abs", good)]
    return b"".join(
        f'{{"path": "{p}", "oid": "{o}", "size": 1}}\n'.encode() for p, o in sorted(rows)
    )


CASES = {
    "oversized": b"#" * (MAX_SIZE + 10),
    "alias-bomb": b"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\ngitmv: 1\n",
    "unknown-algorithm": b"gitmv: 1\noid: md5:0123456789abcdef0123456789abcdef\nsize: 1\nkind: file\n",
    "billion-files": (
        b"gitmv: 1\noid: xxh128:df8d09e93f874900a99b8775cc15b6c7\nsize: 1\n"
        b"kind: dir\nfiles: 1000000000000\n"
    ),
    "escaping-manifest": b"",  # filled in by the test: its oid is known only then
    "symlinked-folder": b"",  # a pointer reached through a folder that links outside
}

COMMANDS: list[tuple[str, ...]] = [
    ("status",),
    ("status", "--remote", "--json"),
    ("ls", "--json"),
    ("push",),
    ("push", "--all"),
    ("fetch",),
    ("pull",),
    ("checkout", "--force"),
    ("verify", "--remote", "origin", "--deep"),
    ("registry", "list", "--json"),
    ("hook", "post-checkout", ZERO, "HEAD", "1"),
    ("hook", "pre-push", "origin", "unused-url"),
    ("gc", "--remote", "origin", "--yes"),
]


def hostile_repo(tmp_path: Path, case: str) -> tuple[Path, Path, str]:
    """A repository with one sound, pushed artifact and one hostile pointer, committed."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    gitmv(repo, "init", "--no-hooks")
    (repo / "good.bin").write_bytes(b"good bytes" * 500)
    gitmv(repo, "add", "good.bin")
    gitmv(repo, "remote", "add", "origin", "../store")
    git(repo, "commit", "-qm", "good")
    gitmv(repo, "push")
    good = digest(b"good bytes" * 500)
    data = CASES[case]
    name = "x.bin.gmv"
    if case == "escaping-manifest":
        body = escaping_manifest()
        oid = digest(body)
        for store in (repo / ".git/gitmv/cache", tmp_path / "store"):  # everywhere it can be
            path = store / oid.split(":")[0] / oid[7:9] / oid[9:]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        data = f"gitmv: 1\noid: {oid}\nsize: 3\nkind: dir\nfiles: 3\n".encode()
    if case == "symlinked-folder":
        name = "d/m.bin.gmv"
        data = f"gitmv: 1\noid: {good}\nsize: 5000\nkind: file\n".encode()
    (repo / name).parent.mkdir(exist_ok=True)
    (repo / name).write_bytes(data)
    git(repo, "add", "-f", name)
    git(repo, "commit", "-qm", f"hostile: {case}")
    if case == "symlinked-folder":  # the folder becomes a link out, its pointer the same
        os.rename(repo / "d", tmp_path / "outside")
        os.symlink(tmp_path / "outside", repo / "d")
    else:
        (tmp_path / "outside").mkdir()
    return repo, tmp_path / "store", good


def run(repo: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    head = git(repo, "rev-parse", "HEAD").strip()
    stdin = f"refs/heads/main {head} refs/heads/main {ZERO}\n" if "pre-push" in args else ""
    argv = [head if a == "HEAD" else a for a in args]
    return subprocess.run(
        gitmv_argv(*argv), cwd=repo, input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_pointer_reaching_every_command(tmp_path: Path, case: str) -> None:
    repo, store, good = hostile_repo(tmp_path, case)
    outside = tmp_path / "outside"
    before = snapshot(outside)
    errors = 0
    for args in COMMANDS:
        proc = run(repo, args)
        label = f"gitmv {' '.join(args)} [{case}]"
        assert proc.returncode in (0, 1), f"{label}: exit {proc.returncode}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, f"{label}:\n{proc.stderr}"
        assert "internal error" not in proc.stderr, f"{label}:\n{proc.stderr}"
        errors += proc.returncode
        assert snapshot(outside) == before, f"{label} wrote outside the repository"
        assert not (tmp_path / "pwned").exists() and not (repo.parent / "abs").exists()
    assert errors, f"no command noticed the {case} pointer"
    cache = StoreAudit(repo / ".git" / "gitmv" / "cache")
    remote = StoreAudit(store)
    cache.check()
    remote.check()
    assert good in cache.oids(), "gc dropped a needed object from the cache"
    assert good in remote.oids(), "gc --remote dropped a needed object"
    assert (repo / "good.bin").read_bytes() == b"good bytes" * 500
