"""Where objects live below a store's root, written once (DESIGN 3.1): the key of a whole
object, of its chunk list and of a chunk, and the way back from a key to its oid."""

from __future__ import annotations

from dataclasses import dataclass

from gitmv.base.errors import GitmvError
from gitmv.store.hashing import ALGORITHMS, Oid

LIST_SUFFIX = ".chunks"  # a chunk list sits beside where the whole object would
CHUNKS_DIR = "chunks"  # chunks live in their own tree: they are no objects of their own


@dataclass(frozen=True)
class ObjectKey:
    """What an object-tree key names: the whole object, or its chunk list."""

    oid: Oid
    chunk_list: bool


def object_key(oid: Oid) -> str:
    """`<algorithm>/<hex[:2]>/<hex[2:]>`: the two-digit folder keeps folders small."""
    return f"{oid.algorithm}/{oid.hex[:2]}/{oid.hex[2:]}"


def list_key(oid: Oid) -> str:
    """Where an object's chunk list lives."""
    return object_key(oid) + LIST_SUFFIX


def chunk_key(oid: Oid) -> str:
    """Where a chunk lives."""
    return f"{CHUNKS_DIR}/{object_key(oid)}"


def _oid(algorithm: str, folder: str, name: str) -> Oid | None:
    if len(folder) != 2:
        return None
    try:
        return Oid.parse(f"{algorithm}:{folder}{name}")
    except GitmvError:
        return None


def parse_object_key(key: str) -> ObjectKey | None:
    """The whole object or chunk list a key names; None for anything else (a temp file,
    a chunk, a stranger's file)."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] not in ALGORITHMS:
        return None
    name = parts[2].removesuffix(LIST_SUFFIX)
    oid = _oid(parts[0], parts[1], name)
    return None if oid is None else ObjectKey(oid, name != parts[2])


def parse_chunk_key(key: str) -> Oid | None:
    """The chunk a key names; None for anything else."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != CHUNKS_DIR or parts[1] not in ALGORITHMS:
        return None
    return _oid(parts[1], parts[2], parts[3])


def key_label(key: str) -> str:
    """`xxh128/4f/1c…` -> `object xxh128:4f1c…`: how a user recognises an object (or a
    chunk, or a chunk list: DESIGN 3.1)."""
    chunk = parse_chunk_key(key)
    if chunk is not None:
        return f"chunk {chunk}"
    named = parse_object_key(key)
    if named is not None and named.chunk_list:
        return f"chunk list of object {named.oid}"
    if named is not None:
        return f"object {named.oid}"
    return f"object {key}"
