"""`gitmv import lfs`: the Git LFS files of the index become gitmv artifacts.

Plan first, write last. Every LFS pointer in the index (HEAD plus anything staged) under the
given paths is parsed; a malformed one stops the import before anything is written. Each
file's bytes are found (the work tree when it holds them, else the LFS store under
`.git/lfs/objects`, else `git lfs fetch` of just those files) and checked against the
pointer's sha256 before they are trusted: a corrupt LFS object stops the import too. Then
the files are added as gitmv artifacts (pointer, cache, `.gitignore`, `git rm --cached`),
and the patterns whose files were all converted leave `.gitattributes`; all is staged, so
the next commit is the migration. History is not rewritten: older commits keep their LFS
pointers, which Git LFS still checks out.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from gitmv.base import git
from gitmv.base.atomic import atomic_writer, write_bytes
from gitmv.base.config import PROJECT_FILE
from gitmv.base.errors import GitmvError, IntegrityError, PointerError
from gitmv.ops.importing import Converted, ImportReport, Skipped, lfsattrs
from gitmv.repo.context import Repo
from gitmv.store.hashing import hash_file

TOOL = "lfs"
POINTER_MAX = 1024  # Git LFS reads a blob as a pointer only below this size
_SPECS = ("https://git-lfs.github.com/spec/v1", "https://hawser.github.com/spec/v1")
_OID = re.compile(r"sha256:([0-9a-f]{64})")
_SIZE = re.compile(r"0|[1-9][0-9]*")
WORK_TREE = "work tree"
STORE = "Git LFS store"
FETCH = "Git LFS server (git lfs fetch)"


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # sha256, lowercase hex
    size: int
    extensions: bool = False  # `ext-N-…` keys: the stored bytes are a transform of the file


@dataclass(frozen=True)
class _Item:
    path: str
    pointer: LfsPointer
    source: str  # WORK_TREE, STORE or FETCH


def parse_pointer(data: bytes, name: str) -> LfsPointer | None:
    """The pointer in a blob; None for ordinary bytes; PointerError for a broken pointer."""
    if not data.startswith(b"version https://") or len(data) >= POINTER_MAX:
        return None
    if not any(data.startswith(b"version " + spec.encode()) for spec in _SPECS):
        return None

    def bad(problem: str) -> PointerError:
        return PointerError(
            f"{name}: malformed Git LFS pointer ({problem})",
            hint=f"restore it (`git checkout HEAD -- {name}`) or add the file again with Git "
            "LFS (`git add`); gitmv changed nothing",
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


def run(repo: Repo, paths: list[str], *, dry_run: bool = False) -> ImportReport:
    root = repo.root
    scope = [repo.relpath(p, allow_root=True) for p in paths]
    entries = [e for e in git.index_entries(root) if e[0] != "120000" and e[0] != "160000"]
    for user_path, rel in zip(paths, scope, strict=True):
        if rel and not (root / rel).exists() and not any(_under(e[3], [rel]) for e in entries):
            raise GitmvError(f"{user_path}: no such file or folder")
    filters = git.attribute_values(root, "filter", sorted({e[3] for e in entries}))
    lfs_entries = [e for e in entries if filters.get(e[3]) == "lfs"]
    chosen = [e for e in lfs_entries if not scope or _under(e[3], scope)]
    skipped: list[Skipped] = []
    pointers: dict[str, LfsPointer] = {}
    blobs = git.read_blobs(root, [e[1] for e in chosen if e[2] == 0], POINTER_MAX - 1)
    for _mode, sha, stage, path in chosen:  # every pointer parsed before any byte is read
        if stage != 0:
            skipped.append(Skipped(path, "unmerged: finish the merge, then import again"))
            continue
        blob = blobs.get(sha)
        parsed = parse_pointer(blob, path) if blob is not None else None
        if parsed is None:
            skipped.append(Skipped(path, "committed to git as ordinary bytes, not via Git LFS"))
        elif parsed.extensions:
            skipped.append(Skipped(path, "stored through a Git LFS extension gitmv cannot undo"))
        else:
            pointers[path] = parsed
    media = _media_dir(repo)
    items, to_fetch = _locate(repo, pointers, media, skipped)
    if to_fetch and not git.lfs_available(root):
        for path in to_fetch:
            skipped.append(
                Skipped(
                    path,
                    "bytes in neither the work tree nor the LFS store, "
                    "and Git LFS is not installed to fetch them",
                )
            )
    elif to_fetch and dry_run:
        items.extend(_Item(p, pointers[p], FETCH) for p in to_fetch)
    elif to_fetch:
        reason = git.lfs_fetch(root, [_include(p) for p in to_fetch])
        for path in to_fetch:
            obj = _object_path(media, pointers[path].oid)
            if obj.is_file():
                _check_object(obj, pointers[path], path)
                items.append(_Item(path, pointers[path], FETCH))
            else:
                why = (
                    f"`git lfs fetch` failed: {reason}"
                    if reason
                    else "`git lfs fetch` did not bring it (not on the LFS server?)"
                )
                skipped.append(
                    Skipped(path, f"bytes in neither the work tree nor the LFS store, and {why}")
                )
    files = lfsattrs.read(
        root, git.attribute_files(root), repo.paths.git_dir / "info" / "attributes"
    )
    items, dropped = _settle(files, items, [e[3] for e in lfs_entries], skipped)
    items.sort(key=lambda i: i.path)
    notes = _notes(repo, files, dropped, items)
    removed = tuple(
        f"{line.pattern} (from {line.file})"
        for f in files
        for line in f.lines
        if (line.file, line.number) in dropped
    )
    report = ImportReport(
        TOOL,
        converted=tuple(Converted(i.path, i.source, i.pointer.size) for i in items),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
        removed=removed,
        notes=notes,
        dry_run=dry_run,
    )
    if dry_run or not items:
        return report
    _write(repo, items, media, files, dropped)
    return report


def _media_dir(repo: Repo) -> Path:
    """Where Git LFS keeps its objects: `lfs.storage` (relative to the git dir) or
    `.git/lfs`, then `objects/`. Read from config, not `git lfs env`, which writes."""
    storage = git.config_get(repo.root, "lfs.storage")
    base = repo.paths.common_dir / storage if storage else repo.paths.common_dir / "lfs"
    return base / "objects"


def _lfs_server(root: Path) -> str | None:
    """The LFS server's URL as Git LFS finds it: `lfs.url` (git config, then `.lfsconfig`),
    `remote.origin.lfsurl`, else the `origin` remote's own URL."""
    found = git.config_get(root, "lfs.url")
    if found is None and (root / ".lfsconfig").is_file():
        found = git.config_file_get(root, ".lfsconfig", "lfs.url")
    for key in ("remote.origin.lfsurl", "remote.origin.url"):
        found = found or git.config_get(root, key)
    return found


def _under(path: str, scope: list[str]) -> bool:
    return any(not rel or path == rel or path.startswith(rel + "/") for rel in scope)


def _include(path: str) -> str:
    """`path` as a `git lfs fetch --include` pattern: gitignore-style, comma-separated, so
    wildcards are escaped and a comma (which cannot be) matches as any one character."""
    escaped = re.sub(r"([*?\[\]\\])", r"\\\1", path)
    return "/" + escaped.replace(",", "?")


def _object_path(media: Path, oid: str) -> Path:
    return media / oid[0:2] / oid[2:4] / oid


def _sha256(path: Path) -> str:
    return hash_file(path, "sha256")[0].hex


def _check_object(obj: Path, pointer: LfsPointer, path: str) -> None:
    size = obj.stat().st_size
    if size != pointer.size or _sha256(obj) != pointer.oid:
        raise IntegrityError(
            f"{path}: the Git LFS object {obj} does not match its sha256:{pointer.oid} "
            f"({size} bytes, the pointer says {pointer.size}): it is corrupt",
            hint="`git lfs fsck` confirms it; move that file away, run `git lfs fetch`, then "
            "import again (gitmv changed nothing)",
        )


def _locate(
    repo: Repo, pointers: dict[str, LfsPointer], media: Path, skipped: list[Skipped]
) -> tuple[list[_Item], list[str]]:
    """Where each file's verified bytes are: the work tree or the LFS store; and the files
    to fetch. A work-tree file that is neither the bytes nor the pointer is the user's edit:
    left alone (skipped), never overwritten."""
    items, to_fetch = [], []
    for path, pointer in pointers.items():
        work = repo.abspath(path)
        try:
            st = os.lstat(work)
        except FileNotFoundError:
            skipped.append(
                Skipped(
                    path,
                    "deleted from the work tree (restore it with `git "
                    "checkout -- PATH`, or commit the deletion)",
                )
            )
            continue
        if not os.path.isfile(work) or os.path.islink(work):
            skipped.append(Skipped(path, "not a regular file in the work tree"))
            continue
        if st.st_size == pointer.size and _sha256(work) == pointer.oid:
            items.append(_Item(path, pointer, WORK_TREE))
            continue
        holds_pointer = False
        if st.st_size < POINTER_MAX:
            try:
                found = parse_pointer(work.read_bytes(), path)
            except PointerError:
                found = None
            holds_pointer = found is not None and found.oid == pointer.oid
        if not holds_pointer:
            skipped.append(
                Skipped(
                    path,
                    "modified in the work tree since it was committed: "
                    "commit it (or restore it), then import again",
                )
            )
            continue
        obj = _object_path(media, pointer.oid)
        if obj.is_file():
            _check_object(obj, pointer, path)
            items.append(_Item(path, pointer, STORE))
        else:
            to_fetch.append(path)
    return items, to_fetch


def _settle(
    files: list[lfsattrs.AttrFile],
    items: list[_Item],
    lfs_paths: list[str],
    skipped: list[Skipped],
) -> tuple[list[_Item], frozenset[tuple[str, int]]]:
    """The LFS lines to drop (every LFS file they match is converted), and the items whose
    new git files (pointer, `.gitignore`) no kept LFS line would swallow."""
    lines = [line for f in files if f.committed for line in f.lines if line.is_lfs]
    while True:
        converting = {i.path for i in items}
        dropped = frozenset(
            (line.file, line.number)
            for line in lines
            if all(p in converting for p in lfs_paths if line.matches(p))
        )
        swallowed = {}
        for item in items:
            folder = item.path.rpartition("/")[0]
            for new in (item.path + ".gmv", f"{folder}/.gitignore" if folder else ".gitignore"):
                if lfsattrs.resolve_filter(files, new, dropped) == "lfs":
                    swallowed[item.path] = new
                    break
        if not swallowed:
            return items, dropped
        for path, new in swallowed.items():
            skipped.append(
                Skipped(
                    path,
                    f"{new} would be stored by Git LFS: a pattern that "
                    "matches it stays for files not imported",
                )
            )
        items = [i for i in items if i.path not in swallowed]


def _notes(
    repo: Repo,
    files: list[lfsattrs.AttrFile],
    dropped: frozenset[tuple[str, int]],
    items: list[_Item],
) -> tuple[str, ...]:
    notes = []
    endpoint = _lfs_server(repo.root)
    if endpoint:
        notes.append(
            f"the Git LFS server {endpoint} is not a gitmv remote: gitmv keeps its objects "
            "in a folder or bucket; add one with `gitmv remote add NAME URL --default`, "
            "then `gitmv push`"
        )
    kept = sorted(
        {
            f"{line.pattern} ({line.file})"
            for f in files
            for line in f.lines
            if line.is_lfs and (line.file, line.number) not in dropped
        }
    )
    if kept and items:
        notes.append("Git LFS patterns kept (they match files not imported): " + ", ".join(kept))
    if items and not (repo.root / PROJECT_FILE).is_file():
        notes.append("gitmv was not set up here: the import sets it up as `gitmv init` does")
    if items:
        notes.append(
            "history is not rewritten: older commits keep their LFS pointers, which Git LFS "
            "still checks out from its store or server"
        )
    return tuple(notes)


def _write(
    repo: Repo,
    items: list[_Item],
    media: Path,
    files: list[lfsattrs.AttrFile],
    dropped: frozenset[tuple[str, int]],
) -> None:
    from gitmv.workspace.tree import add as add_paths

    repo = ensure_initialised(repo)
    for item in items:  # the work tree holds the LFS pointer text: put the real bytes there
        if item.source != WORK_TREE:
            _materialize(repo.abspath(item.path), _object_path(media, item.pointer.oid))
    changed = [
        f
        for f in files
        if f.committed
        and any(line.file == f.path for line in f.lines if (line.file, line.number) in dropped)
    ]
    # read again: `ensure_initialised` may have added its union line (the lines planned on
    # are all still there, in their places: it only appends)
    before = {f.path: (repo.root / f.path).read_text("utf-8", "surrogateescape") for f in changed}
    for attr_file in changed:  # before `add` stages the pointers: `data/**` would swallow them
        current = dataclasses.replace(attr_file, text=before[attr_file.path])
        _write_text(repo.root / attr_file.path, lfsattrs.rewrite(current, dropped))
    try:
        add_paths(repo, [str(repo.root / i.path) for i in items])
    except BaseException:
        for path, text in before.items():  # the LFS files are still in the index: keep them LFS
            _write_text(repo.root / path, text)
        raise
    git.stage(repo.root, [f.path for f in changed])


def _write_text(path: Path, text: str) -> None:
    mode = os.stat(path).st_mode & 0o777
    write_bytes(path, text.encode("utf-8", errors="surrogateescape"), mode)


def _materialize(work: Path, obj: Path) -> None:
    mode = os.stat(work).st_mode & 0o777
    with open(obj, "rb") as src, atomic_writer(work, mode) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def ensure_initialised(repo: Repo) -> Repo:
    """Set gitmv up as `gitmv init` does (config and `.gitignore merge=union`, staged) when
    `.gitmv/config.yaml` is missing; the CLI installs the hooks after. Returns the repository
    opened with its config."""
    from gitmv.repo import context, gitattributes

    if (repo.root / PROJECT_FILE).is_file():
        return repo
    fresh, _ = context.init(repo.cwd)
    with fresh.lock():
        if gitattributes.ensure_union_merge(fresh.root):
            git.stage(fresh.root, [gitattributes.FILE])
    return fresh
