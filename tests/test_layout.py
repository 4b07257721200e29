"""store/layout.py pins the on-disk and on-remote layout: these strings are a file format."""

import pytest

from gitmv.store import layout
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.layout import ObjectKey

XXH = Oid.parse("xxh128:df8d09e93f874900a99b8775cc15b6c7")
SHA = Oid.parse("sha256:" + "ab" + "0123456789abcdef" * 3 + "0123456789abcd")


def test_known_keys_for_both_algorithms() -> None:
    assert layout.object_key(XXH) == "xxh128/df/8d09e93f874900a99b8775cc15b6c7"
    assert layout.list_key(XXH) == "xxh128/df/8d09e93f874900a99b8775cc15b6c7.chunks"
    assert layout.chunk_key(XXH) == "chunks/xxh128/df/8d09e93f874900a99b8775cc15b6c7"
    tail = "0123456789abcdef" * 3 + "0123456789abcd"
    assert layout.object_key(SHA) == f"sha256/ab/{tail}"
    assert layout.list_key(SHA) == f"sha256/ab/{tail}.chunks"
    assert layout.chunk_key(SHA) == f"chunks/sha256/ab/{tail}"
    assert (layout.LIST_SUFFIX, layout.CHUNKS_DIR) == (".chunks", "chunks")


@pytest.mark.parametrize("oid", [XXH, SHA, hash_bytes(b"x"), hash_bytes(b"x", "sha256")])
def test_round_trip(oid: Oid) -> None:
    assert layout.parse_object_key(layout.object_key(oid)) == ObjectKey(oid, chunk_list=False)
    assert layout.parse_object_key(layout.list_key(oid)) == ObjectKey(oid, chunk_list=True)
    assert layout.parse_chunk_key(layout.chunk_key(oid)) == oid
    # Each parser refuses the other tree's keys.
    assert layout.parse_object_key(layout.chunk_key(oid)) is None
    assert layout.parse_chunk_key(layout.object_key(oid)) is None
    assert layout.parse_chunk_key(layout.list_key(oid)) is None


@pytest.mark.parametrize(
    "key",
    [
        "",
        "xxh128",
        "xxh128/df",
        "xxh128/df8d09e93f874900a99b8775cc15b6c7",  # no two-digit folder
        "xxh128/d/f8d09e93f874900a99b8775cc15b6c7",  # a one-digit folder
        "xxh128/df8/d09e93f874900a99b8775cc15b6c7",  # a three-digit folder
        "xxh128/df/8d09e93f874900a99b8775cc15b6c",  # one digit short
        "xxh128/df/8d09e93f874900a99b8775cc15b6c77",  # one digit long
        "xxh128/DF/8D09E93F874900A99B8775CC15B6C7",  # upper case: not an oid we write
        "xxh128/df/8d09e93f874900a99b8775cc15b6cg",  # not hex
        "xxh128/df/8d09e93f874900a99b8775cc15b6c7.tmp",
        "xxh128/df/8d09e93f874900a99b8775cc15b6c7.chunks.chunks",
        "xxh128/df/.gitmv-tmp-1-2",
        "md5/df/8d09e93f874900a99b8775cc15b6c7",  # unknown algorithm
        "sha256/df/8d09e93f874900a99b8775cc15b6c7",  # xxh128's length under sha256
        "p/xxh128/df/8d09e93f874900a99b8775cc15b6c7",  # a prefix the remote should strip
        "chunks/xxh128/df/8d09e93f874900a99b8775cc15b6c7",
    ],
)
def test_malformed_object_keys_are_refused(key: str) -> None:
    assert layout.parse_object_key(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "chunks/xxh128/df",
        "chunks/md5/df/8d09e93f874900a99b8775cc15b6c7",
        "chunk/xxh128/df/8d09e93f874900a99b8775cc15b6c7",
        "chunks/xxh128/df/8d09e93f874900a99b8775cc15b6c",
        "chunks/xxh128/df/8d09e93f874900a99b8775cc15b6c7.chunks",
        "chunks/xxh128/d/f8d09e93f874900a99b8775cc15b6c7",
        "chunks/chunks/xxh128/df/8d09e93f874900a99b8775cc15b6c7",
    ],
)
def test_malformed_chunk_keys_are_refused(key: str) -> None:
    assert layout.parse_chunk_key(key) is None


def test_key_labels_name_what_a_user_recognises() -> None:
    assert layout.key_label(layout.object_key(XXH)) == f"object {XXH}"
    assert layout.key_label(layout.list_key(XXH)) == f"chunk list of object {XXH}"
    assert layout.key_label(layout.chunk_key(SHA)) == f"chunk {SHA}"
    assert layout.key_label("somewhere/else") == "object somewhere/else"
