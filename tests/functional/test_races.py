"""Races: gitmv processes that run at once in one repository, or against one remote."""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults import (
    S3Audit,
    StoreAudit,
    check_gitignore,
    check_pointer,
    file_digest,
    gitmv_argv,
    wait_for,
)
from tests.helpers import assert_clean_error, git, gitmv
from tests.servers import Server

ADDERS = 8


def start(repo: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        gitmv_argv(*args), cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{proc.args}: {err}"
    return out


def test_eight_concurrent_adds_of_different_paths(repo: Path) -> None:
    rng = random.Random(2)
    paths = []
    for i in range(ADDERS):  # files and folders, at the root and in one shared folder
        rel = f"m{i}.bin" if i % 2 else f"shared/d{i}"
        if i % 2:
            (repo / rel).write_bytes(rng.randbytes(rng.randint(1, 3) * 1024 * 1024))
        else:
            for j in range(200):
                (repo / rel / f"{j}.txt").parent.mkdir(parents=True, exist_ok=True)
                (repo / rel / f"{j}.txt").write_bytes(rng.randbytes(500))
        paths.append(rel)
    procs = [start(repo, "add", rel) for rel in paths]
    for proc in procs:
        finish(proc)

    cache = StoreAudit(repo / ".git" / "gitmv" / "cache")
    cache.check()
    for rel in paths:
        oid = check_pointer(repo / f"{rel}.gmv", cache)
        if (repo / rel).is_file():
            assert oid == file_digest(repo / rel), rel
        else:
            assert oid is not None
    root = check_gitignore(repo / ".gitignore", [f"/{p}" for p in paths if "/" not in p])
    shared = check_gitignore(repo / "shared/.gitignore", [f"/{p[7:]}" for p in paths if "/" in p])
    assert len(root) + len(shared) == ADDERS
    staged = set(git(repo, "diff", "--cached", "--name-only").split())
    assert {f"{p}.gmv" for p in paths} | {".gitignore", "shared/.gitignore"} <= staged
    assert "all sound" in gitmv(repo, "verify").stdout
    assert git(repo, "status", "--porcelain", "--untracked-files=all").count("??") == 0


def test_an_add_during_a_post_checkout_hook(tmp_path: Path) -> None:
    """`git checkout` runs the hook, which restores a changed model and folder, while a user
    adds another file: both succeed, and nothing is lost or listed twice."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    gitmv(repo, "init")  # installs the hooks
    hooks = repo / ".git" / "hooks"
    marker = tmp_path / "hook-started"
    # A hook that was there before gitmv: the shim runs it first, then `gitmv hook`.
    (hooks / "post-checkout.gitmv-chained").write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    os.chmod(hooks / "post-checkout.gitmv-chained", 0o755)
    rng = random.Random(4)
    (repo / "data").mkdir()
    for i in range(1500):
        (repo / "data" / f"{i}.bin").write_bytes(rng.randbytes(400))
    (repo / "model.bin").write_bytes(rng.randbytes(16 * 1024 * 1024))
    gitmv(repo, "add", "model.bin", "data")
    git(repo, "commit", "-qm", "v1")
    git(repo, "checkout", "-q", "-b", "v2")
    for i in range(0, 1500, 2):
        (repo / "data" / f"{i}.bin").write_bytes(rng.randbytes(400))
    (repo / "model.bin").write_bytes(rng.randbytes(16 * 1024 * 1024))
    gitmv(repo, "add", "model.bin", "data")
    git(repo, "commit", "-qm", "v2")
    v2 = file_digest(repo / "model.bin")
    git(repo, "checkout", "-q", "main")
    marker.unlink()

    others = []
    for i in range(3):
        (repo / f"other{i}.bin").write_bytes(rng.randbytes(2 * 1024 * 1024))
    checkout = subprocess.Popen(
        ["git", "checkout", "-q", "v2"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(marker.exists, 30, "the post-checkout hook")
    for i in range(3):  # one after another while the hook restores
        others.append(start(repo, "add", f"other{i}.bin"))
        time.sleep(0.05)
    assert checkout.poll() is None, "the hook ended before the adds began: no race was run"
    _, hook_err = checkout.communicate(timeout=120)
    assert checkout.returncode == 0, hook_err
    for proc in others:
        finish(proc)
    assert "error" not in hook_err, hook_err

    assert file_digest(repo / "model.bin") == v2
    cache = StoreAudit(repo / ".git" / "gitmv" / "cache")
    cache.check()
    for i in range(3):
        assert check_pointer(repo / f"other{i}.bin.gmv", cache) == file_digest(
            repo / f"other{i}.bin"
        )
    check_gitignore(
        repo / ".gitignore", ["/model.bin", "/data", "/other0.bin", "/other1.bin", "/other2.bin"]
    )
    out = gitmv(repo, "status").stdout
    assert "modified" not in out and "missing" not in out, out


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_two_concurrent_pushes_of_the_same_objects(
    repo: Path, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(6)
    (repo / "model.bin").write_bytes(rng.randbytes(12 * 1024 * 1024))  # chunked: 8 MiB+
    (repo / "data").mkdir()
    for i in range(150):
        (repo / "data" / f"{i}.bin").write_bytes(rng.randbytes(700))
    gitmv(repo, "add", "model.bin", "data")
    if kind == "folder":
        gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"))
        audit: StoreAudit | S3Audit = StoreAudit(tmp_path / "store")
    else:
        server: Server = request.getfixturevalue("moto_server")
        bucket: str = request.getfixturevalue("s3_bucket")
        option = f"endpoint_url={server.endpoint}"
        gitmv(repo, "remote", "add", "origin", f"s3://{bucket}/p", "--option", option)
        audit = S3Audit(server.endpoint, bucket, "p")
    git(repo, "commit", "-qm", "v1")
    pushes = [start(repo, "push"), start(repo, "push")]
    outs = [finish(proc) for proc in pushes]
    assert all("pushed" in out for out in outs), outs
    audit.check()
    assert audit.oids() == StoreAudit(repo / ".git" / "gitmv" / "cache").oids()
    assert "all sound" in gitmv(repo, "verify", "--remote", "origin", "--deep").stdout


def test_an_add_waits_for_a_git_that_holds_the_index_then_succeeds(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"weights")
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")  # as a `git checkout` running right now holds it
    proc = start(repo, "add", "m.bin")
    time.sleep(0.5)
    lock.unlink()
    finish(proc)
    assert "m.bin.gmv" in git(repo, "diff", "--cached", "--name-only")


def test_an_index_lock_left_by_a_killed_git_is_named_with_what_to_do(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"weights")
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")  # what `kill -9` of gitmv and its `git add` leaves
    proc = gitmv(repo, "add", "m.bin", code=1)
    assert_clean_error(proc)
    assert str(lock) in proc.stderr and "remove that file" in proc.stderr
    lock.unlink()
    gitmv(repo, "add", "m.bin")  # running it again completes
    assert "m.bin.gmv" in git(repo, "diff", "--cached", "--name-only")
