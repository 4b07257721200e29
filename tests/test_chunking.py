import random
from pathlib import Path

import pytest

from gitmv import chunking
from gitmv.errors import GitmvError, PointerError
from gitmv.hashing import hash_bytes

AVG = 64 * 1024


def write_random(path: Path, size: int, seed: int) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def test_chunks_cover_the_file_and_hash_their_bytes(tmp_path: Path) -> None:
    data = write_random(tmp_path / "f", 3 * 1024 * 1024, 1)
    chunks = chunking.cut(tmp_path / "f", AVG, "xxh128")
    assert sum(c.size for c in chunks) == len(data)
    assert all(AVG // 4 <= c.size <= AVG * 4 for c in chunks[:-1])
    for c in chunks:
        assert c.oid == hash_bytes(data[c.offset : c.offset + c.size])


def test_a_local_edit_changes_only_nearby_chunks(tmp_path: Path) -> None:
    data = bytearray(write_random(tmp_path / "a", 4 * 1024 * 1024, 2))
    data[2_000_000:2_000_100] = b"x" * 100  # same size, one region changed
    (tmp_path / "b").write_bytes(bytes(data))
    old = {c.oid for c in chunking.cut(tmp_path / "a", AVG, "xxh128")}
    new = chunking.cut(tmp_path / "b", AVG, "xxh128")
    changed = [c for c in new if c.oid not in old]
    assert 1 <= len(changed) <= 3
    assert sum(c.size for c in changed) < len(data) * 0.1


def test_insertion_shifts_do_not_change_later_chunks(tmp_path: Path) -> None:
    data = write_random(tmp_path / "a", 4 * 1024 * 1024, 3)
    (tmp_path / "b").write_bytes(data[:1000] + b"inserted" + data[1000:])
    old = {c.oid for c in chunking.cut(tmp_path / "a", AVG, "xxh128")}
    new = chunking.cut(tmp_path / "b", AVG, "xxh128")
    assert sum(1 for c in new if c.oid not in old) <= 2


def test_chunk_list_round_trips_with_offsets(tmp_path: Path) -> None:
    write_random(tmp_path / "f", 1024 * 1024, 4)
    chunks = chunking.cut(tmp_path / "f", AVG, "xxh128")
    data = chunking.encode_list(chunks)
    assert data.startswith(b'{"oid": "xxh128:')
    assert chunking.decode_list(data, "list", 1024 * 1024) == chunks


@pytest.mark.parametrize(
    "data",
    [
        b"garbage\n",
        b'{"oid": "xxh128:00", "size": 1}\n',
        b'{"oid": "xxh128:' + b"0" * 32 + b'", "size": 0}\n',
        b'{"oid": "xxh128:' + b"0" * 32 + b'", "size": 5}\n',  # does not add up to 10
        b"\xff",
    ],
)
def test_malformed_chunk_lists_are_refused(data: bytes) -> None:
    with pytest.raises(PointerError):
        chunking.decode_list(data, "list", 10)


def test_keys_follow_the_documented_layout() -> None:
    oid = hash_bytes(b"hello world")
    assert chunking.list_key(oid) == "xxh128/df/8d09e93f874900a99b8775cc15b6c7.chunks"
    assert chunking.chunk_key(oid) == "chunks/xxh128/df/8d09e93f874900a99b8775cc15b6c7"


def test_avg_size_out_of_range_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(GitmvError, match="avg_size"):
        chunking.cut(tmp_path / "f", 1000, "xxh128")
