"""A corrupt cache object never reaches the work tree, the stat cache or a remote.

Checkout hashes bytes as it places them (hash-while-copy); a mismatch leaves no file,
keeps what was there, moves the object to `cache/quarantine/` and says `gitmv fetch`,
which then downloads it again. Fetch and pull replace a truncated or altered object
instead of trusting it; push refuses to upload one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.helpers import assert_clean_error, git, gitmv

CACHE = Path(".git/gitmv/cache")


def _object(repo: Path, oid: str) -> Path:
    algorithm, _, hexpart = oid.partition(":")
    return repo / CACHE / algorithm / hexpart[:2] / hexpart[2:]


def _oid(repo: Path, artifact: str) -> str:
    for line in (repo / f"{artifact}.gmv").read_text().splitlines():
        if line.startswith("oid:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no oid in {artifact}.gmv")


def _flip_byte(path: Path, offset: int = 1000) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def _truncate(path: Path, size: int) -> None:
    os.chmod(path, 0o644)
    os.truncate(path, size)


def _set_link(repo: Path, link: str) -> None:
    (repo / ".git/gitmv/config.yaml").write_text(f"cache:\n  link: [{link}]\n")


def _quarantined(repo: Path) -> list[Path]:
    folder = repo / CACHE / "quarantine"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".gmvtmp-" in p.name]


@pytest.mark.parametrize("link", ["copy", "reflink, copy", "hardlink", "symlink"])
def test_a_corrupt_object_is_not_checked_out(repo: Path, link: str) -> None:
    _set_link(repo, link)
    data = random.Random(6).randbytes(1 << 20)
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    oid = _oid(repo, "model.bin")
    obj = _object(repo, oid)
    _flip_byte(obj)
    bad = obj.read_bytes()
    os.unlink(repo / "model.bin")

    proc = gitmv(repo, "checkout", code=None)

    assert_clean_error(proc)
    assert oid in proc.stderr and "model.bin" in proc.stderr and "corrupt" in proc.stderr
    assert "hint: run `gitmv fetch`" in proc.stderr
    assert not os.path.lexists(repo / "model.bin")  # nothing placed
    assert _temps(repo) == []  # the partial copy removed
    assert not obj.exists()  # out of the cache, so fetch will download it
    moved = _quarantined(repo)
    assert len(moved) == 1 and moved[0].read_bytes() == bad  # kept, not deleted
    # the stat cache vouches for nothing: status says the bytes are not there
    status = gitmv(repo, "status", code=None)
    assert "all clean" not in status.stdout
    assert "not-cached" in status.stdout + status.stderr or "not cached" in status.stdout


def test_a_corrupt_object_leaves_the_old_file_in_place(repo: Path) -> None:
    rng = random.Random(7)
    old, new = rng.randbytes(300_000), rng.randbytes(300_000)
    (repo / "model.bin").write_bytes(old)
    gitmv(repo, "add", "model.bin")  # `old` is in the cache: replacing it loses nothing
    (repo / "model.bin").write_bytes(new)
    gitmv(repo, "add", "model.bin")
    _flip_byte(_object(repo, _oid(repo, "model.bin")))
    os.unlink(repo / "model.bin")
    (repo / "model.bin").write_bytes(old)

    proc = gitmv(repo, "checkout", code=None)

    assert_clean_error(proc)
    assert (repo / "model.bin").read_bytes() == old  # untouched
    assert _temps(repo) == []


def test_a_corrupt_file_of_a_folder_is_named_and_not_placed(repo: Path) -> None:
    rng = random.Random(8)
    (repo / "data").mkdir()
    for i in range(20):
        (repo / "data" / f"f{i:02d}.bin").write_bytes(rng.randbytes(5000 + i))
    gitmv(repo, "add", "data")
    victim = (repo / "data/f07.bin").read_bytes()
    from gitmv.store.hashing import hash_bytes

    oid = str(hash_bytes(victim))
    _flip_byte(_object(repo, oid), 10)
    os.unlink(repo / "data/f07.bin")

    proc = gitmv(repo, "checkout", code=None)

    assert_clean_error(proc)
    assert "data/f07.bin" in proc.stderr and oid in proc.stderr
    assert not (repo / "data/f07.bin").exists()
    assert _temps(repo) == []
    assert "all clean" not in gitmv(repo, "status", code=None).stdout


def _pushed(repo: Path, tmp_path: Path, size: int = 1 << 20) -> tuple[bytes, Path]:
    data = random.Random(9).randbytes(size)
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    git(repo, "commit", "-qm", "model")
    gitmv(repo, "remote", "add", "origin", str(tmp_path / "store"), "--default")
    gitmv(repo, "push")
    return data, _object(repo, _oid(repo, "model.bin"))


def test_pull_replaces_a_truncated_object(repo: Path, tmp_path: Path) -> None:
    data, obj = _pushed(repo, tmp_path)
    _truncate(obj, 4096)
    os.unlink(repo / "model.bin")

    proc = gitmv(repo, "pull")

    assert "fetched 1 object" in proc.stdout, proc.stdout
    assert (repo / "model.bin").read_bytes() == data
    assert obj.read_bytes() == data
    assert [p.stat().st_size for p in _quarantined(repo)] == [4096]
    assert "all clean" in gitmv(repo, "status").stdout


def test_fetch_replaces_a_truncated_object(repo: Path, tmp_path: Path) -> None:
    data, obj = _pushed(repo, tmp_path)
    _truncate(obj, 10)

    proc = gitmv(repo, "fetch")

    assert "fetched 1 object" in proc.stdout, proc.stdout
    assert obj.read_bytes() == data


def test_pull_replaces_an_altered_object_and_checks_it_out(repo: Path, tmp_path: Path) -> None:
    data, obj = _pushed(repo, tmp_path)
    _flip_byte(obj)
    os.unlink(repo / "model.bin")

    proc = gitmv(repo, "pull")

    assert "corrupt" in proc.stderr and "downloading it again" in proc.stderr
    assert (repo / "model.bin").read_bytes() == data
    assert obj.read_bytes() == data
    assert len(_quarantined(repo)) == 1
    assert "all clean" in gitmv(repo, "status").stdout


def test_fetch_after_a_failed_checkout_restores_it(repo: Path, tmp_path: Path) -> None:
    """The hint is true: `gitmv fetch` then `gitmv checkout` restores the file."""
    data, obj = _pushed(repo, tmp_path)
    _flip_byte(obj)
    os.unlink(repo / "model.bin")
    assert_clean_error(gitmv(repo, "checkout", code=None))

    gitmv(repo, "fetch")
    gitmv(repo, "checkout")

    assert (repo / "model.bin").read_bytes() == data


def test_push_does_not_upload_a_corrupt_object(repo: Path, tmp_path: Path) -> None:
    data = random.Random(10).randbytes(200_000)
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    oid = _oid(repo, "model.bin")
    _flip_byte(_object(repo, oid))
    store = tmp_path / "store"
    gitmv(repo, "remote", "add", "origin", str(store), "--default")

    proc = gitmv(repo, "push", code=None)

    assert proc.returncode == 1 and "corrupt" in proc.stderr
    algorithm, _, hexpart = oid.partition(":")
    assert not (store / algorithm / hexpart[:2] / hexpart[2:]).exists()


def test_gc_empties_the_quarantine(repo: Path) -> None:
    """Quarantined bytes failed their hash: no copy of any version, so gc takes them."""
    data = random.Random(9).randbytes(200_000)
    (repo / "model.bin").write_bytes(data)
    gitmv(repo, "add", "model.bin")
    obj = _object(repo, _oid(repo, "model.bin"))
    _flip_byte(obj)
    os.unlink(repo / "model.bin")
    gitmv(repo, "checkout", code=1)
    assert len(_quarantined(repo)) == 1

    dry = gitmv(repo, "gc", "--dry-run")
    assert "1 quarantined corrupt objects" in dry.stdout
    assert len(_quarantined(repo)) == 1  # a dry run changes nothing
    done = gitmv(repo, "gc", "--json")
    assert '"quarantined": 1' in done.stdout
    assert _quarantined(repo) == []
