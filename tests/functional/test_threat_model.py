"""The threat model of docs/security.md, as tests: someone with write access to the remote
swaps an object; a clone that pulls refuses it, names it, and keeps nothing of it.

With `core.hash: sha256` no one can make other bytes that pass; with xxh3-128 (the default)
corruption is caught just the same, but a determined forger is not ruled out.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from tests.faults import StoreAudit, digest, file_digest, oid_path
from tests.helpers import assert_clean_error, git, gitmv


def swap(path: Path, data: bytes) -> None:
    """What an attacker with write access to a folder remote does."""
    os.chmod(path, 0o644)
    path.write_bytes(data)


def published(tmp_path: Path, algorithm: str, chunked: bool) -> tuple[Path, Path, str]:
    """A repository whose model is pushed to a folder remote; returns repo, store, oid."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    gitmv(repo, "init", "--no-hooks")
    config = (
        f"core:\n  hash: {algorithm}\nchunking:\n  min_size: {1 << 20 if chunked else 1 << 30}\n"
    )
    (repo / ".gitmv" / "config.yaml").write_text(config)
    (repo / "model.bin").write_bytes(random.Random(9).randbytes(3 * 1024 * 1024))
    gitmv(repo, "add", "model.bin")
    gitmv(repo, "remote", "add", "origin", "../store")
    git(repo, "add", ".gitmv")
    git(repo, "commit", "-qm", "v1")
    gitmv(repo, "push")
    oid = file_digest(repo / "model.bin", algorithm)
    assert f"oid: {oid}" in (repo / "model.bin.gmv").read_text()
    return repo, tmp_path / "store", oid


@pytest.mark.parametrize(
    ("algorithm", "attack"),
    [
        ("sha256", "object"),
        ("xxh128", "object"),
        ("sha256", "chunk"),
        ("sha256", "chunk-list"),
    ],
)
def test_a_swapped_object_on_the_remote_is_refused(
    tmp_path: Path, algorithm: str, attack: str
) -> None:
    repo, store, oid = published(tmp_path, algorithm, chunked=attack != "object")
    evil = b"a model that answers as the attacker wants" * 1000
    if attack == "object":
        swap(store / oid_path(oid), evil)
    else:
        chunk_list = store / (oid_path(oid) + ".chunks")
        rows = [json.loads(line) for line in chunk_list.read_text().splitlines()]
        assert len(rows) > 1, "the model should have been pushed as chunks"
        if attack == "chunk":  # other bytes under a chunk's name
            swap(store / "chunks" / oid_path(rows[1]["oid"]), evil)
        else:  # a sound chunk of the attacker's, listed in place of a real one
            fake = digest(evil, algorithm)
            (store / "chunks" / oid_path(fake)).parent.mkdir(parents=True, exist_ok=True)
            (store / "chunks" / oid_path(fake)).write_bytes(evil)
            rows[1] = {"oid": fake, "size": len(evil)}
            swap(chunk_list, "".join(json.dumps(r) + "\n" for r in rows).encode())

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    proc = gitmv(clone, "pull", code=None)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr
    assert oid in proc.stderr or oid in proc.stdout, proc.stderr  # names the object
    assert "'origin'" in proc.stderr
    cache = StoreAudit(clone / ".git" / "gitmv" / "cache")
    assert oid not in cache.oids()  # nothing of it entered the cache
    cache.check()
    assert not (clone / "model.bin").exists()
    leftovers = list((cache.root / "tmp").glob("*")) if (cache.root / "tmp").exists() else []
    assert leftovers == [], leftovers

    # the owner learns of it: a deep verify of the remote names the object as corrupt
    proc = gitmv(repo, "verify", "--remote", "origin", "--deep", code=1)
    assert_clean_error(proc)
    assert f"corrupt: {oid}" in proc.stdout
