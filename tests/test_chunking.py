import os
import random
from pathlib import Path

import pytest

from gitmv.base.errors import GitmvError, PointerError
from gitmv.store import chunking, layout
from gitmv.store.hashing import hash_bytes

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
    assert layout.list_key(oid) == "xxh128/df/8d09e93f874900a99b8775cc15b6c7.chunks"
    assert layout.chunk_key(oid) == "chunks/xxh128/df/8d09e93f874900a99b8775cc15b6c7"


def test_avg_size_out_of_range_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(GitmvError, match="avg_size"):
        chunking.cut(tmp_path / "f", 1000, "xxh128")


def test_settings_come_from_the_config_and_are_checked(tmp_path: Path) -> None:
    from gitmv.base.config import Config

    class Fake(Config):
        def __init__(self, values: dict[str, object]) -> None:
            self.values = values

        def get(self, dotted: str, default: object = None) -> object:
            return self.values.get(dotted, default)

    assert chunking.settings_from(Fake({})) == chunking.Settings(8 * 1024 * 1024, 1024 * 1024)
    small = chunking.settings_from(Fake({"chunking.min_size": 0, "chunking.avg_size": AVG}))
    assert small == chunking.Settings(0, AVG)
    assert not small.chunks(0) and small.chunks(1)  # an empty file is never chunked
    for bad in ({"chunking.min_size": "8M"}, {"chunking.min_size": -1}, {"chunking.avg_size": 7}):
        with pytest.raises(GitmvError, match="chunking"):
            chunking.settings_from(Fake(bad))


def test_cut_and_hash_names_the_whole_file_too(tmp_path: Path) -> None:
    data = write_random(tmp_path / "f", 300_000, 5)
    chunks, whole = chunking.cut_and_hash(tmp_path / "f", AVG, "sha256")
    assert whole == hash_bytes(data, "sha256")
    assert chunks == chunking.cut(tmp_path / "f", AVG, "sha256")
    (tmp_path / "empty").write_bytes(b"")
    assert chunking.cut_and_hash(tmp_path / "empty", AVG, "xxh128") == ([], hash_bytes(b""))


def test_the_local_index_finds_chunks_in_cached_objects(tmp_path: Path) -> None:
    from gitmv.store.cache import Cache

    cache = Cache(tmp_path / "cache")
    data = write_random(tmp_path / "v1", 1024 * 1024, 6)
    oid, _ = cache.add_file(tmp_path / "v1", "xxh128")
    chunks = chunking.cut(cache.path(oid), AVG, "xxh128")
    chunking.save_local_list(cache, oid, chunks)
    chunking.save_local_list(cache, oid, chunks[:1])  # written once: never replaced
    assert chunking.load_local_list(cache, oid, len(data)) == chunks
    assert chunking.load_local_list(cache, oid, len(data) + 1) is None  # wrong size: unusable
    assert list(chunking.local_lists(cache)) == [oid]
    assert chunking.local_list_path(cache, oid).relative_to(cache.root).as_posix() == (
        "chunk-lists/" + layout.list_key(oid)
    )
    assert os.listdir(cache.root / "tmp") == []
    assert list(cache.iter_oids()) == [oid]  # the index is not an object

    local = chunking.LocalChunks(cache)
    middle = chunks[len(chunks) // 2]
    assert local.read(middle) == data[middle.offset : middle.offset + middle.size]
    unknown = chunking.Chunk(hash_bytes(b"elsewhere"), 0, 9)
    assert local.read(unknown) is None

    chunking.remove_local_list(cache, oid)
    assert list(chunking.local_lists(cache)) == []
    assert chunking.LocalChunks(cache).read(middle) is None


def test_the_local_index_never_serves_bytes_that_do_not_match(tmp_path: Path) -> None:
    from gitmv.store.cache import Cache

    cache = Cache(tmp_path / "cache")
    write_random(tmp_path / "v1", 512 * 1024, 7)
    oid, _ = cache.add_file(tmp_path / "v1", "xxh128")
    chunks = chunking.cut(cache.path(oid), AVG, "xxh128")
    chunking.save_local_list(cache, oid, chunks)
    os.chmod(cache.path(oid), 0o644)
    with open(cache.path(oid), "r+b") as f:
        f.seek(chunks[1].offset)
        f.write(b"rot")
    local = chunking.LocalChunks(cache)
    assert local.read(chunks[1]) is None  # a damaged cache file costs a download
    assert local.read(chunks[0]) is not None
    cache.remove(oid)
    assert chunking.LocalChunks(cache).read(chunks[0]) is None  # a list without its object
