"""Directory manifests: UTF-8 JSON lines, sorted by path, one file each."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from gitmv.base.errors import GitmvError, PointerError
from gitmv.store.cache import Cache
from gitmv.store.hashing import Oid


@dataclass(frozen=True, slots=True)  # slots: one per file of a folder
class ManifestEntry:
    path: str
    oid: Oid
    size: int
    exec: bool = False


@contextmanager
def no_gc() -> Iterator[None]:
    """Python's cyclic collector paused while one object per file is built: none of them
    is in a cycle, and its passes over every live object are what made a 400k-file decode
    grow as N^1.3 (issue 18; 0.18 / 0.47 / 1.03 s of collector at 100k / 200k / 400k)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def encode(entries: Iterable[ManifestEntry]) -> bytes:
    import json  # here and in decode, not at the top: a clean `status` of files needs neither

    # each line as bytes, joined once: no second copy of the whole text as a str
    lines = []
    for e in sorted(entries, key=lambda e: e.path):
        path = json.dumps(e.path, ensure_ascii=False)
        tail = ', "exec": true}\n' if e.exec else "}\n"
        lines.append(f'{{"path": {path}, "oid": "{e.oid}", "size": {e.size}{tail}'.encode())
    return b"".join(lines)


def check_relpath(path: object, name: str) -> str:
    """A manifest path is relative, `/`-separated, and never leaves its folder."""
    if not isinstance(path, str) or not path:
        raise PointerError(f"{name}: malformed path {path!r}")
    parts = path.split("/")
    if "\\" in path:
        raise PointerError(
            f"{name}: path {path!r} has a backslash, which a manifest cannot hold",
            hint="rename the file: manifest paths are '/'-separated on every system",
        )
    if (
        path.startswith("/")
        or "\\" in path
        or "\0" in path
        or (len(parts[0]) >= 2 and parts[0][1] == ":")
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise PointerError(
            f"{name}: path {path!r} would leave its folder",
            hint="a manifest path is relative, '/'-separated, with no '..'",
        )
    return path


def decode(data: bytes, name: str) -> list[ManifestEntry]:
    with no_gc():
        return _decode(data, name)


def _decode(data: bytes, name: str) -> list[ManifestEntry]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PointerError(f"{name}: manifest is not UTF-8") from None
    import json

    entries: list[ManifestEntry] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        where = f"{name} line {number}"
        try:
            row = json.loads(line)
        except ValueError:
            raise PointerError(f"{where}: not a JSON object") from None
        if not isinstance(row, dict) or not {"path", "oid", "size"} <= row.keys():
            raise PointerError(f"{where}: needs path, oid and size")
        path = check_relpath(row["path"], where)
        size = row["size"]
        if type(size) is not int or size < 0:
            raise PointerError(f"{where}: malformed size {size!r}")
        exec_bit = row.get("exec", False)
        if type(exec_bit) is not bool:
            raise PointerError(f"{where}: malformed exec flag")
        try:
            oid = Oid.parse(row["oid"])
        except GitmvError as exc:
            raise PointerError(f"{where}: {exc.message}") from None
        if path in seen:
            raise PointerError(f"{where}: duplicate path {path!r}")
        seen.add(path)
        entries.append(ManifestEntry(path, oid, size, exec_bit))
    _check_no_file_is_a_folder(seen, name)
    entries.sort(key=lambda e: e.path)
    return entries


def _check_no_file_is_a_folder(paths: set[str], name: str) -> None:
    for path in paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths:
                raise PointerError(f"{name}: {path!r} lies inside the file {'/'.join(parts[:i])!r}")


# -- expanding: the files of the folders a set of pointers names ------------------------------

ManifestReader = Callable[[Oid], "bytes | None"]


@dataclass(frozen=True)
class Expansion:
    """Objects named, with their files: every top object and every file of each readable
    manifest, one path naming each (for reports)."""

    oids: frozenset[Oid]
    where: Mapping[Oid, str]
    unresolved: tuple[Oid, ...]  # folder manifests nobody could read: their files are unknown


def expand(tops: Mapping[Oid, tuple[str, str]], read: ManifestReader) -> Expansion:
    """Add the files of every manifest among `tops` (oid -> (kind, path); kind "dir",
    "file", or "unknown" for an oid read from a broken pointer's text, which may be a
    manifest). `read` returns a manifest's bytes or None."""
    oids = set(tops)
    where = {oid: path for oid, (_, path) in tops.items()}
    unresolved = []
    for oid, (kind, path) in sorted(tops.items()):
        if kind == "file":
            continue
        data = read(oid)
        if data is None:
            if kind == "dir":
                unresolved.append(oid)
            continue
        try:
            entries = decode(data, f"manifest of {path}")
        except GitmvError:
            if kind == "dir":
                unresolved.append(oid)
            continue
        for e in entries:
            oids.add(e.oid)
            where.setdefault(e.oid, f"{path}/{e.path}")
    return Expansion(frozenset(oids), where, tuple(unresolved))


def cache_reader(cache: Cache) -> ManifestReader:
    """Read manifests from the cache: None for one it lacks or cannot read."""

    def read(oid: Oid) -> bytes | None:
        try:
            return cache.read_bytes(oid) if cache.has(oid) else None
        except (GitmvError, OSError):
            return None

    return read


# -- comparing two manifests without an object per line ------------------------------------

# Below this many bytes a pair of ranges is cut into lines and compared as sets.
_LEAF = 16 * 1024


def path_of(line: bytes) -> str:
    """The path of one manifest line (ValueError when it has none)."""
    import json

    row = json.loads(line)
    path = row.get("path") if isinstance(row, dict) else None
    if not isinstance(path, str):
        raise ValueError("no path")
    return path


def find_line(data: bytes, rel: str, lo: int = 0, hi: int | None = None) -> int:
    """The offset of the first line of sorted manifest `data` (within [lo, hi), both line
    starts) whose path is not below `rel` (hi if none): a bisection over byte offsets,
    parsing O(log N) lines."""
    hi = len(data) if hi is None else hi
    while lo < hi:
        mid = (lo + hi) // 2
        start = data.rfind(b"\n", lo, mid) + 1 or lo
        end = data.find(b"\n", start, hi)
        end = hi - 1 if end < 0 else end
        if path_of(data[start:end]) < rel:
            lo = end + 1
        else:
            hi = start
    return lo


def differing_lines(old: bytes, new: bytes) -> tuple[set[bytes], set[bytes]]:
    """The lines only in `old` and those only in `new` (two manifests, each line once).

    Both are cut at the same paths, by bisection, until the pieces are equal (one memcmp,
    no copy) or small; only the small unequal pieces are cut into lines. Work grows with
    the changes times log N, not with N. Sorting by path only makes it fast: on unsorted
    input a line may land in a different piece on each side, and then it is in both
    leftovers and cancels in the final set difference, so the answer is the same."""
    only_old: set[bytes] = set()
    only_new: set[bytes] = set()
    view_new = memoryview(new)
    stack = [(0, len(old), 0, len(new))]
    while stack:
        a0, a1, b0, b1 = stack.pop()
        if a1 - a0 == b1 - b0 and old.startswith(view_new[b0:b1], a0):
            continue  # equal pieces
        split = None
        if (a1 - a0) + (b1 - b0) > _LEAF:
            split = _split(old, a0, a1, new, b0, b1)
        if split is None:
            only_old.update(old[a0:a1].split(b"\n"))
            only_new.update(new[b0:b1].split(b"\n"))
            continue
        ma, mb = split
        stack.append((ma, a1, mb, b1))
        stack.append((a0, ma, b0, mb))
    common = only_old & only_new
    only_old -= common
    only_new -= common
    only_old.discard(b"")
    only_new.discard(b"")
    return only_old, only_new


def _split(a: bytes, a0: int, a1: int, b: bytes, b0: int, b1: int) -> tuple[int, int] | None:
    """Line starts in both ranges before which every line's path sorts below the middle
    line of the longer range; None when no cut makes progress (then the caller compares
    the lines as sets)."""
    swap = b1 - b0 > a1 - a0
    longer, lo, hi, other, olo, ohi = (b, b0, b1, a, a0, a1) if swap else (a, a0, a1, b, b0, b1)
    mid = longer.rfind(b"\n", lo, (lo + hi) // 2) + 1 or lo
    if mid == lo:
        return None
    end = longer.find(b"\n", mid, hi)
    try:
        cut = find_line(other, path_of(longer[mid : end if end >= 0 else hi]), olo, ohi)
    except (ValueError, UnicodeDecodeError):
        return None  # not JSON: left to the set comparison (and decode's message)
    return (cut, mid) if swap else (mid, cut)
