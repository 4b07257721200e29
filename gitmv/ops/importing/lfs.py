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
import shutil
from dataclasses import dataclass
from pathlib import Path

from gitmv.base import git, gitforeign
from gitmv.base.atomic import atomic_writer, write_bytes
from gitmv.base.config import PROJECT_FILE
from gitmv.base.errors import GitmvError, PointerError
from gitmv.ops.add import add as add_paths
from gitmv.ops.importing import Converted, ImportReport, Skipped, lfsattrs, lfsstore
from gitmv.ops.init import ensure_initialised
from gitmv.repo.context import Repo
from gitmv.repo.pointers import tracked

TOOL = "lfs"
WORK_TREE = "work tree"
STORE = "Git LFS store"
FETCH = "Git LFS server (git lfs fetch)"


@dataclass(frozen=True)
class _Item:
    path: str
    pointer: lfsstore.LfsPointer
    source: str  # WORK_TREE, STORE or FETCH


def run(repo: Repo, paths: list[str], *, dry_run: bool = False) -> ImportReport:
    root = repo.root
    skipped: list[Skipped] = []
    lfs_paths, pointers = _read_pointers(repo, paths, skipped)
    media = lfsstore.media_dir(repo.paths.common_dir, root)
    items, to_fetch = _locate(repo, pointers, media, skipped)
    if to_fetch:
        items += _fetch(repo, {p: pointers[p] for p in to_fetch}, media, skipped, dry_run)
    files = lfsattrs.read(
        root, gitforeign.attribute_files(root), repo.paths.git_dir / "info/attributes"
    )
    items, dropped = _settle(files, items, lfs_paths, skipped)
    items.sort(key=lambda i: i.path)
    report = ImportReport(
        TOOL,
        converted=tuple(Converted(i.path, i.source, i.pointer.size) for i in items),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
        removed=tuple(
            f"{line.pattern} (from {line.file})"
            for f in files
            for line in f.lines
            if (line.file, line.number) in dropped
        ),
        notes=_notes(repo, files, dropped, items, dry_run),
        dry_run=dry_run,
    )
    if items and not dry_run:
        _write(repo, items, media, files, dropped)
    return report


def _read_pointers(
    repo: Repo, paths: list[str], skipped: list[Skipped]
) -> tuple[list[str], dict[str, lfsstore.LfsPointer]]:
    """Every LFS file of the index (for the patterns), and the pointers of those under
    `paths`: all parsed before any byte is read, so a malformed one stops everything."""
    root = repo.root
    scope = [repo.relpath(p, allow_root=True) for p in paths]
    entries = [e for e in gitforeign.index_entries(root) if e[0] not in ("120000", "160000")]
    for user_path, rel in zip(paths, scope, strict=True):
        if rel and not (root / rel).exists() and not any(_under(e[3], [rel]) for e in entries):
            raise GitmvError(f"{user_path}: no such file or folder")
    filters = gitforeign.attribute_values(root, "filter", sorted({e[3] for e in entries}))
    lfs_entries = [e for e in entries if filters.get(e[3]) == "lfs"]
    chosen = [e for e in lfs_entries if not scope or _under(e[3], scope)]
    blobs = git.read_blobs(root, [e[1] for e in chosen if e[2] == 0], lfsstore.POINTER_MAX - 1)
    pointers: dict[str, lfsstore.LfsPointer] = {}
    artifacts = tracked(repo)
    for _mode, sha, stage, path in chosen:
        if stage != 0:
            skipped.append(Skipped(path, "unmerged: finish the merge, then import again"))
            continue
        blob = blobs.get(sha)
        parsed = lfsstore.parse_pointer(blob, path) if blob is not None else None
        if parsed is None:
            skipped.append(Skipped(path, "committed to git as ordinary bytes, not via Git LFS"))
        elif parsed.extensions:
            skipped.append(Skipped(path, "stored through a Git LFS extension gitmv cannot undo"))
        elif why := _not_addable(path, artifacts):
            skipped.append(Skipped(path, why))
        else:
            pointers[path] = parsed
    return [e[3] for e in lfs_entries], pointers


def _not_addable(path: str, artifacts: list[str]) -> str | None:
    """Why `gitmv add` would refuse this file (asked now: the write phase must not fail)."""
    if path.endswith(".gmv"):
        return "named like a gitmv pointer file (*.gmv): rename it, then import again"
    for artifact in artifacts:
        if path.startswith(artifact + "/"):
            return f"lies inside the gitmv folder artifact {artifact}"
    return None


def _fetch(
    repo: Repo,
    wanted: dict[str, lfsstore.LfsPointer],
    media: Path,
    skipped: list[Skipped],
    dry_run: bool,
) -> list[_Item]:
    """`git lfs fetch` of just these files (into LFS's own store), each object checked."""
    nowhere = "bytes in neither the work tree nor the LFS store, and"
    if not gitforeign.lfs_available(repo.root):
        skipped.extend(
            Skipped(p, f"{nowhere} Git LFS is not installed to fetch them") for p in wanted
        )
        return []
    if dry_run:
        return [_Item(p, pointer, FETCH) for p, pointer in wanted.items()]
    reason = gitforeign.lfs_fetch(repo.root, [lfsstore.fetch_include(p) for p in wanted])
    items = []
    for path, pointer in wanted.items():
        obj = lfsstore.object_path(media, pointer.oid)
        if obj.is_file():
            lfsstore.check_object(obj, pointer, path)
            items.append(_Item(path, pointer, FETCH))
        elif reason:
            skipped.append(Skipped(path, f"{nowhere} `git lfs fetch` failed: {reason}"))
        else:
            skipped.append(Skipped(path, f"{nowhere} `git lfs fetch` did not bring it"))
    return items


def _under(path: str, scope: list[str]) -> bool:
    return any(not rel or path == rel or path.startswith(rel + "/") for rel in scope)


def _locate(
    repo: Repo, pointers: dict[str, lfsstore.LfsPointer], media: Path, skipped: list[Skipped]
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
        if st.st_size == pointer.size and lfsstore.sha256(work) == pointer.oid:
            items.append(_Item(path, pointer, WORK_TREE))
            continue
        holds_pointer = False
        if st.st_size < lfsstore.POINTER_MAX:
            try:
                found = lfsstore.parse_pointer(work.read_bytes(), path)
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
        obj = lfsstore.object_path(media, pointer.oid)
        if obj.is_file():
            lfsstore.check_object(obj, pointer, path)
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
            if _all_converted([p for p in lfs_paths if line.matches(p)], converting)
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


def _all_converted(matched: list[str], converting: set[str]) -> bool:
    """A pattern goes when it matched files and all of them are converted; one that matches
    no file of the index is the user's to keep or remove (`git lfs untrack`)."""
    return bool(matched) and all(p in converting for p in matched)


def _notes(
    repo: Repo,
    files: list[lfsattrs.AttrFile],
    dropped: frozenset[tuple[str, int]],
    items: list[_Item],
    dry_run: bool,
) -> tuple[str, ...]:
    notes = []
    endpoint = lfsstore.server_url(repo.root)
    default = repo.config.get("core.remote")
    if endpoint and default:
        notes.append(
            f"the Git LFS server {endpoint} is not a gitmv remote: gitmv pushes to its own "
            f"default remote {default!r} (`gitmv push`, or the pre-push hook)"
        )
    elif endpoint:
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
    if kept:
        notes.append(
            "Git LFS patterns kept (they match files not imported, or no file in the index): "
            + ", ".join(kept)
        )
    if items and not (repo.root / PROJECT_FILE).is_file():
        notes.append(
            f"{'would set' if dry_run else 'set'} gitmv up here as `gitmv init` does "
            "(.gitmv/config.yaml and `.gitignore merge=union`, staged; git hooks installed)"
        )
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
    repo = ensure_initialised(repo)
    for item in items:  # the work tree holds the LFS pointer text: put the real bytes there
        if item.source != WORK_TREE:
            _materialize(repo.abspath(item.path), lfsstore.object_path(media, item.pointer.oid))
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
