from pathlib import Path

import pytest

from gitmv.base.errors import GitmvError
from gitmv.store import layout
from gitmv.store.hashing import Oid, copy_and_hash, hash_bytes, hash_file

HELLO_XXH128 = "xxh128:df8d09e93f874900a99b8775cc15b6c7"
HELLO_SHA256 = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"


def test_known_values_pin_the_algorithms() -> None:
    assert str(hash_bytes(b"hello world")) == HELLO_XXH128
    assert str(hash_bytes(b"hello world", "sha256")) == HELLO_SHA256
    assert str(hash_bytes(b"")) == "xxh128:99aa06d3014798d86001c324468d497f"


def test_streaming_equals_one_shot(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40_000  # crosses the 4 MiB block boundary
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == (hash_bytes(data), len(data))
    out = tmp_path / "copy"
    with open(out, "wb") as f:
        assert copy_and_hash(path, f.fileno()) == (hash_bytes(data), len(data))
    assert out.read_bytes() == data


def test_oid_parse_round_trips_and_lays_out_paths() -> None:
    oid = Oid.parse(HELLO_XXH128)
    assert str(oid) == HELLO_XXH128
    assert layout.object_key(oid) == "xxh128/df/8d09e93f874900a99b8775cc15b6c7"


@pytest.mark.parametrize(
    "text",
    [
        "md5:df8d09e93f874900a99b8775cc15b6c7",
        "xxh128:DF8D09E93F874900A99B8775CC15B6C7",
        "xxh128:df8d",
        "xxh128:../../../../etc/passwd0000000000",
        "df8d09e93f874900a99b8775cc15b6c7",
        12,
        None,
    ],
)
def test_oid_parse_refuses_malformed(text: object) -> None:
    with pytest.raises(GitmvError):
        Oid.parse(text)
