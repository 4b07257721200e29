"""Directory manifests: UTF-8 JSON lines, sorted by path, one file each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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


def encode(entries: Iterable[ManifestEntry]) -> bytes:
    import json  # here and in decode, not at the top: a clean `status` of files needs neither

    lines = []
    for e in sorted(entries, key=lambda e: e.path):
        path = json.dumps(e.path, ensure_ascii=False)
        line = f'{{"path": {path}, "oid": "{e.oid}", "size": {e.size}'
        lines.append(line + (', "exec": true}' if e.exec else "}"))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


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
