"""Reading Git LFS pointers: the one valid encoding, ordinary bytes, and broken pointers."""

from __future__ import annotations

import pytest

from gitmv.base.errors import PointerError
from gitmv.ops.importing.lfsstore import LfsPointer, fetch_include, parse_pointer

OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
GOOD = f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 12345\n".encode()


def test_a_pointer_is_read() -> None:
    assert parse_pointer(GOOD, "m.bin") == LfsPointer(OID, 12345)
    old = GOOD.replace(b"git-lfs.github.com", b"hawser.github.com")
    assert parse_pointer(old, "m.bin") == LfsPointer(OID, 12345)
    ext = GOOD.replace(b"oid", b"ext-0-foo sha256:" + OID.encode() + b"\noid")
    assert parse_pointer(ext, "m.bin") == LfsPointer(OID, 12345, extensions=True)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"version 2\n", b"version https://example.com/spec\n", GOOD + b"x" * 1024],
)
def test_ordinary_bytes_are_no_pointer(data: bytes) -> None:
    assert parse_pointer(data, "m.bin") is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (GOOD.replace(OID.encode(), b"XYZ"), "oid"),
        (GOOD.replace(b"sha256:", b"md5:"), "oid"),
        (GOOD.replace(b"12345", b"-1"), "size"),
        (GOOD.replace(b"size 12345\n", b""), "size"),
        (GOOD[:-1], "no final newline"),
        (GOOD + b"size 1\n", "line"),
        (GOOD.replace(b"/v1", b"/v2"), "version"),
        (GOOD + b"\xff\n", "not ASCII"),
    ],
)
def test_a_broken_pointer_is_refused_by_name(data: bytes, problem: str) -> None:
    with pytest.raises(PointerError) as caught:
        parse_pointer(data, "data/m.bin")
    assert caught.value.message.startswith("data/m.bin: malformed Git LFS pointer")
    assert problem in caught.value.message


def test_fetch_include_escapes_wildcards_and_commas() -> None:
    assert fetch_include("data/a.bin") == "/data/a.bin"
    assert fetch_include("m[1]*.bin") == "/m\\[1\\]\\*.bin"
    assert fetch_include("a,b.bin") == "/a?b.bin"
