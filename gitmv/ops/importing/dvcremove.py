"""`gitmv import dvc --remove-old`: take DVC's own records of the imported outputs away.

It removes (and stages the removal of) each `.dvc` file whose every output is now a gitmv
artifact, the imported outs' entries in `dvc.yaml` and `dvc.lock` (the stage itself stays:
its command and deps are the user's pipeline), and, once no `.dvc` or `dvc.yaml` file is
left, DVC's own files in `.dvc/`. Never DVC's cache (`.dvc/cache`) nor a DVC remote: those
are the user's to delete. The `.gitignore` lines DVC wrote for an imported output are the
lines gitmv needs for it, so they stay.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmv.base import git, yamlio
from gitmv.base.atomic import write_bytes
from gitmv.ops.importing.dvcfiles import Out
from gitmv.store import pointer

_DVC_OWN = (".dvc/.gitignore", ".dvc/config", ".dvc/config.local", ".dvcignore")


@dataclass(frozen=True)
class Removal:
    files: tuple[str, ...]  # root-relative files to delete
    stage_outs: tuple[Out, ...]  # entries to drop from dvc.yaml and dvc.lock
    dvc_dir: bool  # nothing of DVC is left: DVC's transient `.dvc/tmp` goes too

    def shown(self) -> list[str]:
        outs = [f"{o.path} (an out of stage {o.stage} in {o.source})" for o in self.stage_outs]
        return [*self.files, *outs] + ([".dvc/tmp"] if self.dvc_dir else [])


def plan(root: Path, dvc_files: list[str], outs: list[Out], converted: set[str]) -> Removal:
    done = {o.path for o in outs if o.path in converted or _has_pointer(root, o.path)}
    by_file: dict[str, list[Out]] = {}
    for out in outs:
        by_file.setdefault(out.source, []).append(out)
    files = [
        f
        for f in dvc_files
        if f.endswith(".dvc") and by_file.get(f) and all(o.path in done for o in by_file[f])
    ]
    stage_outs = tuple(o for o in outs if o.stage is not None and o.path in done)
    left = [f for f in dvc_files if f not in files]
    nothing_left = not left
    if nothing_left:
        files += [f for f in _DVC_OWN if (root / f).is_file()]
    return Removal(tuple(files), stage_outs, nothing_left and (root / ".dvc" / "tmp").is_dir())


def _has_pointer(root: Path, rel: str) -> bool:
    return (root / (rel + pointer.SUFFIX)).is_file()


def apply(root: Path, removal: Removal) -> None:
    """Callers hold the repository lock."""
    by_lock: dict[str, set[str]] = {}
    for out in removal.stage_outs:
        by_lock.setdefault(out.source, set()).add(out.path)
    for lock, paths in by_lock.items():
        folder = posixpath.dirname(lock)
        dvc_yaml = posixpath.join(folder, "dvc.yaml") if folder else "dvc.yaml"
        wdirs = _wdirs(root, dvc_yaml, folder)
        changed = [f for f in (lock, dvc_yaml) if _drop_outs(root, f, wdirs, folder, paths)]
        git.stage(root, [f for f in changed if git.tracked_files(root, [f])])
    git.untrack(root, list(removal.files))
    for rel in removal.files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(root / rel)
    if removal.dvc_dir:
        shutil.rmtree(root / ".dvc" / "tmp", ignore_errors=True)
    with contextlib.suppress(OSError):  # empty unless DVC's cache is there: it stays
        os.rmdir(root / ".dvc")


def _stages(root: Path, rel: str) -> tuple[Any, dict[Any, Any]]:
    path = root / rel
    if not path.is_file():
        return None, {}
    doc = yamlio.loads(path.read_text(encoding="utf-8"), rel)
    stages = doc.get("stages") if isinstance(doc, dict) else None
    return doc, stages if isinstance(stages, dict) else {}


def _wdirs(root: Path, dvc_yaml: str, folder: str) -> dict[str, str]:
    """Each stage's folder (dvc.yaml `wdir`): its paths, in dvc.lock too, are relative to it."""
    _, stages = _stages(root, dvc_yaml)
    found = {}
    for name, body in stages.items():
        wdir = body.get("wdir") if isinstance(body, dict) else None
        if isinstance(wdir, str) and wdir not in ("", "."):
            found[str(name)] = posixpath.normpath(posixpath.join(folder, wdir))
    return found


def _drop_outs(root: Path, rel: str, wdirs: dict[str, str], folder: str, paths: set[str]) -> bool:
    """Remove the outs named `paths` from a dvc.yaml or dvc.lock, comments kept."""
    doc, stages = _stages(root, rel)
    changed = False
    for name, stage_body in stages.items():
        body = stage_body
        if not isinstance(body, dict):
            continue
        base = wdirs.get(str(name).split("@")[0], folder)
        for kind in ("outs", "metrics", "plots"):
            items = body.get(kind)
            if not isinstance(items, list):
                continue
            kept = [i for i in items if _out_path(i, base) not in paths]
            if len(kept) != len(items):
                changed = True
                if kept:
                    items[:] = kept
                else:
                    del body[kind]
    if changed:
        path = root / rel
        mode = os.stat(path).st_mode & 0o777
        write_bytes(path, yamlio.dumps(doc).encode("utf-8"), mode)
    return changed


def _out_path(item: Any, folder: str) -> str | None:
    if isinstance(item, str):
        raw: Any = item
    elif isinstance(item, dict) and "path" in item:
        raw = item["path"]  # dvc.lock
    elif isinstance(item, dict) and len(item) == 1:
        raw = next(iter(item))  # dvc.yaml's `{path: {options}}`
    else:
        return None
    return posixpath.normpath(posixpath.join(folder, str(raw)))
