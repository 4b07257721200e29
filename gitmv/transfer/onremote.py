"""Which manifest of each directory artifact this clone last saw on each remote (pushed
there, or fetched from it): the parent a new version's manifest is compared with.

A remote that holds a manifest holds all of its files (push uploads them first), so when
the parent is still on the remote (one existence check), only the entries the new
manifest adds need asking about: a push after one file changed in 20,000 asks about one
file, not 20,000 (256 listings on a remote without packs). Only a hint: an entry that is
wrong or gone costs the full check, never a skipped upload, since the parent's presence
is asked of the remote each time.

Kept below the cache at `on-remotes/<hash of the remote's URL>`: one JSON object,
artifact path -> manifest oid.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path

from gitmv.base import atomic
from gitmv.base.errors import GitmvError
from gitmv.remotes.remote import Remote
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid, hash_bytes

RECORDS = "on-remotes"


def _record(cache: Cache, remote: Remote) -> Path:
    scope = hash_bytes(remote.spec.url.encode(), "xxh128").hex
    return cache.root / RECORDS / scope


def load(cache: Cache, remote: Remote) -> dict[str, Oid]:
    """path -> the manifest last seen on `remote` for it; empty when unknown or unreadable."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, GitmvError):
        raw = json.loads(_record(cache, remote).read_bytes())
        return {str(path): Oid.parse(oid) for path, oid in raw.items()}
    return {}


def remember(cache: Cache, remote: Remote, seen: Mapping[str, Oid]) -> None:
    """Record that `remote` holds these manifests (path -> oid). Two processes at once may
    each lose the other's update: a lost entry only costs a full check later."""
    if not seen:
        return
    known = load(cache, remote)
    if all(known.get(path) == oid for path, oid in seen.items()):
        return
    known.update(seen)
    text = json.dumps({p: str(o) for p, o in sorted(known.items())}, indent=0)
    path = _record(cache, remote)
    with contextlib.suppress(OSError):  # a hint: a cache that cannot keep it goes without
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(path, text.encode())


def parents(cache: Cache, remote: Remote, manifests: Mapping[str, Oid]) -> dict[Oid, str]:
    """For each of `manifests` (path -> oid), the manifest last seen on `remote` for the same
    path, when it is another one and is in the cache to read: parent oid -> path."""
    known = load(cache, remote)
    return {
        old: path
        for path, oid in manifests.items()
        if (old := known.get(path)) is not None and old != oid and cache.has(old)
    }


def entries(cache: Cache, oid: Oid) -> set[Oid]:
    """The file oids a cached manifest lists; empty when it cannot be read (no shortcut)."""
    from gitmv.store import manifest

    with contextlib.suppress(OSError, GitmvError):
        return {e.oid for e in manifest.decode(cache.read_bytes(oid), f"manifest {oid}")}
    return set()
