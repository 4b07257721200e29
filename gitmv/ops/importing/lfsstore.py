"""Git LFS's own files, read only: its pointers, its local object store, its server's URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gitmv.base import git, gitforeign
from gitmv.base.errors import IntegrityError, PointerError
from gitmv.store.hashing import hash_file

POINTER_MAX = 1024  # Git LFS reads a blob as a pointer only below this size
_SPECS = ("https://git-lfs.github.com/spec/v1", "https://hawser.github.com/spec/v1")
_OID = re.compile(r"sha256:([0-9a-f]{64})")
_SIZE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # sha256, lowercase hex
    size: int
    extensions: bool = False  # `ext-N-…` keys: the stored bytes are a transform of the file


def parse_pointer(data: bytes, name: str) -> LfsPointer | None:
    """The pointer in a blob; None for ordinary bytes; PointerError for a broken pointer."""
    if not data.startswith(b"version https://") or len(data) >= POINTER_MAX:
        return None
    if not any(data.startswith(b"version " + spec.encode()[:-2]) for spec in _SPECS):
        return None  # a pointer of any spec version is read; an unknown version is refused

    def bad(problem: str) -> PointerError:
        return PointerError(
            f"{name}: malformed Git LFS pointer ({problem})",
            hint="`git lfs fsck --pointers` lists such files; stage a fixed one (or `git rm "
            "--cached` it), then import again (gitmv changed nothing)",
        )

    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise bad("not ASCII") from None
    if not text.endswith("\n"):
        raise bad("no final newline")
    fields: dict[str, str] = {}
    for line in text[:-1].split("\n"):
        key, sep, value = line.partition(" ")
        if not sep or not key or key in fields:
            raise bad(f"line {line!r}")
        fields[key] = value
    if fields.get("version") not in _SPECS:
        raise bad(f"version {fields.get('version')!r}")
    oid = _OID.fullmatch(fields.get("oid", ""))
    if oid is None:
        raise bad(f"oid {fields.get('oid')!r}")
    if _SIZE.fullmatch(fields.get("size", "")) is None:
        raise bad(f"size {fields.get('size')!r}")
    return LfsPointer(oid.group(1), int(fields["size"]), any(k.startswith("ext-") for k in fields))


def media_dir(common_dir: Path, root: Path) -> Path:
    """Where Git LFS keeps its objects: `lfs.storage` (relative to the git dir) or
    `.git/lfs`, then `objects/`. Read from config, not `git lfs env`, which writes."""
    storage = git.config_get(root, "lfs.storage")
    return (common_dir / storage if storage else common_dir / "lfs") / "objects"


def server_url(root: Path) -> str | None:
    """The LFS server's URL as Git LFS finds it: `lfs.url` (git config, then `.lfsconfig`),
    `remote.origin.lfsurl`, else the `origin` remote's own URL."""
    found = git.config_get(root, "lfs.url")
    if found is None and (root / ".lfsconfig").is_file():
        found = gitforeign.config_file_get(root, ".lfsconfig", "lfs.url")
    for key in ("remote.origin.lfsurl", "remote.origin.url"):
        found = found or git.config_get(root, key)
    return found


def fetch_include(path: str) -> str:
    """`path` as a `git lfs fetch --include` pattern: gitignore-style, comma-separated, so
    wildcards are escaped and a comma (which cannot be) matches as any one character."""
    escaped = re.sub(r"([*?\[\]\\])", r"\\\1", path)
    return "/" + escaped.replace(",", "?")


def object_path(media: Path, oid: str) -> Path:
    return media / oid[0:2] / oid[2:4] / oid


def sha256(path: Path) -> str:
    return hash_file(path, "sha256")[0].hex


def check_object(obj: Path, pointer: LfsPointer, path: str) -> None:
    size = obj.stat().st_size
    if size != pointer.size or sha256(obj) != pointer.oid:
        raise IntegrityError(
            f"{path}: the Git LFS object {obj} does not match its sha256:{pointer.oid} "
            f"({size} bytes, the pointer says {pointer.size}): it is corrupt",
            hint="`git lfs fsck` moves it aside (to .git/lfs/bad) and `git lfs fetch` downloads "
            "it again; then import again (gitmv changed nothing)",
        )
