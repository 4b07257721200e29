"""`-v` on add and push: one line per artifact or object, on stderr; nothing more without -v,
and nothing but the one document under --json. Real `gitmv` processes on real repositories."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from gitmv.store.hashing import hash_bytes
from tests.helpers import git, gitmv
from tests.servers import Server

KiB = 1024


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(hash_bytes(data))


def _cache_name(pointer: Path) -> str:
    found = re.search(r"^oid: \w+:(\w+)$", pointer.read_text(), re.M)
    assert found, pointer.read_text()
    return found.group(1)[2:]  # the cache file: a folder of its first two digits, the rest


def _details(stderr: str, prefix: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(prefix)]


def test_add_verbose_says_per_artifact_whether_bytes_were_stored(repo: Path) -> None:
    model = _write(repo / "model.bin", os.urandom(3 * KiB))
    for name in "abc":
        _write(repo / "d" / name, name.encode() * 10)
    proc = gitmv(repo, "add", "-v", "model.bin", "d")
    stored = _details(proc.stderr, "bytes ")
    assert len(stored) == 2, proc.stderr  # in the order given
    assert stored[0] == f"bytes stored: model.bin (3.0 KiB, {model})"
    assert stored[1].startswith("bytes stored: d (3 files: 3 added, 0 modified, 0 removed; 30 B, ")
    assert proc.stdout.splitlines()[0] == f"added: model.bin (3.0 KiB, {model})"
    git(repo, "commit", "-qm", "v1")

    _write(repo / "d" / "a", b"changed")
    (repo / "d" / "b").unlink()
    _write(repo / "d" / "e", b"new")
    proc = gitmv(repo, "add", "-v", "d", "model.bin")
    stored = _details(proc.stderr, "bytes ")
    assert len(stored) == 2, proc.stderr
    assert stored[0].startswith("bytes stored: d (3 files: 1 added, 1 modified, 1 removed; 20 B, ")
    assert stored[1] == f"bytes unchanged: model.bin (3.0 KiB, {model})"

    # without -v: the lines of before, and nothing on stderr
    plain = gitmv(repo, "add", "d", "model.bin")
    assert plain.stderr == ""
    lines = plain.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("unchanged: d (3 files, 20 B, xxh128:")
    assert lines[1] == f"unchanged: model.bin (3.0 KiB, {model})"
    # a folder whose bytes did not change: said without reading a manifest
    proc = gitmv(repo, "add", "-v", "d")
    assert _details(proc.stderr, "bytes ")[0].startswith(
        "bytes unchanged: d (3 files: none changed; 20 B, "
    )

    # the last version's manifest gone from the cache: the counts are not guessed
    last = next((repo / ".git/gitmv/cache").rglob(_cache_name(repo / "d.gmv")))
    last.unlink()
    _write(repo / "d" / "f", b"more")
    proc = gitmv(repo, "add", "-v", "d")
    assert _details(proc.stderr, "bytes ")[0].startswith(
        "bytes stored: d (4 files, changes unknown: the last manifest is not cached; 24 B, "
    )

    # --json: one document on stdout, no detail lines anywhere
    proc = gitmv(repo, "add", "-v", "--json", "model.bin", "d")
    assert [a["path"] for a in json.loads(proc.stdout)] == ["model.bin", "d"]
    assert _details(proc.stderr, "bytes ") == []


def test_push_verbose_lists_each_object_and_where_it_went(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")
    gitmv(repo, "config", "pack.max_object", "4KiB")  # a folder remote packs only when told
    gitmv(repo, "config", "chunking.min_size", "1MiB")
    small = _write(repo / "small.txt", b"s" * 100)
    mid = _write(repo / "mid.bin", os.urandom(100 * KiB))
    big = _write(repo / "big.bin", os.urandom(2 * 1024 * KiB))
    one = _write(repo / "d" / "one", b"1" * 10)
    two = _write(repo / "d" / "two", b"2" * 20)
    gitmv(repo, "add", "small.txt", "mid.bin", "big.bin", "d")
    git(repo, "commit", "-qm", "v1")

    proc = gitmv(repo, "push", "-v")
    sent = _details(proc.stderr, "sent ")
    manifest = next(line for line in sent if "manifest of d" in line)
    assert re.fullmatch(r"sent pack: manifest of d \(\d+ B, xxh128:\w+\)", manifest), manifest
    assert [line for line in sent if line != manifest] == [
        f"sent chunked: big.bin (2.0 MiB, {big})",
        f"sent pack: d/one (10 B, {one})",
        f"sent pack: d/two (20 B, {two})",
        f"sent loose: mid.bin (100.0 KiB, {mid})",
        f"sent pack: small.txt (100 B, {small})",
    ]
    assert proc.stdout.startswith("pushed 6 objects ")  # one line per object counted
    assert proc.stderr.index("sent ") < proc.stderr.index("gitmv: ")  # then the summary

    # without -v: the summary alone, as before
    _write(repo / "small.txt", b"t" * 100)
    gitmv(repo, "add", "small.txt")
    plain = gitmv(repo, "push")
    assert plain.stderr == ""
    assert plain.stdout == (
        f"pushed 1 object (100 B) to remote 'origin' ({store}); 3 already there\n"
    )

    # --json: one document, no per-object lines
    _write(repo / "small.txt", b"u" * 100)
    gitmv(repo, "add", "small.txt")
    proc = gitmv(repo, "push", "-v", "--json")
    assert json.loads(proc.stdout)["transferred"] == 1
    assert _details(proc.stderr, "sent ") == []


def test_push_verbose_on_s3_where_small_objects_pack_by_default(
    repo: Path, moto_server: Server, s3_bucket: str
) -> None:
    url = f"s3://{s3_bucket}/store"
    gitmv(repo, "remote", "add", "origin", url, "-o", f"endpoint_url={moto_server.endpoint}")
    small = _write(repo / "small.txt", b"s" * 100)
    large = _write(repo / "large.bin", os.urandom(5 * 1024 * KiB))  # above pack.max_object
    gitmv(repo, "add", "small.txt", "large.bin")
    proc = gitmv(repo, "push", "-v")
    assert _details(proc.stderr, "sent ") == [
        f"sent loose: large.bin (5.0 MiB, {large})",
        f"sent pack: small.txt (100 B, {small})",
    ]
    assert proc.stdout.startswith("pushed 2 objects (5.0 MiB) to remote 'origin'")
