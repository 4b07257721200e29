"""Pointer files (`<artifact>.gmv`): parsing, validation and round-trip writing."""

from __future__ import annotations

import os

from gitmv.base import quickyaml
from gitmv.base.atomic import write_bytes
from gitmv.base.errors import GitmvError, PointerError
from gitmv.base.record import Record
from gitmv.store.hashing import Oid

# No typing at run time: a clean `status` and the hooks read pointers, and typing costs
# every start a few ms (mypy reads this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Literal

    Kind = Literal["file", "dir"]
else:
    Kind = str  # importable at run time, as it was

SUFFIX = ".gmv"
FORMAT_VERSION = 1
MAX_SIZE = 1024 * 1024
_ORDER = ("gitmv", "oid", "size", "kind", "files", "exec", "meta")


class Pointer(Record):
    """What a `.gmv` file says. `doc` keeps the parsed YAML so a rewrite keeps comments;
    equality and repr leave it out. `replace` makes a changed copy."""

    _fields = ("oid", "size", "kind", "files", "exec", "meta", "doc")

    __slots__ = _fields
    _compare = ("oid", "size", "kind", "files", "exec", "meta")
    oid: Oid
    size: int
    kind: Kind
    files: int | None
    exec: bool
    meta: Any
    doc: Any

    def __init__(
        self,
        oid: Oid,
        size: int,
        kind: Kind,
        files: int | None = None,
        exec: bool = False,
        meta: Any = None,
        doc: Any = None,
    ) -> None:
        super().__init__(oid, size, kind, files, exec, meta, doc)


def artifact_path(pointer_path: str) -> str:
    return pointer_path[: -len(SUFFIX)]


def pointer_path(artifact: str) -> str:
    return artifact + SUFFIX


def extra_objects(meta: Any) -> list[Oid]:
    """Objects a meta block names besides inputs (the package list): push and gc keep them."""
    env = meta.get("env") if isinstance(meta, dict) else None
    if isinstance(env, dict) and isinstance(env.get("packages"), str):
        try:
            return [Oid.parse(env["packages"])]
        except GitmvError:
            return []
    return []


def read(path: Path, name: str | None = None) -> Pointer:
    """Read and validate a pointer file, refusing one that is oversized or not a regular file."""
    label = name or str(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise PointerError(f"{label}: no such pointer file") from None
    if not os.path.isfile(path) or os.path.islink(path):
        raise PointerError(f"{label}: a pointer must be a regular file, not a link or folder")
    if st.st_size > MAX_SIZE:
        raise PointerError(f"{label}: pointer is {st.st_size} bytes, over the 1 MiB limit")
    with open(path, "rb") as f:
        data = f.read(MAX_SIZE + 1)
    return parse(data, label)


def parse(data: bytes, name: str) -> Pointer:
    if len(data) > MAX_SIZE:
        raise PointerError(f"{name}: pointer is over the 1 MiB limit")
    if b"\0" in data:
        raise PointerError(f"{name}: pointer holds NUL bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PointerError(f"{name}: pointer is not UTF-8") from None
    if _has_conflict_markers(text):
        raise _conflict(name)
    if "#" not in text:
        quick = quickyaml.load(text)
        if quick is not None and quick.keys() <= _QUICK_KEYS:
            # What gitmv writes: no comment or extra key that a rewrite must keep, so no
            # ruamel document is needed (`render` writes the same bytes without it). A meta
            # block keeps the plain document: `add` reads the old block from `doc`.
            return _validate(quick, name, keep="meta" in quick)
    from gitmv.base import yamlio

    try:
        doc = yamlio.loads(text, name)
    except GitmvError as exc:
        raise PointerError(exc.message, hint=_HINT) from None
    return _validate(doc, name)


_QUICK_KEYS = frozenset(("gitmv", "oid", "size", "kind", "files", "exec", "meta"))


_HINT = "restore it with `git checkout -- <pointer>`, or delete it and run `gitmv add` again"


def _has_conflict_markers(text: str) -> bool:
    """Whether git left a merge conflict in the file: both sides' markers at line starts."""
    lines = text.splitlines()
    return any(line.startswith("<<<<<<<") for line in lines) and any(
        line.startswith(">>>>>>>") for line in lines
    )


def _conflict(name: str) -> PointerError:
    # A pointer cannot be merged line by line: one side's version is the answer.
    artifact = artifact_path(name) if name.endswith(SUFFIX) else name
    return PointerError(
        f"merge conflict in {name}: a pointer names one version, so keep one side",
        hint=f"`git checkout --ours {name}` (or `--theirs`), `git add {name}`, "
        f"then `gitmv checkout {artifact}`",
    )


def _is_int(value: Any) -> bool:
    """ruamel.yaml reads `0` as ScalarInt, an int subclass; a bool is an int too, but not here."""
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(doc: Any, name: str, keep: bool = True) -> Pointer:
    def bad(problem: str) -> PointerError:
        return PointerError(f"{name}: {problem}", hint=_HINT)

    if not isinstance(doc, dict):
        raise bad("not a gitmv pointer (expected a YAML mapping)")
    for key in ("gitmv", "oid", "size", "kind"):
        if key not in doc:
            raise bad(f"missing key {key!r}")
    version = doc["gitmv"]
    if not _is_int(version):
        raise bad(f"malformed format version {version!r}")
    if version != FORMAT_VERSION:
        raise PointerError(
            f"{name}: unknown pointer format version {version}",
            hint="this pointer was written by a newer gitmv; upgrade gitmv",
        )
    try:
        oid = Oid.parse(doc["oid"])
    except GitmvError as exc:
        raise bad(exc.message) from None
    size = doc["size"]
    if not _is_int(size) or size < 0:
        raise bad(f"malformed size {size!r}")
    kind = doc["kind"]
    if kind not in ("file", "dir"):
        raise bad(f"unknown kind {kind!r} (expected file or dir)")
    files: Any = doc.get("files")
    if kind == "dir":
        if not _is_int(files) or files < 0:
            raise bad(f"a dir pointer needs a file count, got {files!r}")
    elif files is not None:
        raise bad("'files' is only for dir pointers")
    exec_bit = doc.get("exec", False)
    if not isinstance(exec_bit, bool):
        raise bad(f"malformed exec flag {exec_bit!r}")
    meta = doc.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise bad("'meta' must be a mapping")
    return Pointer(
        oid,
        int(size),
        kind,
        int(files) if kind == "dir" else None,
        bool(exec_bit),
        meta,
        doc if keep else None,
    )


def render(pointer: Pointer) -> str:
    """The pointer as YAML: known keys in order, a user's comments and extra keys kept."""
    from ruamel.yaml.comments import CommentedMap

    from gitmv.base import yamlio

    doc = pointer.doc if isinstance(pointer.doc, CommentedMap) else CommentedMap()
    values: dict[str, Any] = {
        "gitmv": FORMAT_VERSION,
        "oid": str(pointer.oid),
        "size": pointer.size,
        "kind": pointer.kind,
        "files": pointer.files if pointer.kind == "dir" else None,
        "exec": True if pointer.exec and pointer.kind == "file" else None,
        "meta": pointer.meta if pointer.meta else None,
    }
    for index, key in enumerate(_ORDER):
        value = values[key]
        if value is None:
            doc.pop(key, None)
        elif key in doc:
            if key != "meta" or doc[key] is not value:
                doc[key] = value
        else:
            position = sum(1 for k in _ORDER[:index] if k in doc)
            doc.insert(position, key, value)
    return yamlio.dumps(doc)


def write(path: Path, pointer: Pointer) -> None:
    write_bytes(path, render(pointer).encode("utf-8"))


def from_plain(doc: Any, name: str) -> Pointer:
    """The pointer a document already read as plain data says (by a reader of pointers in
    bulk, `gitmv.registry.metaread`), checked as `parse` checks one; no `doc` is kept."""
    return _validate(doc, name, keep=False)
