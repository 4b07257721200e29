"""The pack format on remotes (DESIGN 3.1.1), pure: names, the index, the format file.

A pack `<root>/packs/<id>.pack` holds small objects and chunks back to back; its index
`<root>/packs/<id>.idx` says where each one is. `<id>` is the xxh128 of the pack's bytes,
so an index is immutable and may be cached anywhere under its name. An index is text:

    gitmv-pack-index 1
    <key> <offset> <size>[ m]      one line per member, in offset order; ` m`: a manifest

where `<key>` is the member's key in the loose layout (store/layout.py: an object, a chunk
list or a chunk), so "is X on the remote" asks the same question of loose keys and packs. A manifest
is marked so that remote gc can find the young ones and keep their files without reading
every young member.
`<root>/gitmv.json` ({"format": 1}) says a remote holds packs; a reader that does not know
the format refuses the remote rather than misread it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from gitmv.base.config import Config
from gitmv.base.errors import GitmvError, PointerError
from gitmv.store.hashing import hash_bytes

PACKS_DIR = "packs"
PACK_SUFFIX = ".pack"
INDEX_SUFFIX = ".idx"
FORMAT_KEY = "gitmv.json"
FORMAT_VERSION = 1  # the remote layout this gitmv writes and reads: loose + chunked + packs
_HEADER = "gitmv-pack-index 1"
ID_ALGORITHM = "xxh128"

DEFAULT_MAX_OBJECT = 4 * 1024 * 1024
DEFAULT_PACK_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True)
class PackSettings:
    """Which objects go into packs (`pack.max_object`; 0 turns packing off), and how large a
    pack may grow (`pack.size`)."""

    max_object: int = DEFAULT_MAX_OBJECT
    size: int = DEFAULT_PACK_SIZE

    def packs(self, size: int) -> bool:
        return 0 <= size < self.max_object


def settings_from(config: Config, default_on: bool = True) -> PackSettings:
    """The `pack.*` settings, checked. Unset, a remote packs if `default_on` (an object
    store, where each request is billed and waited for; a folder remote stays loose unless
    `pack.max_object` is set: a local file system charges nothing per file read)."""
    max_object = config.size("pack.max_object", DEFAULT_MAX_OBJECT if default_on else 0)
    size = config.size("pack.size", DEFAULT_PACK_SIZE)
    return PackSettings(max_object, max(size, max_object))


@dataclass(frozen=True)
class PackEntry:
    key: str
    offset: int
    size: int
    manifest: bool = False


def pack_id(data: bytes) -> str:
    return hash_bytes(data, ID_ALGORITHM).hex


def pack_key(ident: str) -> str:
    return f"{PACKS_DIR}/{ident}{PACK_SUFFIX}"


def index_key(ident: str) -> str:
    return f"{PACKS_DIR}/{ident}{INDEX_SUFFIX}"


def parse_name(name: str) -> tuple[str, str] | None:
    """`<id>.pack` -> (id, ".pack"), `<id>.idx` -> (id, ".idx"); None for anything else
    (a temporary name, a stranger's file)."""
    for suffix in (PACK_SUFFIX, INDEX_SUFFIX):
        ident = name.removesuffix(suffix)
        if ident != name and len(ident) == 32 and all(c in "0123456789abcdef" for c in ident):
            return ident, suffix
    return None


def encode_index(entries: Iterable[PackEntry]) -> bytes:
    lines = [_HEADER, *(f"{e.key} {e.offset} {e.size}{' m' * e.manifest}" for e in entries)]
    return ("\n".join(lines) + "\n").encode()


def decode_index(data: bytes, where: str) -> list[PackEntry]:
    """The members an index lists; PointerError when it is not a well-formed index."""
    try:
        lines = data.decode().splitlines()
    except UnicodeDecodeError:
        raise _bad(where, "not text") from None
    if not lines or lines[0] != _HEADER:
        raise _bad(where, "no index header")
    entries: list[PackEntry] = []
    end = 0
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split(" ")
        flagged = len(parts) == 4 and parts[3] == "m"
        if len(parts) != 3 + flagged or not parts[1].isdigit() or not parts[2].isdigit():
            raise _bad(where, f"line {number} is not `<key> <offset> <size>[ m]`")
        entry = PackEntry(parts[0], int(parts[1]), int(parts[2]), flagged)
        if entry.offset < end:
            raise _bad(where, f"line {number} overlaps the member before it")
        end = entry.offset + entry.size
        entries.append(entry)
    return entries


def _bad(where: str, why: str) -> PointerError:
    return PointerError(
        f"{where} is not a pack index: {why}",
        hint="run `gitmv verify --remote NAME`; `gitmv repack --remote NAME` rewrites packs",
    )


def encode_format() -> bytes:
    return (json.dumps({"format": FORMAT_VERSION}) + "\n").encode()


def check_format(data: bytes, label: str) -> None:
    """Refuse a remote whose `gitmv.json` names a layout this gitmv does not know."""
    try:
        version = json.loads(data.decode()).get("format")
    except (UnicodeDecodeError, ValueError, AttributeError):
        version = None
    if version != FORMAT_VERSION:
        raise GitmvError(
            f"remote {label} has storage format {version!r}; this gitmv reads format "
            f"{FORMAT_VERSION}",
            hint="upgrade gitmv (`pip install -U gitmv`) to use this remote",
        )
