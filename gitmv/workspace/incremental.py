"""Work that grows with the change: a folder artifact's manifest rebuilt from the last one.

The stat pass stays O(files), but in C: GNU find lists every file's (type, inode, size,
mtime, mode, path) as one byte string (`scan.quick_listing`). The folder index, written by
`add` (and by `status` when it meets a folder in a cached state), keeps that listing beside
the oid of the manifest it describes. The next command compares the new listing with the
kept one as two sets of byte strings (C work, no Python object per file), looks at the few
paths whose record changed, and patches the kept manifest's lines at those paths (sorted
insertion by bisection). A full rescan gives the same bytes: tests/functional/
test_incremental.py compares the two over random edit sequences.

The index is only a hint. It is refused whole (and the caller rescans) when it is missing,
garbled (its checksum fails), for another hash algorithm, when its manifest is not in the
cache or fails its hash, or when more than `_MAX_CHANGED` paths changed (a bulk rescan is
then cheaper). Records whose mtime falls within the racy window of the listing are smudged
(`~` in front), so a file rewritten within its mtime tick is always looked at again.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from gitmv.base import atomic
from gitmv.base.atomic import _TMP_MARK
from gitmv.base.errors import GitmvError
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid, hash_bytes
from gitmv.store.manifest import (
    ManifestEntry,
    check_relpath,
    decode,
    encode,
    find_line,
    path_of,
)
from gitmv.store.state import _RACY_NS, Key, StatCache
from gitmv.workspace.scan import Listing

_MAGIC = b"gitmv-folder-index 1"
_SMUDGE = b"~"  # before a record that must never match (racy)
# Beyond this many changed paths, one bulk rescan (a single stat-cache query, hashing on
# threads) beats looking paths up one at a time.
_MAX_CHANGED = 2000


@dataclass
class Current:
    """A folder's manifest as the work tree holds it now, built from the index."""

    base: Oid  # the manifest the index described, patched into `data`
    data: bytes  # the manifest (encode's form: lines sorted by path)
    size: int
    files: int
    examined: int  # paths whose record changed since the index
    came: set[bytes] = field(default_factory=set)  # find records new since the index
    fresh: list[tuple[str, Key, str]] = field(default_factory=list)  # stat-cache rows
    temps: list[str] = field(default_factory=list)  # gitmv temp files found (absolute)
    vouched: list[tuple[str, Oid]] = field(default_factory=list)  # changed, stat cache knew

    def manifest(self) -> bytes:
        return self.data


def index_path(state: StatCache, folder: Path) -> Path:
    """Beside the stat cache (same lifetime, never in the work tree), keyed by the folder."""
    name = xxhash.xxh3_128_hexdigest(os.fsencode(os.path.abspath(folder)))
    return state.path.parent / "folders" / name


def save(
    state: StatCache,
    folder: Path,
    listing: Listing,
    manifest_oid: Oid,
    size: int,
    files: int,
    changed: set[bytes] | None = None,
) -> None:
    """Keep `listing` as the record of the work tree that `manifest_oid` describes. Only a
    cache: a failure to write it is ignored (the next command rescans).

    `changed`: the records new since the last index (`Current.came`), when known: the
    others were out of the racy window then, so they still are, and only these are looked at.
    """
    body = _without_racy(listing, changed)
    fields = b"%s %d %d" % (str(manifest_oid).encode(), size, files)
    head = b"%s %s %s\n" % (_MAGIC, fields, _checksum(fields, body))
    path = index_path(state, folder)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(path, head + body)


def forget(state: StatCache, folder: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(index_path(state, folder))


def _load(state: StatCache, folder: Path, algorithm: str) -> tuple[Oid, int, int, bytes] | None:
    """(manifest oid, size, files, kept records), or None for a missing or garbled index."""
    try:
        with open(index_path(state, folder), "rb") as f:
            data = f.read()
    except OSError:
        return None
    head, sep, body = data.partition(b"\n")
    fields = head.split(b" ")
    if not sep or len(fields) != 6 or b" ".join(fields[:2]) != _MAGIC:
        return None
    if _checksum(b" ".join(fields[2:5]), body) != fields[5]:
        return None  # garbled, or its fields and records do not belong together
    try:
        oid = Oid.parse(fields[2].decode())
        size, files = int(fields[3]), int(fields[4])
    except (GitmvError, ValueError, UnicodeDecodeError):
        return None
    if oid.algorithm != algorithm:
        return None
    return oid, size, files, body


def _checksum(fields: bytes, body: bytes) -> bytes:
    return xxhash.xxh3_128_hexdigest(fields + b"\n" + body).encode()


def _smudge_racy(raw: bytes, started_ns: int) -> bytes:
    """The records, those whose mtime is within the racy window (or in the future) marked
    `~` so that no listing ever matches them: such a file is looked at again next time,
    and its removal is still seen (a record left out would hide it, while the manifest
    still lists the file). One regular expression over the bytes: no Python per record."""
    # whole seconds, rounded down: a record of the second before is older than the window
    limit = (started_ns - _RACY_NS) // 1_000_000_000
    pattern = rb"(?<![^\0])[^\0 ]+ \d+ \d+ (?:%s)\.?\d*[^\0]*\0" % _at_least(limit)
    return re.sub(pattern, lambda m: _SMUDGE + m.group(0), raw)


def _at_least(n: int) -> bytes:
    """A regular expression for the decimal integers >= n (n >= 0)."""
    digits = str(n)
    options = [rf"\d{{{len(digits) + 1},}}", digits]
    for i, d in enumerate(digits):
        if d != "9":
            rest = len(digits) - i - 1
            options.append(f"{digits[:i]}[{int(d) + 1}-9]" + (rf"\d{{{rest}}}" if rest else ""))
    return "|".join(options).encode()


def current(
    folder: Path,
    state: StatCache,
    cache: Cache,
    algorithm: str,
    listing: Listing,
    hasher: Callable[[str, int], Oid],
) -> Current | None:
    """The folder's manifest lines now, patched from the index; None when the index cannot
    be trusted or too much changed (the caller then rescans in full).

    `hasher(path, size)` gives the oid of a file the stat cache does not vouch for (`add`
    stores it in the cache at the same time).
    """
    loaded = _load(state, folder, algorithm)
    if loaded is None:
        return None
    oid, size, files, body = loaded
    gone, came = _differing(body, listing.raw)
    if len(gone) + len(came) > 2 * _MAX_CHANGED:
        return None
    try:
        data = cache.read_bytes(oid)
    except (GitmvError, OSError):
        return None
    if hash_bytes(data, algorithm) != oid:
        return None  # a damaged manifest object: the rescan does not trust it either
    if data.count(b"\n") != files or (data and not data.endswith(b"\n")):
        return None
    result = Current(oid, data, size, files, 0, came)
    now = _files_of(came, folder, result.temps)
    touched = sorted(_files_of(gone, folder, []).keys() | now.keys())
    result.examined = len(touched)
    top = str(folder)
    pieces: list[bytes] = []
    done = 0  # bytes of `data` already in `pieces`
    try:  # every name first: `add` stores as it goes, and bad input must store nothing
        for rel in touched:
            check_relpath(rel, str(folder))
    except GitmvError:
        return None  # a name a manifest cannot hold: the rescan reports it as before
    for rel in touched:
        at = find_line(data, rel)
        pieces.append(data[done:at])
        done = at
        end = data.find(b"\n", at) + 1
        if end and path_of(data[at:end]) == rel:
            before = _entry(data[at:end])
            result.size -= before.size
            result.files -= 1
            done = end
        if rel not in now:
            continue
        path = f"{top}/{rel}"
        try:
            st = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone since find: as a rescan would not see it
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        known = state.get(path, key)
        if known is not None and known.startswith(algorithm + ":"):
            file_oid = Oid.parse(known)
            result.vouched.append((path, file_oid))
        else:
            file_oid = hasher(path, st.st_size)
            result.fresh.append((path, key, str(file_oid)))
        pieces.append(encode([ManifestEntry(rel, file_oid, st.st_size, bool(st.st_mode & 0o100))]))
        result.size += st.st_size
        result.files += 1
    if pieces:
        pieces.append(data[done:])
        result.data = b"".join(pieces)
    return result


def _differing(old: bytes, new: bytes) -> tuple[set[bytes], set[bytes]]:
    """The records only in `old`, and those only in `new`. find lists a folder's entries
    together, so the listings are first cut at each folder's record and compared as
    chunks (a byte comparison each, in C); only chunks that differ are cut into records.
    A record (its path) is in one chunk of a listing, so a record of an unchanged chunk
    is in both listings."""
    old_chunks = set(old.split(b"\0d "))
    new_chunks = set(new.split(b"\0d "))
    old_records: set[bytes] = set()
    for chunk in old_chunks - new_chunks:
        old_records.update(chunk.split(b"\0"))
    new_records: set[bytes] = set()
    for chunk in new_chunks - old_chunks:
        new_records.update(chunk.split(b"\0"))
    return old_records - new_records, new_records - old_records


def _files_of(records: set[bytes], folder: Path, temps: list[str]) -> dict[str, bytes]:
    """Relative path -> record, for the regular files among `records`; gitmv's own temp
    files go to `temps` instead (a walk leaves them out too)."""
    found = {}
    for record in records:
        record = record.removeprefix(_SMUDGE)
        if not record.startswith(b"f "):
            continue  # folders change mtime as files come and go; their files tell it all
        parts = record.split(b" ", 5)
        if len(parts) != 6 or not parts[5].startswith(b"./"):
            continue
        rel = os.fsdecode(parts[5][2:])
        if _TMP_MARK in rel:  # in a file's name or a folder's, as the walk skips either
            temps.append(os.path.join(folder, rel))
            continue
        found[rel] = record
    return found


def _entry(line: bytes) -> ManifestEntry:
    return decode(line, "manifest line")[0]


def settled(listing: Listing, changed: set[bytes] | None = None) -> bool:
    """Whether no record of `listing` is within the racy window (it may vouch for all);
    `changed` as for `save`."""
    if changed is not None:
        return not any(_is_racy(r, listing.started_ns) for r in changed)
    return _smudge_racy(listing.raw, listing.started_ns) == listing.raw


def _without_racy(listing: Listing, changed: set[bytes] | None) -> bytes:
    if changed is None or len(changed) > 64:
        return _smudge_racy(listing.raw, listing.started_ns)
    body = listing.raw
    for record in changed:
        if record and _is_racy(record, listing.started_ns):
            body = body.replace(b"\0" + record + b"\0", b"\0" + _SMUDGE + record + b"\0")
            if body.startswith(record + b"\0"):
                body = _SMUDGE + body
    return body


def _is_racy(record: bytes, started_ns: int) -> bool:
    """One record's mtime within the racy window, or unreadable (then it counts as racy)."""
    parts = record.split(b" ", 4)
    try:
        seconds = int(parts[3].split(b".")[0])
    except (IndexError, ValueError):
        return bool(record)
    return seconds >= (started_ns - _RACY_NS) // 1_000_000_000
