"""Which objects a remote holds: one batched question for many oids, whole or as a chunk
list (DESIGN 3.1), packed or loose (3.1.1). Push plans with it, status and verify ask it."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from gitmv.remotes.remote import Remote
from gitmv.store.hashing import Oid
from gitmv.store.layout import list_key, object_key
from gitmv.store.pointer import Pointer


def stored(
    remote: Remote, oids: Iterable[Oid], whole_only: Container[Oid] = (), index_only: bool = False
) -> tuple[set[Oid], set[Oid]]:
    """Which of `oids` the remote holds whole, and which as a chunk list: one batched check
    (a chunk list sits in the same folder as its object would). Those in `whole_only` (files
    under `chunking.min_size`, never cut) are asked about whole only: half the requests."""
    by_key: dict[str, tuple[Oid, bool]] = {}
    for oid in oids:
        by_key[object_key(oid)] = (oid, True)
        if oid not in whole_only:
            by_key[list_key(oid)] = (oid, False)
    whole: set[Oid] = set()
    listed: set[Oid] = set()
    for key in remote.has_keys(by_key, index_only=index_only):
        oid, is_whole = by_key[key]
        (whole if is_whole else listed).add(oid)
    return whole, listed


def present(
    remote: Remote, oids: Iterable[Oid], whole_only: Container[Oid] = (), index_only: bool = False
) -> set[Oid]:
    """Which of `oids` the remote holds in either form."""
    whole, listed = stored(remote, oids, whole_only, index_only)
    return whole | listed


def not_pushed(remote: Remote, pointers: Mapping[str, Pointer]) -> set[str]:
    """Artifact paths whose object the remote lacks (one batched check for all of them).

    A directory counts as pushed when its manifest is there: push uploads the manifest last.
    """
    from gitmv.remotes.folder import FolderRemote

    if (
        isinstance(remote, FolderRemote)
        and not remote.root.exists()
        and remote.root.parent.is_dir()
    ):
        return set(pointers)  # a folder remote appears with its first push: nothing is there yet
    remote.check()
    there = present(remote, (p.oid for p in pointers.values()))
    return {path for path, p in pointers.items() if p.oid not in there}
