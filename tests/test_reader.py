"""transfer.reader: an object streamed from a real folder remote, whole or as chunks, is
hash-verified as it is read; bad bytes raise IntegrityError at the end of the read."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from gitmv.base.errors import IntegrityError
from gitmv.remotes.opener import open_remote
from gitmv.remotes.options import RemoteSpec
from gitmv.remotes.remote import MissingObject, Remote
from gitmv.store import chunking, layout
from gitmv.store.hashing import hash_bytes
from gitmv.transfer.reader import VerifyingReader, open_remote_object

DATA = bytes(range(256)) * 40  # 10,240 bytes


def _store(tmp_path: Path) -> tuple[Remote, Path]:
    root = tmp_path / "store"
    return open_remote(RemoteSpec("origin", str(root))), root


def _put(root: Path, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _put_chunked(root: Path, data: bytes, cuts: list[int]) -> list[chunking.Chunk]:
    chunks = []
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        c = hash_bytes(data[start:end])
        _put(root, layout.chunk_key(c), data[start:end])
        chunks.append(chunking.Chunk(c, start, end - start))
    _put(root, layout.list_key(hash_bytes(data)), chunking.encode_list(chunks))
    return chunks


def test_a_whole_object_reads_back_verified(tmp_path: Path) -> None:
    remote, root = _store(tmp_path)
    oid = hash_bytes(DATA)
    _put(root, layout.object_key(oid), DATA)
    with open_remote_object(remote, oid, len(DATA)) as f:
        assert f.readall() == DATA


def test_an_object_kept_as_chunks_is_streamed_in_order(tmp_path: Path) -> None:
    remote, root = _store(tmp_path)
    _put_chunked(root, DATA, [3000, 7000])
    with io.BufferedReader(open_remote_object(remote, hash_bytes(DATA), len(DATA)), 1000) as f:
        assert f.read() == DATA


def test_a_corrupt_chunk_fails_the_read_at_its_end(tmp_path: Path) -> None:
    remote, root = _store(tmp_path)
    chunks = _put_chunked(root, DATA, [4096])
    # Same length, other bytes: the chunk list still adds up; only the hash can tell.
    _put(root, layout.chunk_key(chunks[1].oid), b"\0" * chunks[1].size)
    with (
        open_remote_object(remote, hash_bytes(DATA), len(DATA)) as f,
        pytest.raises(IntegrityError, match=re.escape(f"from remote {remote.label} is corrupt")),
    ):
        f.readall()


def test_a_short_object_fails_even_when_its_prefix_hashes_right(tmp_path: Path) -> None:
    remote, root = _store(tmp_path)
    oid = hash_bytes(DATA)
    _put(root, layout.object_key(oid), DATA)
    with open_remote_object(remote, oid, len(DATA) + 1) as f, pytest.raises(IntegrityError):
        f.readall()


def test_an_object_with_no_copy_and_no_chunk_list_is_missing(tmp_path: Path) -> None:
    remote, root = _store(tmp_path)
    root.mkdir()
    with pytest.raises(MissingObject):
        open_remote_object(remote, hash_bytes(DATA), None)


def test_a_seek_ends_verification_and_a_second_eof_does_not_raise(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    path.write_bytes(b"not the bytes")
    with VerifyingReader(path.open("rb"), hash_bytes(DATA), None, "here") as f:
        f.seek(4)  # a seeking reader (torch.load) reads a copy verified when it was cached
        assert f.readall() == b"the bytes"
    with VerifyingReader(path.open("rb"), hash_bytes(DATA), None, "here") as f:
        with pytest.raises(IntegrityError, match="from here is corrupt"):
            f.readall()
        assert f.read() == b""  # checked once: reading at the end again does not raise
